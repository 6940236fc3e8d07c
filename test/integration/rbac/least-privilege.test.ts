// Each Kubernetes-calling Lambda signs in as its own group (a client certificate, as an EKS access entry
// maps its role), never as system:masters, with only what deploy/rbac/ binds to that group. A scenario
// drives the handlers through every kind of Kubernetes request their code sends; the apiserver's audit
// log records what each identity sent. A verb the code needs but RBAC lacks shows as a 403 and fails;
// a granted verb that no handler of the role sent fails too, so the grants stay exactly the calls.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { RemediationSettings, RuntimeConfig } from '../../../lambdas/config.js';
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import type { KubernetesRole } from '../../../lib/cluster-access.js';
import { alertmanagerMessage, snsEvent } from '../../support/alert-payloads.js';
import { jsonLinesPrinted } from '../../support/captured-output.js';
import { applyInferenceModel, kubectl, kubectlOk, repoRoot, uniqueName } from '../../../services/kubectl.js';
import {
  auditedRequests,
  identityOf,
  type AuditedRequest,
  type KubernetesIdentity,
} from '../../support/kubernetes-identity.js';
import {
  harnessConfig,
  harnessRemediationSettings,
  lambdaContext,
} from '../../support/lambda-environment.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { createReconcileModelHandler } from '../../../lambdas/handlers/reconcile-model.js';
import { createScheduledReconcileHandler } from '../../../lambdas/handlers/reconcile-scheduled.js';
import { createRemediationHandler } from '../../../lambdas/handlers/remediation.js';
import { createWarmUpApiHandler } from '../../../lambdas/handlers/warmup-api.js';
import {
  applyMoeExamples,
  configMapData,
  defineMoePool,
  holdTrainerBudget,
  OnCallTopic,
} from '../../support/moe.js';
import { createNodeGroup, nodesJoin } from '../../../services/node-groups.js';

const fixture = new IntegrationFixture('least-privilege');
const { namespace } = fixture;
const pool = uniqueName('pool-lp');
const clients = fixture.nodeGroupClients;
const identities = {} as Record<KubernetesRole, KubernetesIdentity>;
let ledger: DynamoDbLedger;
let topic: OnCallTopic;

/** Each role's settings: the handlers sign in with its identity's kubeconfig; set in beforeAll. */
const settings = {} as Record<Exclude<KubernetesRole, 'webhook'>, RuntimeConfig>;
let remediationSettings: RemediationSettings;
const scheduled = createScheduledReconcileHandler(() => settings.reconcile);
const reconcileModel = createReconcileModelHandler(() => settings.reconcile);
const warmUpApi = createWarmUpApiHandler(() => settings.warmUp);
const remediation = createRemediationHandler(
  () => remediationSettings,
  () => settings.remediation,
);

/** The rules deploy/rbac/ (cluster-wide mode) binds to a role's group, as `group/resource[/sub]:verb`. */
function granted(role: KubernetesRole): { grants: Set<string>; names: Map<string, string[]> } {
  const file = { reconcile: 'reconcile', warmUp: 'warm-up', remediation: 'remediation', webhook: 'webhook' }[
    role
  ];
  const grants = new Set<string>();
  const names = new Map<string, string[]>();
  for (const folder of ['cluster', 'nodes']) {
    let text: string;
    try {
      text = readFileSync(join(repoRoot, 'deploy', 'rbac', folder, `${file}.yaml`), 'utf8');
    } catch {
      continue; // the remediation Lambda has no rights on nodes
    }
    const docs = loadAllYaml(text) as { kind: string; rules?: RbacRule[] }[];
    for (const rule of docs.flatMap((doc) => (doc.kind === 'ClusterRole' ? (doc.rules ?? []) : []))) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          for (const verb of rule.verbs) {
            const key = `${group}/${resource}:${verb}`;
            grants.add(key);
            if (rule.resourceNames) names.set(key, rule.resourceNames);
          }
        }
      }
    }
  }
  return { grants, names };
}

interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const keyOf = (request: AuditedRequest) =>
  `${request.apiGroup}/${request.resource}${request.subresource ? `/${request.subresource}` : ''}:${request.verb}`;

async function api(method: string, path: string) {
  const event = { httpMethod: method, path, queryStringParameters: null, body: null, isBase64Encoded: false };
  const response = await warmUpApi(event as unknown as APIGatewayProxyEvent, lambdaContext('warmup-api'));
  return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
}

const pass = () => jsonLinesPrinted(() => scheduled({}, lambdaContext('reconcile-scheduled')));

beforeAll(async () => {
  const fresh = await fixture.setUp();
  ledger = fresh.ledger;
  fixture.deletesNodesOf(pool);
  for (const role of ['reconcile', 'warmUp', 'remediation'] as const)
    identities[role] = await identityOf(role);
  const group = await createNodeGroup(clients, {
    cluster: uniqueName('cluster'),
    nodeGroup: `${pool}-ng`,
    pool,
    min: 0,
    max: 2,
    desired: 2,
  });
  // Two Ready nodes for one model's pod: the scheduled pass marks the one left empty (a node patch).
  await nodesJoin(clients, group);
  topic = await OnCallTopic.create(uniqueName('on-call'));
  const environment = {
    NODE_POOLS: JSON.stringify([
      { name: pool, nodeGroup: group.nodeGroup, gpuMemoryPerNode: '80Gi', minNodes: 0, maxNodes: 2 },
    ]),
    EKS_CLUSTER_NAME: group.cluster,
    ON_CALL_TOPIC_ARN: topic.topicArn,
    REMEDIATION_GPU_MEMORY_USAGE_HIGH: 'enabled',
    REMEDIATION_BATCH_SIZE_FLOOR: '8',
  };
  // Each handler signs in as its role's group only: its settings carry that identity's kubeconfig.
  const as = (role: KubernetesRole) =>
    harnessConfig(fresh.table, namespace, { ...environment, KUBECONFIG: identities[role].kubeconfig });
  for (const role of ['reconcile', 'warmUp', 'remediation'] as const) settings[role] = as(role);
  remediationSettings = harnessRemediationSettings(environment);
}, 120_000);

afterAll(async () => {
  topic?.destroy();
  await fixture.tearDown();
});

describe('every handler as its own group, through every kind of Kubernetes request it sends', () => {
  it('reconcile: a pass creates a model’s Deployment, records status and events, and marks the empty node', async () => {
    await applyInferenceModel({ namespace, name: 'cold' }, { memory: '16Gi', pool, cooldownPeriod: '1s' });
    const lines = await pass();
    expect(lines.filter((l) => l.level === 'ERROR')).toEqual([]);
    await kubectlOk(['get', 'deployment', 'cold', '-n', namespace]);
    const node = JSON.parse(
      await kubectlOk(['get', 'nodes', '-l', `inference-pool=${pool}`, '-o', 'json']),
    ) as { items: { metadata: { annotations?: Record<string, string> } }[] };
    expect(node.items.some((n) => n.metadata.annotations?.['inference.eh-ops.io/empty-since'])).toBe(true);
  });

  it('warm-up: creates the Deployment of a model that has none, and reads models, pools and nodes', async () => {
    await applyInferenceModel({ namespace, name: 'fresh' }, { memory: '16Gi', pool });
    expect((await api('POST', `/v1/models/${namespace}/fresh/warmup`)).status).toBe(202);
    await kubectlOk(['get', 'deployment', 'fresh', '-n', namespace]);
    expect((await api('GET', '/v1/models')).status).toBe(200);
    expect((await api('GET', `/v1/models/${namespace}/fresh`)).status).toBe(200);
    expect((await api('GET', '/v1/pools')).status).toBe(200);
  });

  it('reconcile scales an idle model to zero; warm-up scales it up again', async () => {
    const replicas = () =>
      kubectlOk(['get', 'deployment', 'cold', '-n', namespace, '-o', 'jsonpath={.spec.replicas}']);
    // The idle clock starts once the model is Ready (a pass records it): passes until the 1 s cooldown ran out.
    for (let passes = 0; (await replicas()) !== '0'; passes++) {
      if (passes === 15) throw new Error('cold was not scaled to zero after 15 passes');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await pass();
    }
    expect((await api('POST', `/v1/models/${namespace}/cold/warmup`)).status).toBe(202);
    expect(await replicas()).toBe('1');
  });

  it('reconcile: the per-model Lambda, and a deleted model cleaned up (finalizer and Deployment)', async () => {
    const event = { 'detail-type': 'InferenceModel changed', detail: { namespace, name: 'cold' } };
    await expect(reconcileModel(event as never, lambdaContext('reconcile-model'))).resolves.toEqual({
      reconciled: `${namespace}/cold`,
    });
    await kubectlOk(['delete', 'inferencemodel', 'fresh', '-n', namespace, '--wait=false']);
    await pass();
    expect((await kubectl(['get', 'inferencemodel', 'fresh', '-n', namespace])).stderr).toMatch(/NotFound/);
    expect((await kubectl(['get', 'deployment', 'fresh', '-n', namespace])).stderr).toMatch(/NotFound/);
  });

  it('remediation: edits the training ConfigMap and restarts the trainer', async () => {
    await defineMoePool(ledger, 'ng');
    await holdTrainerBudget(ledger, namespace);
    await applyMoeExamples(namespace);
    const report = await remediation(
      snsEvent(
        alertmanagerMessage([
          {
            name: 'GPUMemoryUsageHigh',
            labels: { namespace, pod: 'moe-trainer-7d9f8b6c5d-x2k4p', gpu: '0' },
            startsAt: new Date(Date.now() - 6 * 60_000),
          },
        ]),
      ),
      lambdaContext('remediation'),
    );
    expect(report.results.map((r) => r.outcome)).toEqual(['applied']);
    expect(await configMapData(namespace, 'training-config')).toMatchObject({ batch_size: '16' });
  });

  it.each(['reconcile', 'warmUp', 'remediation'] as const)(
    '%s: was never refused, and sent every request its group is granted and no other',
    async (role) => {
      const sent = await auditedRequests(identities[role].user);
      expect(sent.filter((r) => r.status === 403).map(keyOf)).toEqual([]);
      const { grants, names } = granted(role);
      expect([...new Set(sent.map(keyOf))].sort()).toEqual([...grants].sort());
      // Rules that name their objects: only those were asked for.
      for (const [key, allowed] of names) {
        const asked = sent.filter((r) => keyOf(r) === key).map((r) => r.name);
        expect(asked.every((name) => name !== undefined && allowed.includes(name))).toBe(true);
      }
    },
  );
});
