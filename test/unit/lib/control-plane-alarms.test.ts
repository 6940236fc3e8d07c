import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchEmf } from '../../../lambdas/adapters/cloudwatch-emf.js';
import { jsonLinesPrinted } from '../../support/captured-output.js';
import { repoRoot } from '../../../services/kubectl.js';
import { synthStack } from './stack-fixture.js';

type AlarmProps = {
  AlarmName: string;
  AlarmDescription: string;
  AlarmActions: unknown[];
  OKActions: unknown[];
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: string }[];
  Metrics?: {
    Id: string;
    MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } };
  }[];
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  Period?: number;
  TreatMissingData: string;
};

describe('ControlPlaneAlarms', () => {
  const { stack, template } = synthStack({ runbookBaseUrl: 'https://runbooks.example.com/ibcp/' });
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (alarm) => alarm.Properties as AlarmProps,
  );
  const named = (suffix: string): AlarmProps => {
    const alarm = alarms.find((a) => JSON.stringify(a.AlarmName).includes(suffix));
    if (!alarm) throw new Error(`no alarm named …${suffix}`);
    return alarm;
  };
  const topicId = stack.getLogicalId(
    stack.onCall.topic.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );

  it('raises each alarm the issue lists, per pool and per function where it applies', () => {
    const kinds = stack.alarms.alarms.map(({ kind }) => kind);
    expect(kinds.filter((k) => k === 'BudgetAllocationExceedsTotal')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'PoolUtilizationHigh')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'LambdaErrors')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'LambdaThrottles')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'ApiServerErrors')).toHaveLength(2);
    for (const kind of [
      'ReconcileStale',
      'ReconcileFailuresQueued',
      'LedgerThrottled',
      'WebhookClientErrors',
    ] as const) {
      expect(kinds.filter((k) => k === kind)).toHaveLength(1);
    }
    expect(alarms).toHaveLength(kinds.length);
  });

  it('pages on-call on ALARM and on OK, and links a runbook page that exists', () => {
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
    for (const { kind } of stack.alarms.alarms) {
      expect(existsSync(join(repoRoot, 'docs', 'runbooks', `${kind}.md`))).toBe(true);
    }
    expect(named('PoolUtilizationHigh-gpu-a100').AlarmDescription).toMatch(
      / Runbook: https:\/\/runbooks\.example\.com\/ibcp\/PoolUtilizationHigh\.md$/,
    );
  });

  it('names the runbook in the repository when no base URL is configured', () => {
    const plain = synthStack().stack.alarms.alarms[0]!.alarm;
    const description = (plain.node.defaultChild as unknown as { alarmDescription: string }).alarmDescription;
    expect(description).toMatch(/Runbook: docs\/runbooks\/\w+\.md in the control plane's repository$/);
  });

  it('watches pool utilisation above 90% for five minutes, on the dimensions the EMF adapter writes', async () => {
    const utilisation = named('PoolUtilizationHigh-gpu-a100');
    expect(utilisation).toMatchObject({
      Namespace: 'InferenceBudgetControlPlane',
      MetricName: 'BudgetUtilizationPercent',
      Threshold: 90,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      Period: 60,
    });
    // The Lambdas of cluster gpu-inference (CLUSTER_NAME) publish with its `cluster` dimension.
    const [, budget] = await jsonLinesPrinted(() =>
      new CloudWatchEmf({ cluster: 'gpu-inference' }).reconcilePass({
        durationSeconds: 1,
        errors: 0,
        pools: [
          {
            name: 'gpu-a100',
            nodeGroup: 'n',
            bytesPerNode: 1,
            totalBytes: 2,
            allocatedBytes: 1,
            availableBytes: 1,
            allocations: [],
          },
        ],
      }),
    );
    const emitted = (budget!._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] })
      .CloudWatchMetrics[0]!.Dimensions[0]!;
    expect(Object.fromEntries(utilisation.Dimensions!.map((d) => [d.Name, d.Value]))).toEqual(
      Object.fromEntries(emitted.map((name) => [name, budget![name]])),
    );
  });

  it('fires when allocated exceeds total, by metric math over the pool', () => {
    const overBudget = named('BudgetAllocationExceedsTotal-default');
    expect(overBudget).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    const used = overBudget.Metrics!.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []));
    expect(used.sort()).toEqual(['BudgetAllocatedBytes', 'BudgetTotalBytes']);
  });

  it('treats a missing reconcile metric as stale: no pass is the worst case', () => {
    expect(named('ReconcileStale')).toMatchObject({
      MetricName: 'ReconcileSucceeded',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      Period: 300,
      TreatMissingData: 'breaching',
    });
    // A slower schedule waits for two passes before paging.
    const slow = synthStack({ scheduleMinutes: 10 }).template.findResources('AWS::CloudWatch::Alarm');
    const stale = Object.values(slow).find((a) =>
      JSON.stringify(a.Properties.AlarmName).includes('ReconcileStale'),
    );
    expect(stale!.Properties.Period).toBe(1200);
  });

  it("pages on the webhook's 4xx (wrong paths, throttling), not only its 5xx", () => {
    const clientErrors = named('WebhookClientErrors');
    expect(clientErrors).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '4XXError',
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 300,
    });
    // The webhook's own API name: the warm-up API's 429s are not the webhook's.
    expect(clientErrors.Dimensions).toEqual([{ Name: 'ApiName', Value: 'Test-admission-webhook' }]);
    expect(stack.alarms.alarms.map(({ kind }) => kind)).not.toContain('WebhookRateLimited');
  });

  it("pages when the public webhook's WAF rate rule blocks a flood", () => {
    const publicStack = synthStack({ webhookEndpoint: 'public', vpc: undefined });
    const blocked = Object.values(publicStack.template.findResources('AWS::CloudWatch::Alarm'))
      .map((alarm) => alarm.Properties as AlarmProps)
      .find((alarm) => JSON.stringify(alarm.AlarmName).includes('WebhookRateLimited'));
    expect(blocked).toMatchObject({
      Namespace: 'AWS/WAFV2',
      MetricName: 'BlockedRequests',
      Threshold: 0,
      Dimensions: expect.arrayContaining([
        { Name: 'Rule', Value: 'WebhookRateLimitPerSourceIp' },
        { Name: 'WebACL', Value: expect.stringContaining('-webhook') },
      ]),
    });
  });
});
