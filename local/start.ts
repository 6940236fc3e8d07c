// `npm start`: the control plane on this machine (docs/local-mode.md). The ledger on dynalite, kept under
// the data folder; moto for EventBridge; a fresh local Kubernetes (the test harness's kube-apiserver,
// controller-manager, scheduler and KWOK GPU nodes) unless KUBECONFIG names a cluster; and the same Lambda
// handlers: the warm-up API over HTTP, the admission webhook over HTTPS, the scheduled reconcile on a timer,
// metrics at /metrics.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { CoreV1Api } from '@kubernetes/client-node';
import { DynamoDbLedger, ensureLedgerTable, ledgerClient } from '../lambdas/adapters/dynamodb-ledger.js';
import { kubeConfigFromFile } from '../lambdas/adapters/kube-config.js';
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
import { localOptions } from './options.js';
import { createPoolNodes, definePools, localPools } from './pools.js';
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

  say(
    options.kubeconfig
      ? `starting dynalite (ledger in ${shown(ledgerDir)}) and moto (EventBridge); using the cluster of KUBECONFIG=${options.kubeconfig}`
      : `starting dynalite (ledger in ${shown(ledgerDir)}), moto (EventBridge) and Kubernetes (the first start builds Kubernetes from source, about 25 min; later starts take seconds)`,
  );
  const started = await Promise.allSettled([
    startDynalite(clusterDir, { path: ledgerDir }),
    startMoto(clusterDir),
    ...(options.kubeconfig ? [] : [startKubernetes(clusterDir)]),
  ]);
  services.push(...started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  for (const service of services) Object.assign(process.env, service.env);
  const kubeconfig = options.kubeconfig ?? process.env.IBCP_KUBECONFIG!;
  const kubeConfig = kubeConfigFromFile(kubeconfig);
  say('services up');

  if (options.kubeconfig) {
    await kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespace({ limit: 1 })
      .catch((error: unknown) => {
        throw new Error(`the cluster of KUBECONFIG=${options.kubeconfig} does not answer: ${String(error)}`);
      });
  }
  say('installing deploy/ (the InferenceModel CRD and RBAC)');
  await installDeploy(kubeConfig);

  const dynamo = ledgerClient({ endpoint: process.env.IBCP_DYNALITE_ENDPOINT });
  await ensureLedgerTable(dynamo, TABLE);
  const ledger = new DynamoDbLedger(dynamo, TABLE);
  await definePools(ledger, pools);
  for (const pool of pools) {
    if (!options.kubeconfig) await createPoolNodes(kubeconfig, pool);
    const gpuMemoryGi = pool.bytesPerNode / pool.gpusPerNode / 2 ** 30;
    say(
      `pool ${pool.name}: ${pool.maxNodes} node(s) of ${pool.gpusPerNode} x ${gpuMemoryGi}Gi ${pool.gpuProduct}` +
        (options.kubeconfig ? ' (budget only: no nodes are created in your cluster)' : ''),
    );
  }

  // The handlers get the settings a Lambda reads from its environment; any other of their variables
  // (WATCH_NAMESPACE, ...) is passed through from this process's.
  const handlerEnv = {
    ...process.env,
    LEDGER_TABLE: TABLE,
    DYNAMODB_ENDPOINT: process.env.IBCP_DYNALITE_ENDPOINT,
    KUBECONFIG: kubeconfig,
    ORPHAN_GRACE_SECONDS: process.env.ORPHAN_GRACE_SECONDS ?? LOCAL_ORPHAN_GRACE_SECONDS,
  };
  // Read by the libraries themselves: the AWS SDK's EventBridge endpoint (moto), and Powertools' switch
  // for the CloudWatch EMF lines (there is no CloudWatch here, and /metrics carries the same numbers).
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: process.env.IBCP_MOTO_ENDPOINT,
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const warmUp = createWarmUpApiHandler(() => runtimeConfig(handlerEnv)) as unknown as ApiHandler;
  const scheduled = createScheduledReconcileHandler(() =>
    runtimeConfig(handlerEnv),
  ) as unknown as ScheduledHandler;

  const api = await serveApiGateway(warmUp, { port: options.apiPort });
  await serveMetrics(options.metricsPort, {
    cluster: new KubernetesCluster(kubeConfig),
    ledger,
  });
  let webhookUrl: string | undefined;
  if (!options.kubeconfig) {
    // The API server calls the webhook over HTTPS only; the caBundle pins this start's own CA.
    // With failurePolicy Fail, an expired certificate would block every InferenceModel change: a local
    // run may last days.
    const tls = await localTls('127.0.0.1', 30);
    const secret = randomBytes(32).toString('hex');
    const admission = createWebhookHandler(() =>
      webhookConfig({ ...handlerEnv, WEBHOOK_SECRET: secret }),
    ) as unknown as ApiHandler;
    const webhook = await serveApiGateway(admission, {
      port: options.webhookPort,
      https: { key: tls.key, cert: tls.cert },
    });
    await registerWebhook(kubeConfig, `${webhook.url}/webhook/${secret}`, tls.ca);
    webhookUrl = webhook.url;
  }

  // Passes never overlap (the Lambda has reserved concurrency 1): the next starts after this one ends.
  const pass = async (): Promise<void> => {
    await scheduled({}, lambdaContext(Date.now() + 60_000)).catch((error: unknown) =>
      say(`reconcile pass failed: ${String(error)}`),
    );
    setTimeout(() => void pass(), options.reconcileEveryMs).unref();
  };
  say('first reconcile pass');
  await pass();

  const kubectlDir = process.env.IBCP_KUBECTL ? dirname(process.env.IBCP_KUBECTL) : undefined;
  console.log(`
The control plane is running (started in ${((Date.now() - began) / 1000).toFixed(1)}s). Ctrl-C stops everything it started.

  warm-up API   ${api.url}
  metrics       http://127.0.0.1:${options.metricsPort}/metrics  (and /healthz)
  webhook       ${webhookUrl ? `${webhookUrl}/webhook/... (registered with the API server)` : 'not registered (KUBECONFIG names a cluster that cannot call this machine)'}
  ledger        ${shown(ledgerDir)} (kept across starts)
  reconcile     every ${options.reconcileEveryMs / 1000} s

Try, in another terminal in this folder:
${
  kubectlDir
    ? `
  export KUBECONFIG=${kubeconfig}
  export PATH=${kubectlDir}:$PATH     # the kubectl built for this cluster`
    : ''
}
  kubectl apply -f examples/          # models in pools gpu-a100 and default
  kubectl apply -f examples/moe/      # the MoE Trainer Lab's Deployments
  kubectl get inferencemodels

  curl -X POST ${api.url}/v1/models/default/llama-3-8b/warmup
  curl ${api.url}/v1/pools
  curl http://127.0.0.1:${options.metricsPort}/metrics
`);
} catch (error) {
  await fail(error);
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
