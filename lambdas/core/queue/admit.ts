import { formatDuration } from '../duration.js';
import { holderOf, poolOf, type ModelRef } from '../inference-model.js';
import type { ReconcilePorts } from '../reconcile/ports.js';
import { event, fields, messageOf } from '../reconcile/effects.js';
import { isReady } from '../reconcile/view.js';
import { allocateFor, queueExpiryMsOf, scaleUp } from '../warmup/warm-up.js';
import type { QueueEntry } from './model.js';

/**
 * Admits a pool's queued warm-ups in order (priority, then arrival) while the pool has room for the
 * head of the line, with the same fenced allocation as a warm-up; a head that does not fit stops the
 * walk, so nothing behind it takes the room it waits for (no backfill). Entries whose model is gone,
 * moved, disabled or already starting leave the line; so do those without a request for the pool's
 * `expireAfter`. Never evicts: only a warm-up does. Returns how many still wait.
 */
export async function admitQueued(ports: ReconcilePorts, pool: string, now: number): Promise<number> {
  const queue = ports.queue;
  if (!queue) return 0;
  const entries = await queue.list(pool);
  let waiting = entries.length;
  for (const entry of entries) {
    const outcome = await admitOne(ports, entry, now);
    if (outcome === 'waits') break;
    if (await queue.remove(entry)) waiting -= 1;
  }
  return waiting;
}

type Outcome = 'admitted' | 'left' | 'waits';

async function admitOne(ports: ReconcilePorts, entry: QueueEntry, now: number): Promise<Outcome> {
  const ref = refOf(entry.holder);
  const model = await ports.cluster.getModel(ref);
  if (!model || model.deleting || poolOf(model) !== entry.pool || model.spec.maxReplicas === 0) {
    ports.log.info('Queued warm-up dropped', { ...fields(ref), nodePool: entry.pool });
    return 'left';
  }
  const waitedForRequest = now - entry.lastRequestAt;
  if (waitedForRequest > queueExpiryMsOf(ports, entry.pool)) {
    ports.log.info('Queued warm-up expired', {
      ...fields(ref),
      nodePool: entry.pool,
      lastRequest: formatDuration(waitedForRequest),
    });
    await event(
      ports,
      model,
      'Normal',
      'QueueExpired',
      `Left the admission queue of pool ${entry.pool}: no request for ${formatDuration(waitedForRequest)}`,
    );
    return 'left';
  }
  const deployment = await ports.cluster.getManagedDeployment(ref);
  if (deployment && deployment.replicas > 0) return 'left'; // started another way meanwhile
  const held = await allocateFor(ports, model, deployment, now);
  // No room; or a concurrent release took what it found held: the next walk tries again.
  if (!held || 'insufficient' in held) return 'waits';
  const dependencies = await Promise.all(
    model.spec.dependencies.map((name) =>
      ports.cluster.getManagedDeployment({ namespace: ref.namespace, name }),
    ),
  );
  try {
    // With dependencies still down, the allocation marks the intent: passes warm them, then this model.
    if (dependencies.every(isReady) && !(await scaleUp(ports, model, deployment, held, now))) {
      return 'waits'; // a scale-down released what it claimed: the next walk allocates afresh
    }
  } catch (error) {
    ports.log.error('Scale-up failed', { ...fields(model), error: messageOf(error) });
  }
  ports.log.info('Admitted from the admission queue', {
    ...fields(model),
    nodePool: entry.pool,
    waited: formatDuration(now - entry.enqueuedAt),
    holder: holderOf(model),
  });
  return 'admitted';
}

function refOf(holder: string): ModelRef {
  const [namespace, name] = holder.split('/') as [string, string];
  return { namespace, name };
}
