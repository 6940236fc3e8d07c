// The remediation guardrails on the real adapters (kube-apiserver, dynalite, moto SNS), with settings
// the handler test cannot vary per case: dry-run and disabled actions, the hourly limit, concurrent
// duplicate deliveries, a ConfigMap changed by someone else between plan and write, and a Deployment changed between a
// restart's read and its patch.
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbRemediationStore } from '../../../lambdas/adapters/dynamodb-remediation.js';
import { endpointFromFile } from '../../../services/kube-config.js';
import { KubernetesMoeWorkloads } from '../../../lambdas/adapters/kubernetes-moe-workloads.js';
import { SnsAnnouncer } from '../../../lambdas/adapters/sns-announcer.js';
import { ConflictError } from '../../../lambdas/core/moe/ports.js';
import { parseRemediationEvent } from '../../../lambdas/core/remediation/alerts.js';
import {
  ClaimHeldError,
  type RemediationConfig,
  type RemediationPorts,
} from '../../../lambdas/core/remediation/ports.js';
import { remediate } from '../../../lambdas/core/remediation/remediate.js';
import { harnessEnv } from '../../../services/service.js';
import { RecordingLog } from '../../support/fake-cluster.js';
import { kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { Gi } from '../../support/builders.js';
import {
  alertmanagerMessage,
  snsEvent,
  type AlertSpec,
  TRUSTED_ALARMS,
} from '../../support/alert-payloads.js';
import { applyMoeExamples, configMapData, deploymentJson, OnCallTopic } from '../../support/moe.js';
import { identityOf } from '../../support/kubernetes-identity.js';

const minute = 60_000;
const fixture = new IntegrationFixture('moe-guardrails');
const { namespace, client } = fixture;
const sns = new SNSClient({ endpoint: harnessEnv('IBCP_MOTO_ENDPOINT'), region: 'us-east-1' });
let topic: OnCallTopic;
let ports: RemediationPorts;
let cluster: KubernetesMoeWorkloads;

const settings: RemediationConfig = {
  modes: {
    GPUMemoryUsageHigh: 'enabled',
    InferenceLatencyHigh: 'disabled',
    ExpertLoadImbalance: 'dry-run',
    MoETrainingLossHigh: 'enabled',
  },
  maxActionsPerHour: 2,
  maxActionsPerHourTotal: 10,
  batchSizeFloor: 1,
  loadBalanceLossCoefMax: 0.1,
  latencyScaleBackMs: 30 * minute,
  restartOnTrainingLossHigh: false,
  runbookBaseUrl: 'https://example.com/runbooks/',
};

const ago = (ms: number) => new Date(Date.now() - ms);
const trainer = { namespace, deployment: 'moe-trainer' };
const run = (config: RemediationConfig, ...alerts: AlertSpec[]) =>
  remediate(ports, config, parseRemediationEvent(snsEvent(alertmanagerMessage(alerts)), TRUSTED_ALARMS));

beforeAll(async () => {
  const { ledger, table } = await fixture.setUp();
  await applyMoeExamples(namespace);
  await ledger.definePool({
    name: 'gpu-a100',
    totalBytes: 640 * Gi,
    bytesPerNode: 640 * Gi,
    nodeGroup: 'ng',
  });
  topic = await OnCallTopic.create(uniqueName('guardrails'));
  // As the group of the remediation Lambda (deploy/rbac/), never as cluster admin.
  cluster = new KubernetesMoeWorkloads(endpointFromFile((await identityOf('remediation')).kubeconfig), {
    namespaces: [namespace],
  });
  const store = new DynamoDbRemediationStore(client, table);
  ports = {
    cluster,
    ledger,
    claims: store,
    actions: store,
    announcer: new SnsAnnouncer(sns, topic.topicArn),
    log: new RecordingLog(),
    clock: Date.now,
  };
}, 120_000);

afterAll(async () => {
  topic?.destroy();
  sns.destroy();
  await fixture.tearDown();
});

it('a dry-run action announces what it would do and changes nothing', async () => {
  const report = await run(settings, {
    name: 'ExpertLoadImbalance',
    labels: trainer,
    startsAt: ago(20 * minute),
  });
  expect(report.results.map((r) => r.outcome)).toEqual(['dry-run']);
  expect((await configMapData(namespace, 'training-config')).load_balance_loss_coef).toBe('0.01');
  expect((await configMapData(namespace, 'router-config')).expert_capacity_factor).toBe('1.25');
  const [announcement] = await topic.received();
  expect(announcement?.subject).toBe(
    `[MoE remediation] ExpertLoadImbalance dry-run: ${namespace}/moe-trainer`,
  );
  expect(announcement?.message).toContain(
    'Dry run, nothing changed. Would: Set training-config: load_balance_loss_coef 0.01 -> 0.02',
  );
  expect(announcement?.message).toContain('Runbook: https://example.com/runbooks/ExpertLoadImbalance.md');
});

it('a disabled action does nothing at all', async () => {
  const report = await run(settings, {
    name: 'InferenceLatencyHigh',
    labels: { namespace, deployment: 'moe-inference' },
    startsAt: ago(5 * minute),
  });
  expect(report.results.map((r) => r.outcome)).toEqual(['disabled']);
  expect(
    JSON.parse(await kubectlOk(['get', 'deployment/moe-inference', '-n', namespace, '-o', 'json'])).spec
      .replicas,
  ).toBe(1);
  expect(await topic.received(0)).toEqual([]);
});

it('concurrent deliveries of one episode act once', async () => {
  const alert = { name: 'GPUMemoryUsageHigh', labels: trainer, startsAt: ago(10 * minute) };
  const settled = await Promise.allSettled([
    run(settings, alert),
    run(settings, alert),
    run(settings, alert),
  ]);
  // A delivery that finds the claim in progress fails, so Lambda retries it: then it is a duplicate.
  const outcomes: string[] = [];
  for (const attempt of settled) {
    if (attempt.status === 'fulfilled') outcomes.push(...attempt.value.results.map((x) => x.outcome));
    else {
      expect(attempt.reason).toBeInstanceOf(ClaimHeldError);
      outcomes.push(...(await run(settings, alert)).results.map((x) => x.outcome));
    }
  }
  expect(outcomes.sort()).toEqual(['applied', 'duplicate', 'duplicate']);
  expect((await configMapData(namespace, 'training-config')).batch_size).toBe('16');
  expect((await topic.received()).length).toBe(1);
});

it('stops at the hourly limit per workload and tells on-call what it did not do', async () => {
  await run(settings, { name: 'GPUMemoryUsageHigh', labels: trainer, startsAt: ago(9 * minute) }); // 2 of 2
  expect((await configMapData(namespace, 'training-config')).batch_size).toBe('8');
  await topic.received();
  const limited = { name: 'GPUMemoryUsageHigh', labels: trainer, startsAt: ago(8 * minute) };
  const report = await run(settings, limited);
  expect(report.results.map((r) => r.outcome)).toEqual(['rate-limited']);
  expect((await configMapData(namespace, 'training-config')).batch_size).toBe('8');
  const [announcement] = await topic.received();
  expect(announcement?.message).toContain(
    `Not acting: ${namespace}/moe-trainer already had 2 automatic action(s) in the last hour.`,
  );
  // The limited delivery, delivered again, is not announced twice.
  const again = await run(settings, limited);
  expect(again.results.map((r) => r.outcome)).toEqual(['duplicate']);
  // Notifications are never held back by the limit.
  const loss = await run(settings, { name: 'MoETrainingLossHigh', labels: trainer, startsAt: ago(minute) });
  expect(loss.results.map((r) => r.outcome)).toEqual(['notified']);
  await topic.received();
});

it('a ConfigMap changed between plan and write is not overwritten, and the redelivery can act', async () => {
  const relaxed = { ...settings, maxActionsPerHour: 100 };
  const racing: RemediationPorts = {
    ...ports,
    cluster: Object.assign(Object.create(cluster) as KubernetesMoeWorkloads, {
      // Someone edits the ConfigMap right after the automation read it.
      readConfigMap: async (ns: string, name: string) => {
        const state = await cluster.readConfigMap(ns, name);
        await kubectlOk([
          'patch',
          'configmap',
          name,
          '-n',
          ns,
          '--type',
          'merge',
          '-p',
          '{"data":{"owner":"human"}}',
        ]);
        return state;
      },
    }),
  };
  const alert = { name: 'GPUMemoryUsageHigh', labels: trainer, startsAt: ago(7 * minute) };
  await expect(
    remediate(racing, relaxed, parseRemediationEvent(snsEvent(alertmanagerMessage([alert])), TRUSTED_ALARMS)),
  ).rejects.toThrow(ConflictError);
  expect(await configMapData(namespace, 'training-config')).toMatchObject({
    batch_size: '8',
    owner: 'human',
  });
  expect(await topic.received(0)).toEqual([]);
  const retried = await run(relaxed, alert);
  expect(retried.results.map((r) => r.outcome)).toEqual(['applied']);
  expect((await configMapData(namespace, 'training-config')).batch_size).toBe('4');
});

it('restarts on the Deployment as it is after another write lands between the restart’s read and its patch', async () => {
  const endpoint = endpointFromFile((await identityOf('remediation')).kubeconfig);
  let requests = 0;
  // The restart sends a GET then a PATCH; before the first PATCH goes out, someone annotates the Deployment.
  const racing = new KubernetesMoeWorkloads(
    {
      server: endpoint.server,
      credentials: async () => {
        if (++requests === 2) {
          await kubectlOk(['annotate', 'deployment', 'moe-trainer', '-n', namespace, 'edited-by=human']);
        }
        return endpoint.credentials();
      },
    },
    { namespaces: [namespace] },
  );
  const at = Date.parse('2026-12-02T09:00:00Z');
  await racing.restart({ namespace, name: 'moe-trainer' }, at, {
    CHECKPOINT_PATH: '/storage/checkpoints/step-9',
  });
  // GET, PATCH refused (409), then GET and PATCH again: once more when the deployment controller's status
  // update for the annotation lands in between too.
  expect(racing.apiCalls).toBeGreaterThanOrEqual(4);
  const deployment = await deploymentJson(namespace, 'moe-trainer');
  expect(deployment.metadata.annotations).toMatchObject({ 'edited-by': 'human' });
  expect(deployment.spec.template.metadata.annotations).toMatchObject({
    'kubectl.kubernetes.io/restartedAt': '2026-12-02T09:00:00.000Z',
  });
  expect(deployment.spec.template.spec.containers.flatMap((c) => c.env ?? [])).toContainEqual({
    name: 'CHECKPOINT_PATH',
    value: '/storage/checkpoints/step-9',
  });
});
