import { formatDuration, parseDuration } from '../duration.js';
import type { Allocation, PoolSnapshot } from '../ledger/ledger.js';
import { fenceOf } from '../ledger/rules.js';
import { publishEvictions, type MetricsPorts } from '../metrics/publish.js';
import { DEFAULT_MIN_IDLE_MS } from '../nodes/pool-policies.js';
import { formatQuantity } from '../quantity.js';
import { idleMsOf, readyAt } from '../reconcile/clocks.js';
import { desiredReplicas } from '../reconcile/decide.js';
import { sizedTo } from '../reconcile/actions/scale-up.js';
import { event, fields, releaseHolding } from '../reconcile/effects.js';
import { holderOf, priorityOf, type InferenceModel } from '../inference-model.js';
import type { ManagedDeployment, ReconcilePorts } from '../reconcile/ports.js';
import type { BlockingCandidate } from './blocking.js';
import { chooseVictims, type EvictionCandidate } from './eviction.js';

/** A model a warm-up scaled to zero to make room, as the 202 names it. */
export interface EvictedModel {
  model: string;
  namespace: string;
  memory: string;
  idle_for: string;
}

/**
 * For a warm-up that does not fit a pool that allows eviction: scales the chosen victims to zero and
 * releases their budget, one at a time, each fenced to the allocation read (so a racing warm-up of a
 * victim, which claims it, or a second eviction of the same victim, makes this one stop). Stops at the
 * first victim it cannot evict; returns those it did. The caller then allocates as usual.
 */
export async function evictFor(
  ports: ReconcilePorts & { metrics: MetricsPorts },
  requester: InferenceModel,
  pool: PoolSnapshot,
  bytes: number,
  candidates: BlockingCandidate[],
  models: InferenceModel[],
  deployments: ManagedDeployment[],
  now: number,
): Promise<EvictedModel[]> {
  const eviction = ports.poolPolicies?.get(pool.name)?.eviction;
  if (!eviction?.enabled) return [];
  const byHolder = new Map(models.map((m) => [holderOf(m), m]));
  const deploymentOf = new Map(deployments.map((d) => [holderOf(d), d]));
  const eligible = evictionCandidates(requester, candidates, byHolder, eviction.minIdleMs);
  const victims = chooseVictims(bytes - pool.availableBytes, eligible);
  if (!victims || victims.length === 0) return [];
  const evicted: EvictedModel[] = [];
  for (const victim of victims) {
    const model = byHolder.get(victim.holder)!;
    const allocation = pool.allocations.find((a) => a.holder === victim.holder)!;
    const done = await evictOne(
      ports,
      model,
      deploymentOf.get(victim.holder),
      pool.name,
      allocation,
      requester,
      now,
    );
    if (!done) break;
    evicted.push({
      model: model.name,
      namespace: model.namespace,
      memory: formatQuantity(allocation.bytes),
      idle_for: formatDuration(victim.idleMs),
    });
  }
  await publishEvictions(ports.metrics, pool.name, evicted.length).catch((error: unknown) =>
    ports.log.warn('Could not publish the eviction metric', { error: String(error) }),
  );
  return evicted;
}

/** The blocking candidates a requester may evict: no higher priority than its own, idle at least minIdle. */
export function evictionCandidates(
  requester: InferenceModel,
  candidates: readonly BlockingCandidate[],
  models: ReadonlyMap<string, InferenceModel>,
  poolMinIdleMs: number,
): EvictionCandidate[] {
  return candidates.flatMap((candidate) => {
    const model = models.get(candidate.holder);
    if (!model || priorityOf(model) > priorityOf(requester)) return [];
    if (candidate.idleMs < minIdleMsOf(model, poolMinIdleMs)) return [];
    return [
      {
        holder: candidate.holder,
        bytes: candidate.bytes,
        priority: priorityOf(model),
        idleMs: candidate.idleMs,
      },
    ];
  });
}

export function minIdleMsOf(model: InferenceModel, poolMinIdleMs = DEFAULT_MIN_IDLE_MS): number {
  if (model.spec.evictionMinIdle === undefined) return poolMinIdleMs;
  try {
    return parseDuration(model.spec.evictionMinIdle);
  } catch {
    return poolMinIdleMs;
  }
}

/**
 * One victim, as a scale-down does it: re-read right before (still the allocation read, still idle
 * minIdle), scale to zero, re-read (a request or a claim since undoes it), then the fenced release.
 */
async function evictOne(
  ports: ReconcilePorts,
  victim: InferenceModel,
  deployment: ManagedDeployment | undefined,
  pool: string,
  read: Allocation,
  requester: InferenceModel,
  now: number,
): Promise<boolean> {
  const ready = readyAt(victim, deployment, now);
  const minIdleMs = minIdleMsOf(victim, ports.poolPolicies?.get(pool)?.eviction?.minIdleMs);
  const before = await held(ports, pool, victim);
  if (!before || !sameAllocation(before, read) || idleMsOf(before, ready, now) < minIdleMs) return false;
  await ports.cluster.scaleDeployment(victim, 0, now);
  const after = await held(ports, pool, victim);
  if (!after) return false; // a racing eviction released it: that one won
  if (!sameAllocation(after, read) || (after.lastActivity ?? 0) > (before.lastActivity ?? 0)) {
    await undo(ports, victim, after, now);
    return false;
  }
  const reason = `evicted for ${holderOf(requester)}`;
  if (!(await releaseHolding(ports, victim, { pool, allocation: before }, reason))) {
    const heldNow = await held(ports, pool, victim);
    if (heldNow) await undo(ports, victim, heldNow, now);
    return false;
  }
  const idleFor = formatDuration(idleMsOf(before, ready, now));
  ports.log.info('Scaled deployment to zero replicas', { ...fields(victim), reason, idleFor });
  await event(
    ports,
    victim,
    'Normal',
    'Evicted',
    `Scaled to zero after ${idleFor} idle to make room for ${holderOf(requester)} in pool ${pool}`,
  );
  return true;
}

/** A request or a claim came during the eviction: the victim keeps its budget and runs again. */
async function undo(ports: ReconcilePorts, victim: InferenceModel, allocation: Allocation, now: number) {
  await ports.cluster.scaleDeployment(sizedTo(victim, allocation.bytes), desiredReplicas(victim), now);
  ports.log.info('Eviction undone: a request arrived during it', fields(victim));
}

async function held(
  ports: ReconcilePorts,
  pool: string,
  model: InferenceModel,
): Promise<Allocation | undefined> {
  return (await ports.ledger.readPool(pool)).allocations.find((a) => a.holder === holderOf(model));
}

function sameAllocation(a: Allocation, b: Allocation): boolean {
  const fa = fenceOf(a);
  const fb = fenceOf(b);
  return fa.bytes === fb.bytes && fa.since === fb.since;
}
