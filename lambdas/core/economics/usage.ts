import { ApiError } from '../api/errors.js';
import { DurationError, parseDuration } from '../duration.js';
import { costOf, nodeHoursOfHeldMemory, sumCosts } from './cost.js';
import { hourOf, type HeldMemory } from './held-memory.js';

/** What the cost model needs of a pool: its node size (from the ledger) and its price (from `NODE_POOLS`). */
export interface PoolPricing {
  readonly name: string;
  readonly bytesPerNode: number;
  readonly pricePerNodeHour: number | undefined;
}

interface Usage {
  /** Node-hours the memory held fills; `null` for a pool the ledger no longer has. */
  readonly gpuNodeHours: number | null;
  /** USD; `null` when no held pool has a price (`NODE_POOLS` `pricePerNodeHour` or `instanceType`). */
  readonly cost: number | null;
}

export interface ModelUsage extends Usage {
  readonly model: string;
}

export interface PoolUsage extends Usage {
  readonly pool: string;
  readonly models: readonly ModelUsage[];
}

export interface NamespaceUsage extends Usage {
  readonly namespace: string;
  readonly pools: readonly PoolUsage[];
}

export interface UsageReport {
  /** The start of the first clock hour counted: usage is kept per hour. */
  readonly since: string;
  readonly until: string;
  readonly currency: 'USD';
  /** Most costly first. */
  readonly namespaces: readonly NamespaceUsage[];
}

export const DEFAULT_USAGE_WINDOW_MS = 24 * 3600 * 1000;
/** How far back `since` may reach: a window is read item by item, one per model and hour. */
export const MAX_USAGE_WINDOW_MS = 92 * 24 * 3600 * 1000;

/**
 * `since`: an RFC 3339 time (`2026-12-01T00:00:00Z`) or a duration back from now (`24h`, `90m`); absent,
 * the last 24 hours. Rounded down to the clock hour, the granularity usage is kept at.
 */
export function usageSince(since: string | undefined, now: number): number {
  if (since === undefined) return hourOf(now - DEFAULT_USAGE_WINDOW_MS);
  let start: number;
  if (/^\d{4}-\d{2}-\d{2}T/.test(since)) {
    start = Date.parse(since);
    if (Number.isNaN(start))
      throw new ApiError('invalid_request', `since: "${clip(since)}" is not an RFC 3339 time`);
  } else {
    try {
      start = now - parseDuration(since);
    } catch (error) {
      if (!(error instanceof DurationError)) throw error;
      throw new ApiError(
        'invalid_request',
        `since must be an RFC 3339 time (2026-12-01T00:00:00Z) or a duration back from now (24h, 90m); got "${clip(since)}"`,
      );
    }
  }
  if (start > now) throw new ApiError('invalid_request', 'since is in the future');
  if (now - start > MAX_USAGE_WINDOW_MS) {
    throw new ApiError(
      'invalid_request',
      `since reaches back more than ${MAX_USAGE_WINDOW_MS / 86_400_000} days`,
    );
  }
  return hourOf(start);
}

/** Held memory turned into GPU node-hours and cost per namespace, pool and model. */
export function usageReport(
  records: readonly HeldMemory[],
  pools: readonly PoolPricing[],
  sinceMs: number,
  untilMs: number,
): UsageReport {
  const pricing = new Map(pools.map((p) => [p.name, p]));
  const tree = new Map<string, Map<string, Map<string, number>>>();
  for (const record of records) {
    if (record.hourStartMs < sinceMs || record.hourStartMs >= untilMs) continue;
    const byPool = tree.get(record.namespace) ?? new Map<string, Map<string, number>>();
    const byModel = byPool.get(record.pool) ?? new Map<string, number>();
    byModel.set(record.model, (byModel.get(record.model) ?? 0) + record.byteSeconds);
    byPool.set(record.pool, byModel);
    tree.set(record.namespace, byPool);
  }
  const namespaces = [...tree].map(([namespace, byPool]) => {
    const poolUsages = [...byPool].map(([pool, byModel]) => {
      const models = [...byModel].map(([model, byteSeconds]) => ({
        model,
        ...priced(byteSeconds, pricing.get(pool)),
      }));
      return { pool, ...total(models), models: models.sort(costliest) };
    });
    return { namespace, ...total(poolUsages), pools: poolUsages.sort(costliest) };
  });
  return {
    since: new Date(sinceMs).toISOString(),
    until: new Date(untilMs).toISOString(),
    currency: 'USD',
    namespaces: namespaces.sort(costliest),
  };
}

function priced(byteSeconds: number, pool: PoolPricing | undefined): Usage {
  if (!pool) return { gpuNodeHours: null, cost: null };
  const hours = nodeHoursOfHeldMemory(byteSeconds, pool.bytesPerNode);
  return { gpuNodeHours: roundHours(hours), cost: costOf(hours, pool.pricePerNodeHour) ?? null };
}

function total(parts: readonly Usage[]): Usage {
  const hours = parts.map((p) => p.gpuNodeHours).filter((h): h is number => h !== null);
  return {
    gpuNodeHours: hours.length === 0 ? null : roundHours(hours.reduce((a, b) => a + b, 0)),
    cost: sumCosts(parts.map((p) => p.cost ?? undefined)) ?? null,
  };
}

function costliest(a: Usage, b: Usage): number {
  return (b.cost ?? 0) - (a.cost ?? 0) || (b.gpuNodeHours ?? 0) - (a.gpuNodeHours ?? 0);
}

function roundHours(hours: number): number {
  return Math.round(hours * 1000) / 1000;
}

function clip(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
