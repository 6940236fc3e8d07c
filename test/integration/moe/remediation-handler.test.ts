// The remediation Lambda as AWS runs it: configured as from its environment, invoked with SNS records
// from AMP's alert manager, EventBridge CloudWatch alarm changes and the schedule; acting on examples/moe/
// in the harness's kube-apiserver (KWOK GPU nodes), with the ledger and claims on dynalite and the on-call
// topic on moto's SNS, read back through an SQS subscription.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import type { RemediationReport } from '../../../lambdas/core/remediation/ports.js';
import { createRemediationHandler, handler as entryPoint } from '../../../lambdas/handlers/remediation.js';
import { jsonLinesPrinted } from '../../support/captured-output.js';
import { kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import {
  harnessConfig,
  harnessRemediationSettings,
  lambdaContext,
  useHarnessEnvironment,
} from '../../support/lambda-environment.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { Gi } from '../../support/builders.js';
import {
  alarmEvent,
  alertmanagerMessage,
  snsEvent,
  TRUSTED_ALARMS,
  type AlertSpec,
} from '../../support/alert-payloads.js';
import {
  applyMoeExamples,
  configMapData,
  defineMoePool,
  deploymentJson,
  holdTrainerBudget,
  moeGpuNodes,
  OnCallTopic,
} from '../../support/moe.js';
import type { RuntimeConfig, RemediationSettings } from '../../../lambdas/config.js';

const minute = 60_000;
const fixture = new IntegrationFixture('moe-remediation');
const { namespace, client } = fixture;
const context = lambdaContext('remediation');
let ledger: DynamoDbLedger;
let table: string;
let topic: OnCallTopic;
/** The Lambda's environment, as its function in lib/ sets it. */
let environment: Record<string, string>;
let config: RuntimeConfig;
let settings: RemediationSettings;
const handler = createRemediationHandler(
  () => settings,
  () => config,
);

const invoke = async (event: unknown) => (await handler(event as never, context)) as RemediationReport;
const deliver = (...alerts: AlertSpec[]) => invoke(snsEvent(alertmanagerMessage(alerts)));
const ago = (ms: number) => new Date(Date.now() - ms);
const trainerPod = { namespace, pod: 'moe-trainer-7d9f8b6c5d-x2k4p' };
const inference = { namespace, deployment: 'moe-inference' };

beforeAll(async () => {
  ({ ledger, table } = await fixture.setUp());
  await moeGpuNodes(fixture);
  // The examples hold 320Gi (trainer) + 80Gi (one inference replica); room for one more replica.
  await defineMoePool(ledger);
  await holdTrainerBudget(ledger, namespace);
  await ledger.allocate({
    pool: 'gpu-a100',
    holder: `${namespace}/moe-inference#0`,
    bytes: 80 * Gi,
    now: Date.now(),
  });
  topic = await OnCallTopic.create(uniqueName('on-call'));
  environment = {
    ON_CALL_TOPIC_ARN: topic.topicArn,
    // Every action is a dry run unless enabled; the test alarms are trusted by their account and region.
    REMEDIATION_GPU_MEMORY_USAGE_HIGH: 'enabled',
    REMEDIATION_INFERENCE_LATENCY_HIGH: 'enabled',
    REMEDIATION_EXPERT_LOAD_IMBALANCE: 'enabled',
    REMEDIATION_MOE_TRAINING_LOSS_HIGH: 'enabled',
    REMEDIATION_ALARM_ARN_PREFIX: TRUSTED_ALARMS.alarmArnPrefix,
    REMEDIATION_MAX_ACTIONS_PER_HOUR: '10',
    REMEDIATION_BATCH_SIZE_FLOOR: '8',
    REMEDIATION_LATENCY_SCALE_BACK_AFTER: '10m',
    // The remediation Lambda's own group (deploy/rbac/), as its EKS access entry maps it.
    KUBECONFIG: (await identityOf('remediation')).kubeconfig,
  };
  config = harnessConfig(table, namespace, environment);
  settings = harnessRemediationSettings(environment);
  await applyMoeExamples(namespace);
  // The trainer's side of the contract: it reports each checkpoint it saves.
  await kubectlOk([
    'annotate',
    'deployment/moe-trainer',
    '-n',
    namespace,
    'inference.eh-ops.io/latest-checkpoint=/storage/checkpoints/step-1200',
  ]);
}, 120_000);

afterAll(async () => {
  topic?.destroy();
  await fixture.tearDown();
});

async function auditRecords(workload: string) {
  const documents = DynamoDBDocumentClient.from(client);
  const { Items = [] } = await documents.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :action)',
      ExpressionAttributeValues: { ':pk': `remediation#${namespace}/${workload}`, ':action': 'action#' },
    }),
  );
  return Items;
}

describe('GPUMemoryUsageHigh', () => {
  const started = ago(6 * minute);

  it('halves the batch, keeps the effective batch, turns on checkpointing and restarts from the newest checkpoint', async () => {
    const before = await deploymentJson(namespace, 'moe-trainer');
    // One notification for two GPUs of the same trainer: one action.
    const report = await deliver(
      { name: 'GPUMemoryUsageHigh', labels: { ...trainerPod, gpu: '0' }, startsAt: started },
      { name: 'GPUMemoryUsageHigh', labels: { ...trainerPod, gpu: '1' }, startsAt: ago(5 * minute) },
    );
    expect(report.results).toEqual([
      expect.objectContaining({
        alert: 'GPUMemoryUsageHigh',
        workload: `${namespace}/moe-trainer`,
        outcome: 'applied',
      }),
    ]);
    expect(await configMapData(namespace, 'training-config')).toMatchObject({
      batch_size: '16',
      gradient_accumulation_steps: '8',
      gradient_checkpointing: 'true',
    });
    const after = await deploymentJson(namespace, 'moe-trainer');
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    expect(after.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toEqual(
      expect.any(String),
    );
    expect(after.spec.template.spec.containers[0]?.env).toEqual([
      { name: 'CHECKPOINT_PATH', value: '/storage/checkpoints/step-1200' },
    ]);

    const [announcement, ...more] = await topic.received();
    expect(more).toEqual([]);
    expect(announcement?.subject).toBe(
      `[MoE remediation] GPUMemoryUsageHigh applied: ${namespace}/moe-trainer`,
    );
    expect(announcement?.message).toContain(
      'training-config: batch_size 32 -> 16, gradient_accumulation_steps 4 -> 8, gradient_checkpointing false -> true',
    );
    expect(announcement?.message).toContain(
      `kubectl patch configmap training-config -n ${namespace} --type merge -p '{"data":{"batch_size":"32","gradient_accumulation_steps":"4","gradient_checkpointing":"false"}}'`,
    );
    expect(announcement?.message).toContain(`kubectl rollout undo deployment/moe-trainer -n ${namespace}`);

    expect(await auditRecords('moe-trainer')).toEqual([
      expect.objectContaining({
        action: 'GPUMemoryUsageHigh',
        outcome: 'applied',
        actor: expect.stringContaining('remediation'),
        trigger: `GPUMemoryUsageHigh (alertmanager, started ${started.toISOString()}, episode fp-GPUMemoryUsageHigh-${started.getTime()}@${started.toISOString()})`,
        before: {
          'training-config.batch_size': '32',
          'training-config.gradient_accumulation_steps': '4',
          'training-config.gradient_checkpointing': 'false',
          CHECKPOINT_PATH: null,
        },
        after: {
          'training-config.batch_size': '16',
          'training-config.gradient_accumulation_steps': '8',
          'training-config.gradient_checkpointing': 'true',
          CHECKPOINT_PATH: '/storage/checkpoints/step-1200',
        },
      }),
    ]);
  });

  it('acts once on a duplicate delivery of the same episode', async () => {
    const generation = (await deploymentJson(namespace, 'moe-trainer')).metadata.generation;
    const report = await deliver({ name: 'GPUMemoryUsageHigh', labels: trainerPod, startsAt: started });
    expect(report.results.map((r) => r.outcome)).toEqual(['duplicate']);
    expect((await configMapData(namespace, 'training-config')).batch_size).toBe('16');
    expect((await deploymentJson(namespace, 'moe-trainer')).metadata.generation).toBe(generation);
    expect(await topic.received(0)).toEqual([]);
  });

  it('stops at the batch-size floor and tells a person', async () => {
    await deliver({ name: 'GPUMemoryUsageHigh', labels: trainerPod, startsAt: ago(4 * minute) }); // 16 -> 8
    await topic.received(0);
    const report = await deliver({
      name: 'GPUMemoryUsageHigh',
      labels: trainerPod,
      startsAt: ago(3 * minute),
    });
    expect(report.results.map((r) => r.outcome)).toEqual(['notified']);
    expect(await configMapData(namespace, 'training-config')).toMatchObject({
      batch_size: '8',
      gradient_accumulation_steps: '16',
    });
    const [announcement] = await topic.received();
    expect(announcement?.message).toContain('batch_size is already at its floor (8)');
  });
});

describe('ExpertLoadImbalance', () => {
  it('raises the load-balancing coefficient and the expert capacity factor, each in its ConfigMap', async () => {
    const report = await deliver({
      name: 'ExpertLoadImbalance',
      labels: { namespace, job: 'moe-trainer', layer: '12' },
      startsAt: ago(20 * minute),
    });
    expect(report.results.map((r) => r.outcome)).toEqual(['applied']);
    expect((await configMapData(namespace, 'training-config')).load_balance_loss_coef).toBe('0.02');
    expect((await configMapData(namespace, 'router-config')).expert_capacity_factor).toBe('1.5');
    const [announcement] = await topic.received();
    expect(announcement?.message).toContain('load_balance_loss_coef 0.01 -> 0.02');
    expect(announcement?.message).toContain('expert_capacity_factor 1.25 -> 1.5');
  });
});

describe('InferenceLatencyHigh', () => {
  const highSince = ago(30 * minute);

  it('adds an inference replica that holds its budget', async () => {
    const report = await deliver({ name: 'InferenceLatencyHigh', labels: inference, startsAt: highSince });
    expect(report.results.map((r) => r.outcome)).toEqual(['applied']);
    const deployment = await deploymentJson(namespace, 'moe-inference');
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.metadata.annotations).toMatchObject({ 'inference.eh-ops.io/scale-back-replicas': '1' });
    const pool = await ledger.readPool('gpu-a100');
    expect(pool.allocations.map((a) => a.holder)).toContain(`${namespace}/moe-inference#1`);
    const [announcement] = await topic.received();
    expect(announcement?.message).toContain(
      `kubectl scale deployment/moe-inference -n ${namespace} --replicas=1`,
    );
  });

  it('names who holds the pool when it has no room and no cooldown would make any', async () => {
    const report = await deliver({
      name: 'InferenceLatencyHigh',
      labels: inference,
      startsAt: ago(20 * minute),
    });
    expect(report.results.map((r) => r.outcome)).toEqual(['blocked']);
    expect((await deploymentJson(namespace, 'moe-inference')).spec.replicas).toBe(2);
    const [announcement] = await topic.received();
    expect(announcement?.subject).toBe(
      `[MoE remediation] InferenceLatencyHigh blocked: ${namespace}/moe-inference`,
    );
    // Only workload replicas hold the pool: none is released by a cooldown, so none is "blocking".
    expect(announcement?.message).toContain(
      'needs 80Gi in pool gpu-a100, 0 free; no cooldown would make room, the pool is held by: ',
    );
    expect(announcement?.message).toContain(`${namespace}/moe-trainer#0 (320Gi)`);
  });

  it('scales back once latency has stayed low long enough, and ignores out-of-order deliveries', async () => {
    const lowSince = ago(11 * minute);
    const resolved = await deliver({
      name: 'InferenceLatencyHigh',
      status: 'resolved',
      labels: inference,
      startsAt: highSince,
      endsAt: lowSince,
    });
    expect(resolved.results.map((r) => r.outcome)).toEqual(['noted']);
    // A firing delivery of an episode that had already ended arrives late: nothing happens.
    const late = await deliver({
      name: 'InferenceLatencyHigh',
      labels: inference,
      startsAt: ago(25 * minute),
    });
    expect(late.results.map((r) => r.outcome)).toEqual(['stale']);

    const tick = await invoke({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: new Date().toISOString(),
    });
    expect(tick.results).toEqual([
      expect.objectContaining({ alert: 'InferenceScaleBack', outcome: 'applied' }),
    ]);
    const deployment = await deploymentJson(namespace, 'moe-inference');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.metadata.annotations?.['inference.eh-ops.io/scale-back-replicas']).toBeUndefined();
    const holders = (await ledger.readPool('gpu-a100')).allocations.map((a) => a.holder);
    expect(holders).not.toContain(`${namespace}/moe-inference#1`);
    const announcements = await topic.received();
    expect(announcements.map((a) => a.subject)).toEqual([
      `[MoE remediation] InferenceScaleBack applied: ${namespace}/moe-inference`,
    ]);
    // The next tick finds nothing to do.
    expect(
      (
        await invoke({
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          time: new Date().toISOString(),
        })
      ).results,
    ).toEqual([]);
  });
});

describe('CloudWatch alarms through EventBridge', () => {
  it('MoETrainingLossHigh notifies on-call with the runbook and changes nothing', async () => {
    const generation = (await deploymentJson(namespace, 'moe-trainer')).metadata.generation;
    const report = await invoke(
      alarmEvent({
        alarmName: 'MoETrainingLossHigh-moe-trainer',
        state: 'ALARM',
        at: ago(minute),
        dimensions: { Namespace: namespace, Deployment: 'moe-trainer' },
      }),
    );
    expect(report.results.map((r) => r.outcome)).toEqual(['notified']);
    expect((await deploymentJson(namespace, 'moe-trainer')).metadata.generation).toBe(generation);
    const [announcement] = await topic.received();
    expect(announcement?.message).toContain('Runbook: docs/runbooks/MoETrainingLossHigh.md');
    expect(announcement?.message).toContain('Undo: nothing was changed');
  });
});

describe('alerts the Lambda cannot act on', () => {
  it('an alert for a workload that does not exist changes nothing and says which (the entry point, wired from its environment)', async () => {
    useHarnessEnvironment(table, namespace, environment);
    const training = await configMapData(namespace, 'training-config');
    const logs = await jsonLinesPrinted(async () => {
      const message = alertmanagerMessage([
        {
          name: 'GPUMemoryUsageHigh',
          labels: { namespace, deployment: 'moe-trainer-v2' },
          startsAt: ago(minute),
        },
      ]);
      const report = (await entryPoint(snsEvent(message) as never, context)) as RemediationReport;
      expect(report.results).toEqual([
        expect.objectContaining({
          outcome: 'unknown-workload',
          message: `alert GPUMemoryUsageHigh (namespace=${namespace}, deployment=moe-trainer-v2) matches no declared MoE trainer workload (docs/moe-workloads.md)`,
        }),
      ]);
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'Alert names no declared MoE workload; nothing changed',
      }),
    );
    expect(await configMapData(namespace, 'training-config')).toEqual(training);
    expect(await topic.received(0)).toEqual([]);
  });

  it('skips its own announcements when subscribed to the topic it announces on', async () => {
    await deliver({ name: 'MoETrainingLossHigh', labels: trainerPod, startsAt: ago(30_000) });
    const [announcement] = await topic.received();
    expect(announcement?.envelope.MessageAttributes).toEqual({
      'ibcp-message': { Type: 'String', Value: 'remediation-announcement' },
    });
    const report = await invoke({ Records: [{ EventSource: 'aws:sns', Sns: announcement!.envelope }] });
    expect(report).toEqual({ results: [], rejected: [] });
  });

  it.each([
    [
      'a plain-text alert manager message',
      snsEvent('Alerts Firing:\nLabels:\n - alertname = GPUMemoryUsageHigh'),
      'not JSON',
    ],
    [
      'an alert without a start',
      snsEvent(
        JSON.stringify({ alerts: [{ status: 'firing', labels: { alertname: 'GPUMemoryUsageHigh' } }] }),
      ),
      'alerts[0].startsAt is missing',
    ],
    ['an unknown event', { hello: 'world' }, 'unknown event'],
    [
      'an alarm change without detail',
      { 'detail-type': 'CloudWatch Alarm State Change', source: 'aws.cloudwatch' },
      'has no "detail"',
    ],
  ])('%s is rejected with a clear reason and changes nothing', async (_case, event, reason) => {
    const training = await configMapData(namespace, 'training-config');
    let report: RemediationReport | undefined;
    const logs = await jsonLinesPrinted(async () => (report = await invoke(event)));
    expect(report?.results).toEqual([]);
    expect(report?.rejected).toEqual([expect.stringContaining(reason)]);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'Alert payload rejected' }),
    );
    expect(await configMapData(namespace, 'training-config')).toEqual(training);
    expect(await topic.received(0)).toEqual([]);
  });
});
