import type { AdmissionQueue, EnqueueRequest, QueueEntry } from './model.js';
import { queueOrder } from './model.js';

/** The queue's rules over plain memory: the simulated world's store and the reference for DynamoDB's. */
export class InMemoryAdmissionQueue implements AdmissionQueue {
  private readonly entries = new Map<string, QueueEntry>();

  copy(): InMemoryAdmissionQueue {
    const copy = new InMemoryAdmissionQueue();
    for (const [key, entry] of this.entries) copy.entries.set(key, entry);
    return copy;
  }

  async enqueue(request: EnqueueRequest): Promise<QueueEntry> {
    const key = keyOf(request.pool, request.holder);
    const existing = this.entries.get(key);
    const entry: QueueEntry = {
      pool: request.pool,
      holder: request.holder,
      priority: request.priority,
      bytes: request.bytes,
      enqueuedAt: existing?.enqueuedAt ?? request.at,
      lastRequestAt: Math.max(existing?.lastRequestAt ?? 0, request.at),
    };
    this.entries.set(key, entry);
    return entry;
  }

  async list(pool: string): Promise<QueueEntry[]> {
    return this.entriesOf(pool);
  }

  /** The pool's line now, without waiting: for observers that must not yield (the simulation's checks). */
  entriesOf(pool: string): QueueEntry[] {
    return queueOrder([...this.entries.values()].filter((e) => e.pool === pool));
  }

  async remove(request: { pool: string; holder: string; enqueuedAt: number }): Promise<boolean> {
    const key = keyOf(request.pool, request.holder);
    if (this.entries.get(key)?.enqueuedAt !== request.enqueuedAt) return false;
    this.entries.delete(key);
    return true;
  }
}

function keyOf(pool: string, holder: string): string {
  return `${pool}\u0000${holder}`;
}
