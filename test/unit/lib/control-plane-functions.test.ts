import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { parseConfig } from '../../../lib/config.js';
import { ControlPlaneFunctions } from '../../../lib/control-plane-functions.js';
import { LedgerTable } from '../../../lib/ledger-table.js';
import { AMP_WORKSPACE_ARN, BASE_CONTEXT, onBareStack, synthStack } from './stack-fixture.js';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

// The one test file that really bundles the handlers with esbuild (a few seconds each): a bare Stack's
// App bundles its assets.
const {
  construct: fns,
  stack,
  template,
} = onBareStack(
  (stack) =>
    new ControlPlaneFunctions(stack, 'Functions', {
      ledgerTable: new LedgerTable(stack, 'Ledger', { key: new Key(stack, 'DataKey') }).table,
      clusterName: BASE_CONTEXT.clusterName,
      pools: parseConfig(BASE_CONTEXT).clusters[0]!.pools,
      scheduleMinutes: 1,
      eventBus: new EventBus(stack, 'ReconcileBus'),
      webhookSecret: new Secret(stack, 'WebhookSecret'),
      onCallTopic: new Topic(stack, 'OnCall'),
      namespaces: ['inference', 'research'],
      remoteWriteUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      prometheusQueryUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1',
      ampWorkspaceArn: AMP_WORKSPACE_ARN,
    }),
);
const logicalId = (fn: NodejsFunction) =>
  stack.getLogicalId(fn.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
const functions = template.findResources('AWS::Lambda::Function');
const policies = template.findResources('AWS::IAM::Policy');
const [secretId] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));

/** Every statement of the policies attached to a function's role. */
function statementsOf(fn: NodejsFunction): Statement[] {
  const role = (functions[logicalId(fn)]!.Properties.Role as { 'Fn::GetAtt': [string, string] })[
    'Fn::GetAtt'
  ][0];
  return Object.values(policies)
    .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}
const actionsOf = (statement: Statement) => [statement.Action].flat();
function allowed(fn: NodejsFunction, action: string): Statement[] {
  return statementsOf(fn).filter((s) => s.Effect === 'Allow' && actionsOf(s).includes(action));
}

describe('ControlPlaneFunctions', () => {
  it('has five nodejs22.x arm64 functions with active tracing and their own log groups', () => {
    expect(Object.keys(functions)).toHaveLength(5);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
    template.resourceCountIs('AWS::Logs::LogGroup', 5);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('bundles each handler locally as an ES module that can require Node built-ins', () => {
    const outdir = (stack.node.root as App).outdir;
    for (const fn of [
      fns.reconcileScheduled,
      fns.reconcileModel,
      fns.warmUpApi,
      fns.admissionWebhook,
      fns.remediation,
    ]) {
      // The staged asset directory is named after the hash the S3 key carries.
      const key = functions[logicalId(fn)]!.Properties.Code.S3Key as string;
      const file = join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
      expect(existsSync(file)).toBe(true);
      const bundle = readFileSync(file, 'utf8');
      expect(bundle.slice(0, 300)).toContain('createRequire');
      // Every built-in through lib/node-builtins/: an ES module import of one runs its lazy getters.
      const imported = [...bundle.matchAll(/(?:\bfrom|\bimport)\s*["']([^"']+)["']/g)].map((m) => m[1]!);
      expect(imported.filter((specifier) => isBuiltin(specifier))).toEqual([]);
    }
  });

  it('sets timeouts and concurrency per role', () => {
    const props = (fn: NodejsFunction) => functions[logicalId(fn)]!.Properties;
    expect(props(fns.reconcileScheduled)).toMatchObject({ Timeout: 300, ReservedConcurrentExecutions: 1 });
    expect(props(fns.reconcileModel)).toMatchObject({ Timeout: 300 });
    expect(props(fns.reconcileModel).ReservedConcurrentExecutions).toBeUndefined();
    expect(props(fns.warmUpApi)).toMatchObject({ Timeout: 28 });
    expect(props(fns.admissionWebhook)).toMatchObject({ Timeout: 10 });
  });

  it('sends failed asynchronous reconciles to an encrypted, TLS-only queue', () => {
    const [queueId] = Object.keys(template.findResources('AWS::SQS::Queue'));
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    for (const [fn, retries] of [
      [fns.reconcileScheduled, 0],
      [fns.reconcileModel, 2],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(fn) },
        MaximumRetryAttempts: retries,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      });
    }
    // A scheduled pass that waited in the async queue longer than the interval is replaced by the next one.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(fns.reconcileScheduled) },
      MaximumEventAgeInSeconds: 60,
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(fns.remediation) },
      MaximumRetryAttempts: 2,
    });
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 3);
  });

  it('wires the environment each handler reads', () => {
    const env = (fn: NodejsFunction) => functions[logicalId(fn)]!.Properties.Environment.Variables;
    const [tableId] = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    const [busId] = Object.keys(template.findResources('AWS::Events::EventBus'));
    for (const fn of [fns.reconcileScheduled, fns.reconcileModel, fns.warmUpApi]) {
      expect(env(fn)).toMatchObject({
        LEDGER_TABLE: { Ref: tableId },
        EKS_CLUSTER_NAME: 'gpu-inference',
        EVENT_BUS_NAME: { Ref: busId },
        WATCH_NAMESPACE: 'inference,research',
      });
    }
    expect(env(fns.reconcileScheduled)).toMatchObject({
      AMP_REMOTE_WRITE_URL: expect.stringContaining('remote_write'),
      PROMETHEUS_QUERY_URL: expect.stringContaining('aps-workspaces'),
    });
    expect(env(fns.warmUpApi).AMP_REMOTE_WRITE_URL).toBeDefined();
    expect(env(fns.admissionWebhook)).toMatchObject({
      LEDGER_TABLE: { Ref: tableId },
      EVENT_BUS_NAME: { Ref: busId },
      WEBHOOK_SECRET_ARN: { Ref: secretId },
    });
    expect(env(fns.admissionWebhook).EKS_CLUSTER_NAME).toBe('gpu-inference');
    expect(env(fns.admissionWebhook).WATCH_NAMESPACE).toBeUndefined();
    for (const fn of fns.all) {
      expect(JSON.parse(env(fn).NODE_POOLS as string)).toEqual(BASE_CONTEXT.pools);
    }
  });

  it('grants no wildcard action and no wildcard resource on the data, bus, secret, cluster or AMP', () => {
    const scoped = /^(dynamodb|events|secretsmanager|eks|aps|kms):/;
    for (const policy of Object.values(policies)) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        for (const action of actionsOf(statement)) {
          expect(action).not.toBe('*');
          expect(action).not.toMatch(/^[a-z0-9-]+:\*$/);
          if (scoped.test(action)) expect([statement.Resource].flat()).not.toContain('*');
        }
      }
    }
  });

  it('scopes eks:DescribeCluster to the one cluster, for the functions that talk to Kubernetes', () => {
    for (const fn of [fns.reconcileScheduled, fns.reconcileModel, fns.warmUpApi, fns.admissionWebhook]) {
      const [statement] = allowed(fn, 'eks:DescribeCluster');
      expect(statement?.Resource).toEqual({
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':eks:eu-west-1:123456789012:cluster/gpu-inference'],
        ],
      });
    }
  });

  it('lets only the warm-up API and the webhook put events, on the control plane bus', () => {
    const [busId] = Object.keys(template.findResources('AWS::Events::EventBus'));
    for (const fn of [fns.warmUpApi, fns.admissionWebhook]) {
      expect(allowed(fn, 'events:PutEvents').map((s) => s.Resource)).toEqual([
        { 'Fn::GetAtt': [busId, 'Arn'] },
      ]);
    }
    expect(allowed(fns.reconcileScheduled, 'events:PutEvents')).toEqual([]);
    expect(allowed(fns.reconcileModel, 'events:PutEvents')).toEqual([]);
  });

  it('gives the webhook read-only ledger access and the secret; the others read and write the ledger', () => {
    const [tableId] = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    const table = { 'Fn::GetAtt': [tableId, 'Arn'] };
    expect(allowed(fns.admissionWebhook, 'dynamodb:Query')[0]?.Resource).toContainEqual(table);
    expect(allowed(fns.admissionWebhook, 'dynamodb:PutItem')).toEqual([]);
    expect(allowed(fns.admissionWebhook, 'kms:Decrypt').length).toBeGreaterThan(0);
    const [secretStatement] = allowed(fns.admissionWebhook, 'secretsmanager:GetSecretValue');
    expect(secretStatement?.Resource).toEqual({ Ref: secretId });
    for (const fn of [fns.reconcileScheduled, fns.reconcileModel, fns.warmUpApi]) {
      expect(allowed(fn, 'dynamodb:PutItem')[0]?.Resource).toContainEqual(table);
      expect(allowed(fn, 'kms:Encrypt').length).toBeGreaterThan(0);
      expect(allowed(fn, 'secretsmanager:GetSecretValue')).toEqual([]);
    }
  });

  it('grants AMP remote write and query on the workspace only', () => {
    expect(allowed(fns.reconcileScheduled, 'aps:RemoteWrite')[0]?.Resource).toBe(AMP_WORKSPACE_ARN);
    expect(allowed(fns.reconcileScheduled, 'aps:QueryMetrics')[0]?.Resource).toBe(AMP_WORKSPACE_ARN);
    expect(allowed(fns.warmUpApi, 'aps:RemoteWrite')[0]?.Resource).toBe(AMP_WORKSPACE_ARN);
    expect(allowed(fns.warmUpApi, 'aps:QueryMetrics')).toEqual([]);
    expect(allowed(fns.reconcileModel, 'aps:RemoteWrite')).toEqual([]);
  });

  it("lets the Kubernetes-calling functions scale the pools' node groups out, and only the pass scale in", () => {
    const nodeGroupArn = (nodeGroup: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          `:eks:eu-west-1:123456789012:nodegroup/gpu-inference/${nodeGroup}/*`,
        ],
      ],
    });
    for (const fn of fns.nodeScalers) {
      expect(allowed(fn, 'eks:UpdateNodegroupConfig')[0]?.Resource).toEqual(
        BASE_CONTEXT.pools.map((pool) => nodeGroupArn(pool.nodeGroup)),
      );
      expect(allowed(fn, 'autoscaling:DescribeAutoScalingGroups')).toHaveLength(1);
    }
    for (const fn of [fns.admissionWebhook, fns.remediation]) {
      expect(allowed(fn, 'eks:UpdateNodegroupConfig')).toEqual([]);
    }
    const [terminate] = allowed(fns.reconcileScheduled, 'autoscaling:TerminateInstanceInAutoScalingGroup');
    // Only the configured pools' groups: EKS tags each managed node group's Auto Scaling group with its name.
    expect(terminate?.Condition).toEqual({
      StringEquals: {
        'autoscaling:ResourceTag/eks:cluster-name': 'gpu-inference',
        'autoscaling:ResourceTag/eks:nodegroup-name': BASE_CONTEXT.pools.map((pool) => pool.nodeGroup),
      },
    });
    for (const fn of [fns.reconcileModel, fns.warmUpApi, fns.admissionWebhook, fns.remediation]) {
      expect(allowed(fn, 'autoscaling:TerminateInstanceInAutoScalingGroup')).toEqual([]);
    }
  });
});

describe('ControlPlaneFunctions in the control-plane stack', () => {
  it('keeps every log group 30 days: each function’s, and the two APIs’ access logs', () => {
    const { template } = synthStack();
    template.resourceCountIs('AWS::Logs::LogGroup', 7);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});
