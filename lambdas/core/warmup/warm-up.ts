import { formatDuration } from '../duration.js';
import { ApiError } from '../api/errors.js';
import { LedgerError, type Allocation, type PoolSnapshot } from '../ledger/ledger.js';
import { sizeMismatchAsHeld } from '../ledger/outcomes.js';
import { isWorkloadReplica } from '../ledger/rules.js';
import { claimAndScaleUp, sizedTo } from '../reconcile/actions/scale-up.js';
import { cooldownMsOf, idleMsOf, readyAt, untilIdleOutMs } from '../reconcile/clocks.js';
import { isReady, resolveDependency } from '../reconcile/view.js';
import { chooseBlockingSet, type BlockingCandidate } from './blocking.js';
import { evictFor, type EvictedModel } from './evict.js';
import { DEFAULT_QUEUE_EXPIRY_MS } from '../nodes/pool-policies.js';
import { positionsOf, type QueueEntry, type QueuePosition } from '../queue/model.js';
import { publishWarmUpRejection, type MetricsPorts } from '../metrics/publish.js';
import type { NodeScalingPorts } from '../nodes/ports.js';
import {
  ensureNodeCapacity,
  readNodeState,
  type NodeCapacity,
  type NodeStateReads,
} from '../nodes/scaler.js';
import { formatQuantity, parseQuantity } from '../quantity.js';
import { holderOf, poolOf, priorityOf, type InferenceModel, type ModelRef } from '../inference-model.js';
import { type ManagedDeployment, type ReconcilePorts, type ReconcileRequests } from '../reconcile/ports.js';
import { allocationOf, modelView, type ModelView } from './views.js';

export interface WarmUpPorts extends ReconcilePorts {
  reconcileRequests: ReconcileRequests;
  /** Time between scheduled passes: a 429's Retry-After waits for the pass that acts after a cooldown. */
  reconcileIntervalMs: number;
  metrics: MetricsPorts;
  sleep: (ms: number) => Promise<void>;
  /** The pools' node groups; absent when none is configured (local mode), and nodes are not scaled. */
  nodeScaling?: NodeScalingPorts;
}

export type WarmUpAnswer =
  | { status: 200; body: ModelView }
  | { status: 202; body: ModelView & { evicted?: EvictedModel[]; queue?: QueueView }; location: string };

/** Where a queued warm-up stands: 1 is next. */
export interface QueueView {
  pool: string;
  position: number;
  length: number;
}

const POLL_MS = 500;

/**
 * Warms a model up: a ready model answers 200; a cold one whose pool has room is allocated (or its held
 * allocation claimed) and scaled up (202, poll `location`). One that does not fit evicts idle models
 * when its pool allows it (202 naming them), else waits in the pool's queue when asked to (`queue`, or
 * the pool's default; 202 with its place), else answers 429 with the models blocking it. Every warm-up
 * counts as a request for the idle clock. With `waitSeconds`, waits for Ready (503 if it does not come).
 */
export async function warmUp(
  ports: WarmUpPorts,
  ref: ModelRef,
  waitSeconds = 0,
  queue?: boolean,
): Promise<WarmUpAnswer> {
  const now = ports.clock();
  const model = await findModel(ports, ref);
  // Refused before anything is written: a 400 leaves no trace in the ledger.
  if (model.spec.maxReplicas === 0) {
    throw new ApiError(
      'invalid_request',
      `${model.name} has maxReplicas 0: it is disabled and cannot be warmed up`,
    );
  }
  const pool = poolOf(model);
  const holder = holderOf(model);
  await ports.ledger.recordActivity({ pool, holder, at: now });
  // What the answer needs next goes along with the Deployment read, which must follow the activity write
  // (a scale-down checks it): the pool when the model was Ready at the last pass (most warm-ups of a
  // ready model), else the pool's queue, which a cold start reads first.
  const wasReady = model.status.ready === true;
  const poolRead = wasReady ? allocation(ports, model) : undefined;
  const queueRead = wasReady ? undefined : readQueue(ports, model);
  queueRead?.catch(() => undefined); // a Ready model never looks at it; a cold start reports a failure
  const deployment = await ports.cluster.getManagedDeployment(ref);
  if (isReady(deployment)) {
    return {
      status: 200,
      body: modelView(model, deployment, await (poolRead ?? allocation(ports, model)), now),
    };
  }
  const location = `/v1/models/${ref.namespace}/${ref.name}`;
  const started = await startOnBudget(ports, model, deployment, now, queue, queueRead);
  if ('queued' in started) {
    await requestReconcile(ports, model);
    const view = modelView(model, deployment, undefined, now);
    return {
      status: 202,
      body: { ...view, ...queuedHold(started.queued), queue: started.queued },
      location,
    };
  }
  const { nodes, evicted } = started;
  if (waitSeconds > 0) return waitForReady(ports, model, location, now + waitSeconds * 1000);
  const [current, allocated] = await Promise.all([
    ports.cluster.getManagedDeployment(ref),
    allocation(ports, model),
  ]);
  const body = modelView(model, current, allocated, now);
  if (nodes?.waitingForNode) {
    const { nodeGroup, readyNodes, desiredNodes } = nodes;
    body.waitingForNode = { nodeGroup, readyNodes, desiredNodes };
  }
  return { status: 202, body: evicted ? { ...body, evicted } : body, location };
}

/** The pool's admission queue, where queues are kept. */
function readQueue(ports: WarmUpPorts, model: InferenceModel): Promise<QueueEntry[]> | undefined {
  return ports.queue?.list(poolOf(model));
}

/** The Ready reason and message of a model waiting in line, as the reconciler writes them too. */
export function queuedHold(position: QueuePosition): { reason: 'Queued'; message: string } {
  return {
    reason: 'Queued',
    message: `waiting in the admission queue of pool ${position.pool}: position ${position.position} of ${position.length}`,
  };
}

async function requestReconcile(ports: WarmUpPorts, model: InferenceModel): Promise<void> {
  await ports.reconcileRequests
    .request({ namespace: model.namespace, name: model.name })
    .catch((error: unknown) =>
      ports.log.warn('Could not request a reconcile', {
        model: model.name,
        namespace: model.namespace,
        error: String(error),
      }),
    );
}

/** How often a warm-up takes budget again when a concurrent scale-down released what it had found. */
const BUDGET_ATTEMPTS = 3;

/**
 * Holds the model's budget and scales it up, or leaves the scale-up to the reconciler while its
 * dependencies start. A scale-down that releases the allocation found at zero replicas before the claim
 * is not an error: the warm-up reads again and allocates afresh (or answers 429).
 */
async function startOnBudget(
  ports: WarmUpPorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  now: number,
  queue: boolean | undefined,
  queueRead: Promise<QueueEntry[]> | undefined,
): Promise<{ nodes: NodeCapacity | undefined; evicted?: EvictedModel[] } | { queued: QueuePosition }> {
  const ref = { namespace: model.namespace, name: model.name };
  for (let attempt = 1, current = deployment, line = queueRead; ; attempt++) {
    // The node group's state is read while the ledger allocates: a cold start waits for one round trip, not two.
    const nodeState = ports.nodeScaling && readNodeState(ports.nodeScaling, poolOf(model));
    nodeState?.catch(() => undefined); // a 429 never looks at it; scaleOutFor reports a failure
    const held = await holdBudget(ports, model, current, now, queue, line ?? readQueue(ports, model));
    if (held && 'queued' in held) return held;
    const nodes = held && (await scaleOutFor(ports, model, held.pool, nodeState));
    const started = held && (await startOrRequest(ports, model, current, held, now));
    if (started) return { nodes, ...(held.evicted && { evicted: held.evicted }) };
    if (attempt === BUDGET_ATTEMPTS) {
      throw new ApiError('scale_up_failed', `${model.name} lost its budget to concurrent releases; retry`);
    }
    current = await ports.cluster.getManagedDeployment(ref);
    line = undefined; // read afresh with the budget
  }
}

/** Scales up when the dependencies are Ready, and asks the reconciler to carry on. False: the claim was lost. */
async function startOrRequest(
  ports: WarmUpPorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  held: HeldBudget,
  now: number,
): Promise<boolean> {
  const dependenciesReady = await Promise.all(
    model.spec.dependencies.map(async (name) =>
      isReady(await ports.cluster.getManagedDeployment({ namespace: model.namespace, name })),
    ),
  );
  try {
    if (dependenciesReady.every(Boolean) && !(await scaleUp(ports, model, deployment, held, now))) {
      return false;
    }
    // The reconciler warms the dependencies up first, then this model (the allocation marks the intent).
    await requestReconcile(ports, model);
    return true;
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
}

/** The allocation this warm-up starts the model on, and the pool as the ledger answered. */
export interface HeldBudget {
  pool: PoolSnapshot;
  allocation: Allocation;
  /** Held at zero replicas (a scale-down in progress, or a crash): the scale-up claims it first. */
  claimNeeded: boolean;
  /** Models evicted to make the room. */
  evicted?: EvictedModel[];
}

/**
 * Allocates the model's memory, or finds what it already holds: while its pods run or start, that is
 * theirs; at zero replicas it is claimed before the scale-up. A model whose memory was edited holds the
 * old size until the reconciler resizes it, and starts on that.
 */
async function holdBudget(
  ports: WarmUpPorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  now: number,
  queue: boolean | undefined,
  /** The pool's queue as listed (undefined: no queues are kept). */
  listed: Promise<QueueEntry[]> | undefined,
): Promise<HeldBudget | { queued: QueuePosition } | undefined> {
  const wantsQueue = queue ?? ports.poolPolicies?.get(poolOf(model))?.queue?.byDefault ?? false;
  const line = await lineAhead(ports, model, listed);
  if (line.mustWait) {
    if (line.inLine || wantsQueue) {
      return { queued: await enqueue(ports, model, poolOf(model), parseQuantity(model.spec.memory), now) };
    }
    throw await insufficientMemory(
      ports,
      model,
      line.mustWait,
      parseQuantity(model.spec.memory),
      [],
      true,
      line.length,
    );
  }
  const first = await allocateFor(ports, model, deployment, now);
  if (!first || !('insufficient' in first)) return leaveLine(ports, line.inLine, first);
  const bytes = parseQuantity(model.spec.memory);
  const pool = first.insufficient;
  // Cooldowns, readiness and dependencies live in the cluster: two list calls, only on this (rare) path.
  const [models, deployments] = await Promise.all([
    ports.cluster.listModels(),
    ports.cluster.listManagedDeployments(),
  ]);
  const fitsThePool = bytes <= pool.totalBytes;
  const candidates = fitsThePool
    ? blockingCandidates(model, pool, models, deployments, now, ports.reconcileIntervalMs)
    : [];
  const evicted = fitsThePool
    ? await evictFor(ports, model, pool, bytes, candidates, models, deployments, now)
    : [];
  if (evicted.length > 0) {
    const second = await allocateFor(ports, model, deployment, now);
    if (!second || !('insufficient' in second)) {
      return leaveLine(ports, line.inLine, second && { ...second, evicted });
    }
  }
  const queueable = fitsThePool && ports.queue !== undefined;
  if (queueable && (wantsQueue || line.inLine)) {
    return { queued: await enqueue(ports, model, pool.name, bytes, now) };
  }
  const latest = evicted.length > 0 ? await ports.ledger.readPool(pool.name) : pool;
  const blocking =
    evicted.length > 0
      ? blockingCandidates(model, latest, models, deployments, now, ports.reconcileIntervalMs)
      : candidates;
  throw await insufficientMemory(ports, model, latest, bytes, blocking, queueable);
}

/**
 * Fairness to those waiting in line: while the pool's queue is not empty, a warm-up takes room only
 * when it heads the line, ranks above its head (a higher priority), or already holds its budget;
 * otherwise it waits behind them (or, not asking to wait, is refused), never taking the room the head
 * waits for. One query, and only where queues are kept. `mustWait`: the pool as read, when it must.
 */
async function lineAhead(
  ports: WarmUpPorts,
  model: InferenceModel,
  listed: Promise<QueueEntry[]> | undefined,
): Promise<{ mustWait: PoolSnapshot | false; inLine: QueueEntry | undefined; length: number }> {
  if (!listed) return { mustWait: false, inLine: undefined, length: 0 };
  const holder = holderOf(model);
  const line = await listed;
  const inLine = line.find((e) => e.holder === holder);
  const head = line[0];
  const length = line.length;
  if (!head || head.holder === holder || priorityOf(model) > head.priority) {
    return { mustWait: false, inLine, length };
  }
  const pool = await ports.ledger.readPool(poolOf(model));
  // Waiting, the pool as read is what a refusal reports.
  return { mustWait: !pool.allocations.some((a) => a.holder === holder) && pool, inLine, length };
}

/** A queued model that got its budget by a warm-up of its own leaves the line. */
async function leaveLine(
  ports: WarmUpPorts,
  entry: QueueEntry | undefined,
  held: HeldBudget | undefined,
): Promise<HeldBudget | undefined> {
  if (entry && held) await ports.queue!.remove(entry);
  return held;
}

async function enqueue(
  ports: WarmUpPorts,
  model: InferenceModel,
  pool: string,
  bytes: number,
  now: number,
): Promise<QueuePosition> {
  const holder = holderOf(model);
  await ports.queue!.enqueue({ pool, holder, priority: priorityOf(model), bytes, at: now });
  const position = positionsOf(await ports.queue!.list(pool)).get(holder);
  ports.log.info('Warm-up queued', {
    model: model.name,
    namespace: model.namespace,
    nodePool: pool,
    position: position?.position,
  });
  // A removal racing the list (admitted, expired) leaves it out: it is then first, or gone.
  return position ?? { pool, position: 1, length: 1 };
}

/** How long a queued warm-up keeps its place without a new request. */
export function queueExpiryMsOf(ports: ReconcilePorts, pool: string): number {
  return ports.poolPolicies?.get(pool)?.queue?.expireAfterMs ?? DEFAULT_QUEUE_EXPIRY_MS;
}

/**
 * The model's allocation, taken now or found held; when the pool has no room, the pool as the ledger
 * read it then. The same fenced allocation serves a warm-up and an admission from the queue.
 */
export async function allocateFor(
  ports: ReconcilePorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  now: number,
): Promise<HeldBudget | { insufficient: PoolSnapshot } | undefined> {
  const pool = poolOf(model);
  const holder = holderOf(model);
  const bytes = parseQuantity(model.spec.memory);
  const result = await ports.ledger
    .allocate({ pool, holder, bytes, now })
    .catch(noBudget(pool))
    .catch(sizeMismatchAsHeld);
  if (result !== 'held-at-another-size' && result.outcome === 'insufficient') {
    return { insufficient: result.pool };
  }
  const snapshot = result === 'held-at-another-size' ? await ports.ledger.readPool(pool) : result.pool;
  const allocation = snapshot.allocations.find((a) => a.holder === holder);
  if (!allocation) return undefined; // released between the answer and the read: take it again
  if (result !== 'held-at-another-size' && result.outcome === 'allocated') {
    ports.log.info('Memory budget allocated', {
      model: model.name,
      namespace: model.namespace,
      memory: model.spec.memory,
      nodePool: pool,
    });
  }
  const wasHeld = result === 'held-at-another-size' || result.outcome === 'already-held';
  return { pool: snapshot, allocation, claimNeeded: wasHeld && (deployment?.replicas ?? 0) === 0 };
}

/**
 * Scale the node group out at once when the allocation needs a node that is not there. A failure is
 * logged, not answered: the budget is held, and the scheduled pass asks for the node again.
 */
async function scaleOutFor(
  ports: WarmUpPorts,
  model: InferenceModel,
  pool: PoolSnapshot,
  nodeState: Promise<NodeStateReads> | undefined,
): Promise<NodeCapacity | undefined> {
  if (!ports.nodeScaling) return undefined;
  try {
    return await ensureNodeCapacity(ports.nodeScaling, pool, nodeState);
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

export async function scaleUp(
  ports: ReconcilePorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  held: HeldBudget,
  now: number,
): Promise<boolean> {
  if (deployment && deployment.replicas > 0) return true; // already starting
  if (deployment && held.claimNeeded) {
    const holding = { pool: held.pool.name, allocation: held.allocation };
    return claimAndScaleUp(ports, model, deployment, holding, model.spec.maxReplicas, now);
  }
  // Its pods are given what the model holds (a memory edit is the reconciler's resize).
  const sized = sizedTo(model, held.allocation.bytes);
  if (deployment) {
    await ports.cluster.scaleDeployment(sized, model.spec.maxReplicas, now);
  } else if (model.spec.containerImage) {
    await ports.cluster.createDeployment(sized, model.spec.maxReplicas, now);
  } else {
    return true; // the reconciler reports that it waits for a Deployment it does not own
  }
  ports.log.info('Triggered scale-up for deployment', {
    model: model.name,
    namespace: model.namespace,
    deployment: model.name,
  });
  return true;
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

/**
 * The 429 of SPEC.md: a minimal set of models whose release makes room soonest (blocking.ts), idlest
 * first, and Retry-After when that room is expected: their cooldowns plus one pass to act on them.
 */
async function insufficientMemory(
  ports: WarmUpPorts,
  model: InferenceModel,
  pool: PoolSnapshot,
  bytes: number,
  candidates: BlockingCandidate[],
  queueable: boolean,
  /** Set when the pool has room but warm-ups wait in line for it first. */
  waitingInLine?: number,
): Promise<ApiError> {
  const fitsThePool = bytes <= pool.totalBytes;
  const choice = fitsThePool
    ? chooseBlockingSet(bytes - pool.availableBytes, candidates)
    : { blocking: [], untilRoomMs: undefined };
  const blocking = choice.blocking.map((b) => {
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
    choice.untilRoomMs !== undefined
      ? { 'Retry-After': String(Math.ceil((choice.untilRoomMs + ports.reconcileIntervalMs) / 1000)) }
      : {};
  const message =
    waitingInLine === undefined
      ? `Cannot schedule ${model.name}: insufficient memory`
      : `Cannot schedule ${model.name}: ${waitingInLine} warm-up(s) wait in line for pool ${pool.name}; warm up with ?queue=true to join them`;
  return new ApiError(
    'insufficient_memory',
    message,
    {
      requested: { model: model.name, memory: model.spec.memory },
      available: formatQuantity(pool.availableBytes),
      blocking,
      queueable,
      ...(waitingInLine !== undefined && { queued: waitingInLine }),
    },
    headers,
  );
}

/**
 * Who may be named: models of this pool that are Ready and idling towards their cooldown. Never a
 * starting or failed model, a MoE replica, the requester, a dependency of the requester or of a running
 * model (none of them idles out), nor budget whose model is gone (the pass releases it on its own).
 */
export function blockingCandidates(
  requester: InferenceModel,
  pool: PoolSnapshot,
  models: InferenceModel[],
  deployments: ManagedDeployment[],
  now: number,
  reconcileIntervalMs: number,
): BlockingCandidate[] {
  const byHolder = new Map(models.map((m) => [holderOf(m), m]));
  const deploymentOf = new Map(deployments.map((d) => [holderOf(d), d]));
  const protectedHolders = new Set([holderOf(requester), ...dependencyClosure(requester, models)]);
  for (const m of models) {
    if ((deploymentOf.get(holderOf(m))?.replicas ?? 0) > 0) {
      for (const dependency of dependencyClosure(m, models)) protectedHolders.add(dependency);
    }
  }
  return pool.allocations.flatMap((allocation) => {
    const candidate = byHolder.get(allocation.holder);
    const deployment = deploymentOf.get(allocation.holder);
    if (!candidate || isWorkloadReplica(allocation.holder) || protectedHolders.has(allocation.holder))
      return [];
    if (!isReady(deployment) || poolOf(candidate) !== pool.name || candidate.deleting) return [];
    const ready = readyAt(candidate, deployment, now);
    // Ready, but no pass has written so yet: the reconciler's idle clock starts when the next one does.
    const unrecorded = candidate.status.ready === true ? 0 : reconcileIntervalMs;
    return [
      {
        holder: allocation.holder,
        bytes: allocation.bytes,
        idleMs: idleMsOf(allocation, ready, now),
        untilIdleOutMs: untilIdleOutMs(allocation, ready, cooldownMsOf(candidate), now) + unrecorded,
      },
    ];
  });
}

/** Every model `model` needs, directly or through others (a cycle ends the walk). */
function dependencyClosure(model: InferenceModel, models: InferenceModel[]): Set<string> {
  const found = new Set<string>();
  const queue = [model];
  while (queue.length > 0) {
    const next = queue.pop()!;
    for (const name of next.spec.dependencies) {
      const dependency = resolveDependency(models, next.namespace, name);
      if (dependency && !found.has(holderOf(dependency))) {
        found.add(holderOf(dependency));
        queue.push(dependency);
      }
    }
  }
  return found;
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
