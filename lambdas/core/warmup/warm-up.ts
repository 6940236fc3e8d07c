import { formatDuration, parseDuration } from '../duration.js';
import { ApiError } from '../api/errors.js';
import { DEFAULT_COOLDOWN_MS, LedgerError, type PoolSnapshot } from '../ledger/model.js';
import { findBlocking } from '../ledger/rules.js';
import { publishWarmUpRejection, type MetricsPorts } from '../metrics/publish.js';
import type { NodeScalingPorts } from '../nodes/model.js';
import { ensureNodeCapacity, type NodeCapacity } from '../nodes/scaler.js';
import { formatQuantity, parseQuantity } from '../quantity.js';
import {
  holderOf,
  poolOf,
  type InferenceModel,
  type ManagedDeployment,
  type ModelRef,
  type ReconcilePorts,
  type ReconcileRequests,
} from '../reconcile/model.js';
import { allocationOf, modelView, type ModelView } from './views.js';

export interface WarmUpPorts extends ReconcilePorts {
  reconcileRequests: ReconcileRequests;
  metrics: MetricsPorts;
  sleep: (ms: number) => Promise<void>;
  /** The pools' node groups; absent when none is configured (local mode), and nodes are not scaled. */
  nodeScaling?: NodeScalingPorts;
}

export type WarmUpAnswer =
  { status: 200; body: ModelView } | { status: 202; body: ModelView; location: string };

const POLL_MS = 500;

/**
 * Warms a model up: a ready model answers 200; a cold one whose pool has room is allocated and scaled up
 * (202, poll `location`); one that does not fit answers 429 with the models blocking it. Every warm-up
 * counts as a request for the idle clock. With `waitSeconds`, waits for Ready (503 if it does not come).
 */
export async function warmUp(ports: WarmUpPorts, ref: ModelRef, waitSeconds = 0): Promise<WarmUpAnswer> {
  const now = ports.clock();
  const model = await findModel(ports, ref);
  const pool = poolOf(model);
  const holder = holderOf(model);
  const deployment = await ports.cluster.getManagedDeployment(ref);
  // Refused before anything is written: a 400 leaves no trace in the ledger.
  if (!isReady(deployment) && model.spec.maxReplicas === 0) {
    throw new ApiError(
      'invalid_request',
      `${model.name} has maxReplicas 0: it is disabled and cannot be warmed up`,
    );
  }
  await ports.ledger.recordActivity({ pool, holder, at: now });
  if (isReady(deployment)) {
    return { status: 200, body: modelView(model, deployment, await allocation(ports, model), now) };
  }
  const bytes = parseQuantity(model.spec.memory);
  const result = await ports.ledger.allocate({ pool, holder, bytes, now }).catch(noBudget(pool));
  if (result.outcome === 'insufficient')
    throw await insufficientMemory(ports, model, result.pool, bytes, now);
  if (result.outcome === 'allocated') {
    ports.log.info('Memory budget allocated', {
      model: model.name,
      namespace: model.namespace,
      memory: model.spec.memory,
      nodePool: pool,
    });
  }

  const nodes = await scaleOutFor(ports, model, result.pool);

  const dependenciesReady = await Promise.all(
    model.spec.dependencies.map(async (name) =>
      isReady(await ports.cluster.getManagedDeployment({ namespace: ref.namespace, name })),
    ),
  );
  try {
    if (dependenciesReady.every(Boolean)) await scaleUp(ports, model, deployment, now);
    // The reconciler warms the dependencies up first, then this model (the allocation marks the intent).
    await ports.reconcileRequests.request(ref).catch((error: unknown) =>
      ports.log.warn('Could not request a reconcile', {
        model: model.name,
        namespace: model.namespace,
        error: String(error),
      }),
    );
  } catch (error) {
    ports.log.error('Scale-up failed', {
      model: model.name,
      namespace: model.namespace,
      error: String(error),
    });
    throw new ApiError(
      'scale_up_failed',
      `Could not scale up ${model.name}: ${String(error)}. The reconciler retries.`,
    );
  }
  const location = `/v1/models/${ref.namespace}/${ref.name}`;
  if (waitSeconds > 0) return waitForReady(ports, model, location, now + waitSeconds * 1000);
  const current = await ports.cluster.getManagedDeployment(ref);
  const body = modelView(model, current, await allocation(ports, model), now);
  if (nodes?.waitingForNode) {
    const { nodeGroup, readyNodes, desiredNodes } = nodes;
    body.waitingForNode = { nodeGroup, readyNodes, desiredNodes };
  }
  return { status: 202, body, location };
}

/**
 * Scale the node group out at once when the allocation needs a node that is not there. A failure is
 * logged, not answered: the budget is held, and the scheduled pass asks for the node again.
 */
async function scaleOutFor(
  ports: WarmUpPorts,
  model: InferenceModel,
  pool: PoolSnapshot,
): Promise<NodeCapacity | undefined> {
  if (!ports.nodeScaling) return undefined;
  try {
    return await ensureNodeCapacity(ports.nodeScaling, pool);
  } catch (error) {
    ports.log.error('Node scale-out failed', {
      model: model.name,
      namespace: model.namespace,
      nodePool: pool.name,
      error: String(error),
    });
    return undefined;
  }
}

/** Gateways report traffic; one ledger write. The pool comes from the model, which callers cache. */
export async function recordActivity(ports: ReconcilePorts, model: InferenceModel): Promise<void> {
  await ports.ledger.recordActivity({ pool: poolOf(model), holder: holderOf(model), at: ports.clock() });
}

export async function findModel(ports: ReconcilePorts, ref: ModelRef): Promise<InferenceModel> {
  const model = await ports.cluster.getModel(ref);
  if (!model || model.deleting) {
    throw new ApiError('model_not_found', `The model '${ref.namespace}/${ref.name}' does not exist`, {
      model: ref.name,
      namespace: ref.namespace,
    });
  }
  return model;
}

function isReady(deployment: ManagedDeployment | undefined): boolean {
  return (deployment?.replicas ?? 0) > 0 && (deployment?.readyReplicas ?? 0) > 0;
}

async function scaleUp(
  ports: WarmUpPorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  now: number,
) {
  if (deployment && deployment.replicas > 0) return; // already starting
  if (deployment) await ports.cluster.scaleDeployment(model, model.spec.maxReplicas, now);
  else if (model.spec.containerImage) await ports.cluster.createDeployment(model, model.spec.maxReplicas);
  else return; // the reconciler reports that it waits for a Deployment it does not own
  ports.log.info('Triggered scale-up for deployment', {
    model: model.name,
    namespace: model.namespace,
    deployment: model.name,
  });
}

async function waitForReady(
  ports: WarmUpPorts,
  model: InferenceModel,
  location: string,
  deadline: number,
): Promise<WarmUpAnswer> {
  for (;;) {
    const deployment = await ports.cluster.getManagedDeployment(model);
    if (isReady(deployment)) {
      ports.log.info('Model is now ready', { model: model.name, namespace: model.namespace });
      return {
        status: 200,
        body: modelView(model, deployment, await allocation(ports, model), ports.clock()),
      };
    }
    if (ports.clock() >= deadline) {
      throw new ApiError(
        'model_not_ready',
        `${model.name} is starting but not ready yet; poll ${location}`,
        { location },
        {
          'Retry-After': '5',
          Location: location,
        },
      );
    }
    await ports.sleep(POLL_MS);
  }
}

/** The 429 of SPEC.md: the blocking models idlest first, each with its memory and idle time. */
async function insufficientMemory(
  ports: WarmUpPorts,
  model: InferenceModel,
  pool: PoolSnapshot,
  bytes: number,
  now: number,
): Promise<ApiError> {
  // Cooldowns live on the models; one list call, only on this (rare) path.
  const models = await ports.cluster.listModels();
  const byHolder = Object.fromEntries(models.map((m) => [holderOf(m), cooldownMs(m)]));
  const report = findBlocking(pool, bytes, now, { byHolder, defaultMs: DEFAULT_COOLDOWN_MS });
  const blocking = report.blocking.map((b) => {
    const [namespace, name] = b.holder.split('/') as [string, string];
    return { model: name, namespace, memory: formatQuantity(b.bytes), idle_for: formatDuration(b.idleMs) };
  });
  await publishWarmUpRejection(ports.metrics, poolOf(model)).catch((error: unknown) =>
    ports.log.warn('Could not publish the warm-up rejection metric', { error: String(error) }),
  );
  ports.log.info('Insufficient memory for model', {
    model: model.name,
    namespace: model.namespace,
    available: formatQuantity(pool.availableBytes),
    blocking: blocking.length,
  });
  const headers: Record<string, string> =
    report.retryAfterSeconds !== undefined ? { 'Retry-After': String(report.retryAfterSeconds) } : {};
  return new ApiError(
    'insufficient_memory',
    `Cannot schedule ${model.name}: insufficient memory`,
    {
      requested: { model: model.name, memory: model.spec.memory },
      available: formatQuantity(pool.availableBytes),
      blocking,
    },
    headers,
  );
}

function cooldownMs(model: InferenceModel): number {
  try {
    return parseDuration(model.spec.cooldownPeriod);
  } catch {
    return DEFAULT_COOLDOWN_MS;
  }
}

async function allocation(ports: ReconcilePorts, model: InferenceModel) {
  const pool = await ports.ledger.readPool(poolOf(model)).catch(() => undefined);
  return allocationOf(pool, model);
}

function noBudget(pool: string) {
  return (error: unknown): never => {
    if (error instanceof LedgerError && error.code === 'unknown_pool') {
      throw new ApiError(
        'scale_up_failed',
        `Node pool "${pool}" has no budget in the control plane's configuration`,
      );
    }
    throw error;
  };
}
