// `npm start`: the control plane on this machine (docs/local-mode.md). The ledger on dynalite, kept under
// the data folder; moto for EventBridge; a fresh local Kubernetes (the test harness's kube-apiserver,
// controller-manager, scheduler and KWOK GPU nodes) unless KUBECONFIG names a cluster, or several
// (LOCAL_CLUSTERS, LOCAL_KUBECONFIG_CONTEXTS) sharing the one ledger; and the same Lambda handlers, one set
// per cluster: the warm-up API over HTTP, the admission webhook over HTTPS, the scheduled reconcile on a
// timer, metrics at /metrics.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { DynamoDbLedger, ensureLedgerTable, ledgerClient } from '../lambdas/adapters/dynamodb-ledger.js';
import { kubeConfigFromFile } from '../services/kube-config.js';
import { kubeConfigEndpoint } from '../lambdas/adapters/kubeconfig-file.js';
import { KubernetesCluster } from '../lambdas/adapters/kubernetes-cluster.js';
import { runtimeConfig, webhookConfig } from '../lambdas/config.js';
import { createWebhookHandler } from '../lambdas/handlers/admission-webhook.js';
import { createScheduledReconcileHandler } from '../lambdas/handlers/reconcile-scheduled.js';
import { createWarmUpApiHandler } from '../lambdas/handlers/warmup-api.js';
import { startDynalite } from '../services/dynalite.js';
import { startKubernetes } from '../services/kubernetes.js';
import { startMoto } from '../services/moto.js';
import type { StartedService } from '../services/service.js';
import { lambdaContext, serveApiGateway } from './api-gateway.js';
import { installDeploy, registerWebhook } from './install.js';
import { serveMetrics } from './metrics-server.js';
import { localOptions, type LocalOptions } from './options.js';
import { createPoolNodes, definePools, localPools, type LocalPool } from './pools.js';
import { localTls } from './tls.js';

type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
type ScheduledHandler = (event: unknown, context: Context) => Promise<unknown>;

const TABLE = 'inference-budget-ledger';
/** Allocations whose model is gone are released after this grace (the handlers' ORPHAN_GRACE_SECONDS). A
 * fresh local cluster starts without the models a persisted ledger remembers, so local mode waits less
 * than the Lambdas' 300 s default before settling them. */
const LOCAL_ORPHAN_GRACE_SECONDS = '30';

const began = Date.now();
const say = (message: string) =>
  process.stderr.write(`[local] ${message} (${((Date.now() - began) / 1000).toFixed(1)}s)\n`);

const services: StartedService[] = [];
// Ctrl-C: the harness's own handler kills every process it started (each in its process group) and exits.
process.once('exit', () => say('stopped'));
async function fail(error: unknown): Promise<never> {
  console.error(error instanceof Error ? error.message : error);
  await Promise.allSettled([...services].reverse().map((s) => s.stop()));
  process.exit(1);
}

try {
  const options = localOptions();
  const pools = localPools();
  const ledgerDir = join(options.dataDir, 'ledger');
  const clusterDir = join(options.dataDir, 'cluster');
  await claimDataDir(options.dataDir);
  // Every start gets a fresh cluster; the previous one's files (logs included) stay until then.
  await rm(clusterDir, { recursive: true, force: true });
  await mkdir(ledgerDir, { recursive: true });
  await mkdir(clusterDir, { recursive: true });

  const plan = clusterPlan(options);
  const startedNames = plan.filter((cluster) => cluster.started).map((cluster) => cluster.name);
  say(
    options.kubeconfig
      ? `starting dynalite (ledger in ${shown(ledgerDir)}) and moto (EventBridge); using ${
          options.clusters ? `the contexts ${plan.map((c) => c.context).join(', ')} of` : 'the cluster of'
        } KUBECONFIG=${options.kubeconfig}`
      : `starting dynalite (ledger in ${shown(ledgerDir)}), moto (EventBridge) and ${
          startedNames.length > 1 ? `${startedNames.length} Kubernetes clusters` : 'Kubernetes'
        } (the first start builds Kubernetes from source, about 25 min; later starts take seconds)`,
  );
  const kubernetes = plan.map((cluster) =>
    cluster.started
      ? startKubernetes(cluster.name === undefined ? clusterDir : join(clusterDir, cluster.name))
      : undefined,
  );
  const started = await Promise.allSettled([
    startDynalite(clusterDir, { path: ledgerDir }),
    startMoto(clusterDir),
    ...kubernetes.filter((service) => service !== undefined),
  ]);
  services.push(...started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [dynalite, moto] = services as [StartedService, StartedService];
  Object.assign(process.env, dynalite.env, moto.env);
  const governed = await Promise.all(
    plan.map(async (cluster, index) => {
      const service = await kubernetes[index];
      const kubeconfig = service?.env.IBCP_KUBECONFIG ?? options.kubeconfig!;
      return { ...cluster, kubeconfig, kubectl: service?.env.IBCP_KUBECTL };
    }),
  );
  say('services up');

  const dynamo = ledgerClient({ endpoint: process.env.IBCP_DYNALITE_ENDPOINT });
  await ensureLedgerTable(dynamo, TABLE);
  // Read by the libraries themselves: the AWS SDK's EventBridge endpoint (moto), and Powertools' switch
  // for the CloudWatch EMF lines (there is no CloudWatch here, and /metrics carries the same numbers).
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: process.env.IBCP_MOTO_ENDPOINT,
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const names = governed.flatMap((cluster) => (cluster.name === undefined ? [] : [cluster.name]));
  const served: ServedCluster[] = [];
  for (const [index, cluster] of governed.entries()) {
    served.push(await serveCluster(cluster, index, names, pools, dynamo));
  }

  const warmUp = byCluster(served);
  const api = await serveApiGateway(warmUp, { port: options.apiPort });
  await serveMetrics(
    options.metricsPort,
    served.map(({ name, kubeConfig, ledger }) => ({
      name,
      cluster: new KubernetesCluster(kubeConfigEndpoint(kubeConfig)),
      ledger,
    })),
  );
  let webhookUrl: string | undefined;
  const registered = served.filter((cluster) => cluster.webhook !== undefined);
  if (registered.length > 0) {
    // The API server calls the webhook over HTTPS only; the caBundle pins this start's own CA.
    // With failurePolicy Fail, an expired certificate would block every InferenceModel change: a local
    // run may last days. One server for every cluster: each registers its own secret's path.
    const tls = await localTls('127.0.0.1', 30);
    const webhook = await serveApiGateway(bySecret(registered), {
      port: options.webhookPort,
      https: { key: tls.key, cert: tls.cert },
    });
    for (const cluster of registered) {
      await registerWebhook(cluster.kubeConfig, `${webhook.url}/webhook/${cluster.webhook!.secret}`, tls.ca);
    }
    webhookUrl = webhook.url;
  }

  // Each cluster's passes run on their own timer, as each cluster's Lambda has its own schedule: a slow or
  // unreachable cluster delays only its own. Passes of one cluster never overlap (reserved concurrency 1).
  say('first reconcile pass');
  await Promise.all(served.map((cluster) => passes(cluster, options.reconcileEveryMs)));

  console.log(summary(served, { api: api.url, webhook: webhookUrl, ledgerDir, options }));
} catch (error) {
  await fail(error);
}

/** A cluster local mode governs: one it started, or one of KUBECONFIG (its current context, or a named one). */
interface PlannedCluster {
  /** Its `CLUSTER_NAME`; unset, the single-cluster form (the unscoped ledger, as before clusters). */
  name: string | undefined;
  started: boolean;
  context: string | undefined;
}

function clusterPlan(options: LocalOptions): PlannedCluster[] {
  const clusters = options.clusters;
  if (!clusters) return [{ name: undefined, started: !options.kubeconfig, context: undefined }];
  if ('started' in clusters)
    return clusters.started.map((name) => ({ name, started: true, context: undefined }));
  return clusters.contexts.map((context) => ({ name: context, started: false, context }));
}

interface ServedCluster {
  name: string | undefined;
  kubeconfig: string;
  kubectl: string | undefined;
  kubeConfig: KubeConfig;
  ledger: DynamoDbLedger;
  warmUp: ApiHandler;
  scheduled: ScheduledHandler;
  webhook: { secret: string; handler: ApiHandler } | undefined;
}

/**
 * One cluster's part: deploy/ installed, its pools in the ledger under its own keys (the first cluster
 * keeps the single-cluster keys), its nodes when local mode started it, and its handlers, which get the
 * settings a Lambda of that cluster reads from its environment; any other of their variables
 * (WATCH_NAMESPACE, ...) is passed through from this process's.
 */
async function serveCluster(
  cluster: PlannedCluster & { kubeconfig: string; kubectl: string | undefined },
  index: number,
  names: string[],
  pools: LocalPool[],
  dynamo: DynamoDBClient,
): Promise<ServedCluster> {
  const which = cluster.name === undefined ? '' : `cluster ${cluster.name}: `;
  const kubeConfig = kubeConfigFromFile(cluster.kubeconfig, cluster.context);
  if (!cluster.started) {
    await kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespace({ limit: 1 })
      .catch((error: unknown) => {
        const where = cluster.context ? `context ${cluster.context} of KUBECONFIG` : 'KUBECONFIG';
        throw new Error(`the cluster of ${where}=${cluster.kubeconfig} does not answer: ${String(error)}`);
      });
  }
  say(`${which}installing deploy/ (the InferenceModel CRD and RBAC)`);
  await installDeploy(kubeConfig);
  const scope = cluster.name === undefined ? undefined : { cluster: cluster.name, legacyKeys: index === 0 };
  const ledger = new DynamoDbLedger(dynamo, TABLE, scope);
  await definePools(ledger, pools);
  for (const pool of pools) {
    if (cluster.started) await createPoolNodes(cluster.kubeconfig, pool);
    const gpuMemoryGi = pool.bytesPerNode / pool.gpusPerNode / 2 ** 30;
    say(
      `${which}pool ${pool.name}: ${pool.maxNodes} node(s) of ${pool.gpusPerNode} x ${gpuMemoryGi}Gi ${pool.gpuProduct}` +
        (cluster.started ? '' : ' (budget only: no nodes are created in your cluster)'),
    );
  }
  const handlerEnv = {
    ...process.env,
    LEDGER_TABLE: TABLE,
    DYNAMODB_ENDPOINT: process.env.IBCP_DYNALITE_ENDPOINT,
    KUBECONFIG: cluster.kubeconfig,
    ORPHAN_GRACE_SECONDS: process.env.ORPHAN_GRACE_SECONDS ?? LOCAL_ORPHAN_GRACE_SECONDS,
    ...(cluster.context && { KUBE_CONTEXT: cluster.context }),
    ...(scope && {
      CLUSTER_NAME: scope.cluster,
      LEDGER_KEYS: scope.legacyKeys ? 'legacy' : 'cluster',
      GOVERNED_CLUSTERS: names.join(','),
    }),
  };
  const secret = randomBytes(32).toString('hex');
  return {
    name: cluster.name,
    kubeconfig: cluster.kubeconfig,
    kubectl: cluster.kubectl,
    kubeConfig,
    ledger,
    warmUp: createWarmUpApiHandler(() => runtimeConfig(handlerEnv)) as unknown as ApiHandler,
    scheduled: createScheduledReconcileHandler(() =>
      runtimeConfig(handlerEnv),
    ) as unknown as ScheduledHandler,
    // Only a cluster local mode started can call this machine's webhook.
    webhook: cluster.started
      ? {
          secret,
          handler: createWebhookHandler(() =>
            webhookConfig({ ...handlerEnv, WEBHOOK_SECRET: secret }),
          ) as unknown as ApiHandler,
        }
      : undefined,
  };
}

/** What API Gateway does with the stack's resources: `/v1/clusters/<name>/...` to that cluster's Lambda. */
function byCluster(clusters: ServedCluster[]): ApiHandler {
  const [home] = clusters as [ServedCluster];
  return (event, context) => {
    const named = /^\/v1\/clusters\/([^/]+)/.exec(event.path)?.[1];
    const own = clusters.find((cluster) => cluster.name !== undefined && cluster.name === named);
    return (own ?? home).warmUp(event, context);
  };
}

/** The webhook of the cluster whose secret the path carries (each API server calls its own). */
function bySecret(clusters: ServedCluster[]): ApiHandler {
  const [first] = clusters as [ServedCluster];
  return (event, context) => {
    const own = clusters.find((cluster) => event.path.startsWith(`/webhook/${cluster.webhook!.secret}`));
    return (own ?? first).webhook!.handler(event, context);
  };
}

async function passes(cluster: ServedCluster, everyMs: number): Promise<void> {
  const pass = async (): Promise<void> => {
    await cluster
      .scheduled({}, lambdaContext(Date.now() + 60_000))
      .catch((error: unknown) =>
        say(
          `${cluster.name === undefined ? '' : `cluster ${cluster.name}: `}reconcile pass failed: ${String(error)}`,
        ),
      );
    setTimeout(() => void pass(), everyMs).unref();
  };
  await pass();
}

function summary(
  clusters: ServedCluster[],
  at: { api: string; webhook: string | undefined; ledgerDir: string; options: LocalOptions },
): string {
  const [home] = clusters as [ServedCluster];
  const several = clusters.length > 1 || home.name !== undefined;
  const webhook = at.webhook
    ? `${at.webhook}/webhook/... (registered with ${several ? "each started cluster's" : 'the'} API server)`
    : 'not registered (KUBECONFIG names a cluster that cannot call this machine)';
  const clusterLines = several
    ? `\n${clusters.map((c) => `  cluster       ${c.name}: KUBECONFIG=${c.kubeconfig}${c.kubeConfig.getCurrentContext() && !c.kubectl ? ` (context ${c.kubeConfig.getCurrentContext()})` : ''}`).join('\n')}`
    : '';
  const kubectlDir = home.kubectl ? dirname(home.kubectl) : undefined;
  const byCluster = several ? `\n  curl ${at.api}/v1/clusters/${home.name}/models/default/llama-3-8b` : '';
  return `
The control plane is running (started in ${((Date.now() - began) / 1000).toFixed(1)}s). Ctrl-C stops everything it started.

  warm-up API   ${at.api}
  metrics       http://127.0.0.1:${at.options.metricsPort}/metrics  (and /healthz)
  webhook       ${webhook}
  ledger        ${shown(at.ledgerDir)} (kept across starts)
  reconcile     every ${at.options.reconcileEveryMs / 1000} s${several ? ', each cluster on its own' : ''}${clusterLines}

Try, in another terminal in this folder${several ? ` (cluster ${home.name}; the others' kubeconfigs are above)` : ''}:
${
  kubectlDir
    ? `
  export KUBECONFIG=${home.kubeconfig}
  export PATH=${kubectlDir}:$PATH     # the kubectl built for this cluster`
    : ''
}
  kubectl apply -f examples/          # models in pools gpu-a100 and default
  kubectl apply -f examples/moe/      # the MoE Trainer Lab's Deployments
  kubectl get inferencemodels

  curl -X POST ${at.api}/v1/models/default/llama-3-8b/warmup${byCluster}
  curl ${at.api}/v1/pools
  curl http://127.0.0.1:${at.options.metricsPort}/metrics
`;
}

/**
 * One local mode per data folder: a second would wipe the first's cluster files and fight over the
 * ledger's LevelDB lock. The pid file goes when this process exits.
 */
async function claimDataDir(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'local-mode.pid');
  const other = Number(await readFile(pidFile, 'utf8').catch(() => ''));
  if (Number.isInteger(other) && other > 0 && other !== process.pid && isRunning(other)) {
    throw new Error(
      `local mode already runs from ${shown(dataDir)} (pid ${other}): stop it first, or give a second one its own LOCAL_DATA_DIR and LOCAL_*_PORT options`,
    );
  }
  await mkdir(dataDir, { recursive: true });
  await writeFile(pidFile, `${process.pid}\n`);
  process.once('exit', () => rmSync(pidFile, { force: true }));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Paths under the working folder read shorter relative. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}
