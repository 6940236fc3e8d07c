import type { PoolSnapshot } from '../ledger/ledger.js';
import { METRICS } from '../metrics/catalog.js';
import type { MetricsPorts } from '../metrics/publish.js';
import type { Sample } from '../metrics/series.js';
import { heldMemory, type HeldMemory } from './held-memory.js';

/** Where held GPU memory is kept per clock hour, and how far it has been metered (the ledger table). */
export interface UsageStore {
  /** The end of the last metered interval; undefined before the first pass. */
  meteredUntil(): Promise<number | undefined>;
  /** Moves the meter from `from` to `to` only if it is still at `from`: false when another pass did. */
  advanceMeter(from: number | undefined, to: number): Promise<boolean>;
  /** Adds to each record's hour (atomic increments: records of several passes add up). */
  add(records: readonly HeldMemory[]): Promise<void>;
  /** Every record of the hours from `sinceMs` on. */
  read(sinceMs: number): Promise<HeldMemory[]>;
}

/**
 * After a scheduled pass: counts the GPU memory each model held since the last pass. The meter is moved
 * (a conditional write) before anything is added, so an interval is counted at most once even if two
 * passes overlap or a Lambda stops halfway; the first pass ever only starts the meter.
 */
export async function meterHeldMemory(
  ports: { usage: UsageStore; metrics: MetricsPorts },
  pools: readonly PoolSnapshot[],
  pricePerNodeHour: (pool: string) => number | undefined,
): Promise<HeldMemory[]> {
  const now = ports.metrics.clock();
  await ports.metrics.series?.write(poolEconomicsSamples(pools, pricePerNodeHour, now));
  const from = await ports.usage.meteredUntil();
  if (from !== undefined && now <= from) return [];
  const records = from === undefined ? [] : heldMemory(pools, from, now);
  if (!(await ports.usage.advanceMeter(from, now))) return [];
  if (records.length === 0) return [];
  await ports.usage.add(records);
  await publishHeldMemory(ports.metrics, records, now);
  return records;
}

/** What PromQL needs to turn the byte-seconds counter into node-hours and cost (the showback dashboard). */
function poolEconomicsSamples(
  pools: readonly PoolSnapshot[],
  pricePerNodeHour: (pool: string) => number | undefined,
  now: number,
): Sample[] {
  return pools.flatMap((pool) => {
    const labels = { node_pool: pool.name };
    const price = pricePerNodeHour(pool.name);
    return [
      { metric: METRICS.nodeMemory, labels, value: pool.bytesPerNode, timestampMs: now },
      ...(price === undefined
        ? []
        : [{ metric: METRICS.nodeHourPrice, labels, value: price, timestampMs: now }]),
    ];
  });
}

/** The monotonic byte-seconds counter per pool, namespace and model, to CloudWatch and Prometheus (AMP). */
async function publishHeldMemory(
  ports: MetricsPorts,
  records: readonly HeldMemory[],
  now: number,
): Promise<void> {
  const perModel = new Map<string, { labels: Record<string, string>; byteSeconds: number }>();
  for (const record of records) {
    const labels = { node_pool: record.pool, namespace: record.namespace, model: record.model };
    const key = JSON.stringify(labels);
    const entry = perModel.get(key) ?? { labels, byteSeconds: 0 };
    entry.byteSeconds += record.byteSeconds;
    perModel.set(key, entry);
  }
  ports.operational.heldMemory(
    [...perModel.values()].map(({ labels, byteSeconds }) => ({
      pool: labels.node_pool!,
      namespace: labels.namespace!,
      model: labels.model!,
      byteSeconds,
    })),
  );
  if (!ports.series) return;
  const samples = await Promise.all(
    [...perModel.values()].map(async ({ labels, byteSeconds }) => ({
      metric: METRICS.heldByteSeconds,
      labels,
      value: await ports.counters.increment(METRICS.heldByteSeconds, labels, byteSeconds),
      timestampMs: now,
    })),
  );
  await ports.series.write(samples);
}
