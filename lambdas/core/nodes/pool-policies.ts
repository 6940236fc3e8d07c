import { DurationError, parseDuration } from '../duration.js';
import { printable } from '../ledger/rules.js';

/** What a full pool may do for a warm-up instead of refusing it (docs/node-pools.md). */
export interface PoolPolicy {
  /** Evict Ready models idle at least `minIdleMs` (per model: spec.evictionMinIdle) of no higher priority. */
  readonly eviction?: { readonly enabled: boolean; readonly minIdleMs: number };
  /** Let warm-ups wait in line; `byDefault` when `?queue` is absent. Entries expire `expireAfterMs` after the model's last request. */
  readonly queue?: { readonly byDefault: boolean; readonly expireAfterMs: number };
}

export const DEFAULT_MIN_IDLE_MS = 5 * 60_000;
export const DEFAULT_QUEUE_EXPIRY_MS = 10 * 60_000;

/** Raised with the setting's path in the message; node-pools.ts turns it into its own error type. */
export class PoolPolicyError extends Error {
  override readonly name = 'PoolPolicyError';
}

/** `eviction: {enabled, minIdle}` and `queue: {default, expireAfter}` of one NODE_POOLS entry. */
export function parsePoolPolicy(record: Record<string, unknown>, where: string): PoolPolicy {
  return {
    ...(record.eviction !== undefined && { eviction: parseEviction(record.eviction, `${where}.eviction`) }),
    ...(record.queue !== undefined && { queue: parseQueue(record.queue, `${where}.queue`) }),
  };
}

function parseEviction(value: unknown, where: string): NonNullable<PoolPolicy['eviction']> {
  const record = object(value, where, ['enabled', 'minIdle']);
  return {
    enabled: flag(record, 'enabled', where, false),
    minIdleMs: duration(record, 'minIdle', where, DEFAULT_MIN_IDLE_MS),
  };
}

function parseQueue(value: unknown, where: string): NonNullable<PoolPolicy['queue']> {
  const record = object(value, where, ['default', 'expireAfter']);
  const expireAfterMs = duration(record, 'expireAfter', where, DEFAULT_QUEUE_EXPIRY_MS);
  if (expireAfterMs === 0) throw new PoolPolicyError(`${where}.expireAfter must be more than zero`);
  return { byDefault: flag(record, 'default', where, false), expireAfterMs };
}

function object(value: unknown, where: string, fields: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PoolPolicyError(`${where} must be an object with ${fields.join(', ')}`);
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).find((key) => !fields.includes(key));
  if (unknown !== undefined) {
    throw new PoolPolicyError(
      `${where}.${printable(unknown)} is not a field (expected ${fields.join(', ')})`,
    );
  }
  return record;
}

function flag(record: Record<string, unknown>, field: string, where: string, fallback: boolean): boolean {
  const value = record[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new PoolPolicyError(`${where}.${field} must be true or false, got ${printable(value)}`);
  }
  return value;
}

function duration(record: Record<string, unknown>, field: string, where: string, fallback: number): number {
  const value = record[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    throw new PoolPolicyError(`${where}.${field} must be a duration such as 5m, got ${printable(value)}`);
  }
  try {
    return parseDuration(value);
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
    throw new PoolPolicyError(`${where}.${field}: ${error.message}`);
  }
}
