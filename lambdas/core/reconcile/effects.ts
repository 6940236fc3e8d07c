import { formatDuration } from '../duration.js';
import type { AllocateResult } from '../ledger/ledger.js';
import { fenceOf } from '../ledger/rules.js';
import { formatQuantity } from '../quantity.js';
import { holderOf, poolOf, type InferenceModel, type ModelRef } from '../inference-model.js';
import { type ManagedDeployment, type ReconcilePorts } from './ports.js';
import { deriveStatus, statusUnchanged, type Hold } from './status.js';
import type { Holding } from './view.js';

// The effects every action shares: ledger calls with their seed log lines, Events, and the status write.

export async function allocate(
  ports: ReconcilePorts,
  model: InferenceModel,
  bytes: number,
  now: number,
): Promise<AllocateResult> {
  const pool = poolOf(model);
  const result = await ports.ledger.allocate({ pool, holder: holderOf(model), bytes, now });
  if (result.outcome === 'allocated') {
    ports.log.info('Memory budget allocated', {
      ...fields(model),
      memory: model.spec.memory,
      nodePool: pool,
    });
    await event(ports, model, 'Normal', 'MemoryAllocated', `Allocated ${model.spec.memory} in pool ${pool}`);
  }
  return result;
}

/** Releases exactly the allocation the caller read: a claim or a resize since then keeps it. */
export async function releaseHolding(
  ports: ReconcilePorts,
  ref: ModelRef,
  holding: Holding,
  reason: string,
): Promise<boolean> {
  const { allocation, pool } = holding;
  const result = await ports.ledger.release({ pool, holder: holderOf(ref), fence: fenceOf(allocation) });
  if (result.released) {
    ports.log.info('Memory budget released', {
      ...fields(ref),
      reason,
      memory: formatQuantity(result.bytes),
      nodePool: pool,
    });
  }
  return result.released;
}

export async function reportInsufficient(
  ports: ReconcilePorts,
  model: InferenceModel,
  result: Extract<AllocateResult, { outcome: 'insufficient' }>,
  logMessage: string,
): Promise<Hold> {
  const blockers = result.blocking.map(
    (b) => `${b.holder} (${formatQuantity(b.bytes)}, idle ${formatDuration(b.idleMs)})`,
  );
  const message =
    `needs ${model.spec.memory} in pool ${poolOf(model)}, ${formatQuantity(result.availableBytes)} free` +
    (blockers.length > 0 ? `; blocked by ${blockers.join(', ')}` : '; larger than the whole pool');
  ports.log.info(logMessage, {
    ...fields(model),
    memory: model.spec.memory,
    nodePool: poolOf(model),
    blocking: result.blocking.length,
  });
  await event(ports, model, 'Warning', 'InsufficientMemory', message);
  return { reason: 'InsufficientMemory', message };
}

export async function writeStatus(
  ports: ReconcilePorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  hold: Hold | undefined,
  now: number,
): Promise<void> {
  const status = deriveStatus(model, deployment, hold, now);
  if (statusUnchanged(model, status)) return;
  await ports.cluster.patchStatus(model, status);
  if (status.ready && !model.status.ready) ports.log.info('Model is now ready', fields(model));
}

/** Events explain decisions; losing one must not undo or repeat the decision itself. */
export async function event(
  ports: ReconcilePorts,
  model: ModelRef,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  try {
    await ports.cluster.emitEvent({ model, type, reason, message });
  } catch (error) {
    ports.log.warn('Could not record event', { ...fields(model), reason, error: messageOf(error) });
  }
}

export function fields(model: ModelRef): Record<string, string> {
  return { model: model.name, namespace: model.namespace };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
