import fc from 'fast-check';
import { ApiError } from '../../../../lambdas/core/api/errors.js';
import { costOf, nodeHoursOfHeldMemory } from '../../../../lambdas/core/economics/cost.js';
import { heldMemory, type HeldMemory } from '../../../../lambdas/core/economics/held-memory.js';
import { meterHeldMemory, type UsageStore } from '../../../../lambdas/core/economics/metering.js';
import { pricePerNodeHour } from '../../../../lambdas/core/economics/prices.js';
import { usageReport, usageSince } from '../../../../lambdas/core/economics/usage.js';
import type { PoolSnapshot } from '../../../../lambdas/core/ledger/ledger.js';
import type { MetricsPorts } from '../../../../lambdas/core/metrics/publish.js';
import type { Sample } from '../../../../lambdas/core/metrics/series.js';
import { allocation, poolSnapshot } from '../../../support/builders.js';

const Gi = 2 ** 30;
const HOUR = 3_600_000;
const t0 = Date.UTC(2026, 11, 1, 10, 0, 0);

function pool(name: string, allocations: { holder: string; gib: number; since: number }[]): PoolSnapshot {
  return poolSnapshot(
    { name, nodeGroup: `${name}-ng`, totalBytes: 640 * Gi },
    allocations.map((a) => allocation(a.holder, a.gib * Gi, a.since)),
  );
}

class MemoryUsageStore implements UsageStore {
  until: number | undefined;
  readonly records: HeldMemory[] = [];
  async meteredUntil() {
    return this.until;
  }
  async advanceMeter(from: number | undefined, to: number) {
    if (this.until !== from) return false;
    this.until = to;
    return true;
  }
  async add(records: readonly HeldMemory[]) {
    this.records.push(...records);
  }
  async read(sinceMs: number) {
    return this.records.filter((r) => r.hourStartMs >= sinceMs);
  }
}

function metricsAt(clock: { now: number }) {
  const written: Sample[] = [];
  const cloudWatch: { model: string; byteSeconds: number }[] = [];
  const totals = new Map<string, number>();
  const ports: MetricsPorts = {
    operational: {
      reconcilePass: () => undefined,
      warmUpRejected: () => undefined,
      nodePools: () => undefined,
      heldMemory: (held) => void cloudWatch.push(...held),
    },
    series: { write: async (samples) => void written.push(...samples) },
    counters: {
      increment: async (metric, labels, by) => {
        const key = metric + JSON.stringify(labels);
        totals.set(key, (totals.get(key) ?? 0) + by);
        return totals.get(key)!;
      },
      observe: async () => {
        throw new Error('not used');
      },
    },
    clock: () => clock.now,
    controlPlane: 'test',
  };
  return { ports, written, cloudWatch };
}

describe('the cost model', () => {
  it('turns held memory into node-hours of the pool and node-hours into dollars', () => {
    // 40Gi held for 2 hours in 80Gi nodes fills one node-hour.
    expect(nodeHoursOfHeldMemory(40 * Gi * 7200, 80 * Gi)).toBe(1);
    expect(costOf(1.5, 32.77)).toBe(49.16);
    expect(costOf(1.5, undefined)).toBeUndefined();
  });

  it('prices a pool by its own price, else its instance type, else not at all', () => {
    expect(pricePerNodeHour({ instanceType: 'p5.48xlarge', pricePerNodeHour: 40 })).toBe(40);
    expect(pricePerNodeHour({ instanceType: 'g5.xlarge' })).toBe(1.006);
    expect(pricePerNodeHour({ instanceType: 'x9.unknown' })).toBeUndefined();
    expect(pricePerNodeHour({})).toBeUndefined();
  });
});

describe('heldMemory', () => {
  it('splits at clock hours, counts from the later of the interval and the allocation, and folds MoE replicas', () => {
    const pools = [
      pool('gpu-a100', [
        { holder: 'team-a/llama', gib: 16, since: t0 - HOUR },
        { holder: 'team-a/late', gib: 8, since: t0 + 30 * 60_000 },
        { holder: 'moe/trainer#0', gib: 10, since: t0 - HOUR },
        { holder: 'moe/trainer#1', gib: 10, since: t0 - HOUR },
      ]),
    ];
    const records = heldMemory(pools, t0 + 45 * 60_000, t0 + 75 * 60_000);
    const find = (model: string, hour: number) =>
      records.find((r) => r.model === model && r.hourStartMs === hour);
    expect(find('llama', t0)?.byteSeconds).toBe(16 * Gi * 15 * 60);
    expect(find('llama', t0 + HOUR)?.byteSeconds).toBe(16 * Gi * 15 * 60);
    expect(find('late', t0)?.byteSeconds).toBe(8 * Gi * 15 * 60);
    expect(find('trainer', t0)).toEqual({
      hourStartMs: t0,
      pool: 'gpu-a100',
      namespace: 'moe',
      model: 'trainer',
      byteSeconds: 20 * Gi * 15 * 60,
    });
    expect(records).toHaveLength(6);
  });

  it('is additive: metering in several passes counts what one pass over the whole interval counts', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ gib: fc.integer({ min: 1, max: 80 }), sinceMin: fc.integer({ min: -120, max: 300 }) }),
          {
            maxLength: 6,
          },
        ),
        fc.uniqueArray(fc.integer({ min: 1, max: 299 }), { maxLength: 8 }),
        (allocations, cuts) => {
          const pools = [
            pool(
              'p',
              allocations.map((a, i) => ({
                holder: `ns/m${i}`,
                gib: a.gib,
                since: t0 + a.sinceMin * 60_000,
              })),
            ),
          ];
          const bounds = [0, ...cuts.sort((a, b) => a - b), 300].map((m) => t0 + m * 60_000);
          const pieces = bounds.slice(1).flatMap((to, i) => heldMemory(pools, bounds[i]!, to));
          const whole = heldMemory(pools, t0, t0 + 300 * 60_000);
          const sum = (records: HeldMemory[]) => records.reduce((s, r) => s + r.byteSeconds, 0);
          expect(sum(pieces)).toBeCloseTo(sum(whole), 0);
          const expected = allocations.reduce(
            (s, a) => s + a.gib * Gi * (300 - Math.max(0, Math.min(300, a.sinceMin))) * 60,
            0,
          );
          expect(sum(whole)).toBeCloseTo(expected, 0);
        },
      ),
    );
  });
});

describe('meterHeldMemory', () => {
  const pools = [pool('gpu-a100', [{ holder: 'team-a/llama', gib: 40, since: t0 - HOUR }])];
  const price = (name: string) => (name === 'gpu-a100' ? 30 : undefined);
  const held = (samples: Sample[]) =>
    samples.filter((s) => s.metric === 'inference_budget_held_byte_seconds_total');

  it('starts the meter on the first pass, then counts each interval once and keeps the counter monotonic', async () => {
    const clock = { now: t0 };
    const usage = new MemoryUsageStore();
    const { ports, written, cloudWatch } = metricsAt(clock);
    expect(await meterHeldMemory({ usage, metrics: ports }, pools, price)).toEqual([]);
    expect(usage.until).toBe(t0);
    clock.now = t0 + 60_000;
    await meterHeldMemory({ usage, metrics: ports }, pools, price);
    clock.now = t0 + 120_000;
    await meterHeldMemory({ usage, metrics: ports }, pools, price);
    await meterHeldMemory({ usage, metrics: ports }, pools, price); // same time: nothing more
    expect(usage.records.reduce((s, r) => s + r.byteSeconds, 0)).toBe(40 * Gi * 120);
    expect(held(written).map((s) => s.value)).toEqual([40 * Gi * 60, 40 * Gi * 120]);
    expect(written).toContainEqual({
      metric: 'inference_node_pool_gpu_memory_per_node_bytes',
      labels: { node_pool: 'gpu-a100' },
      value: 80 * Gi,
      timestampMs: t0,
    });
    expect(written).toContainEqual({
      metric: 'inference_node_pool_price_per_node_hour_dollars',
      labels: { node_pool: 'gpu-a100' },
      value: 30,
      timestampMs: t0,
    });
    expect(held(written)[0]).toMatchObject({
      metric: 'inference_budget_held_byte_seconds_total',
      labels: { node_pool: 'gpu-a100', namespace: 'team-a', model: 'llama' },
    });
    expect(cloudWatch).toEqual([
      expect.objectContaining({ model: 'llama', byteSeconds: 40 * Gi * 60 }),
      expect.objectContaining({ model: 'llama', byteSeconds: 40 * Gi * 60 }),
    ]);
  });

  it('adds nothing when another pass moved the meter first (overlapping passes count once)', async () => {
    const clock = { now: t0 + 60_000 };
    const usage = new MemoryUsageStore();
    usage.until = t0;
    const racing = Object.assign(Object.create(usage) as MemoryUsageStore, {
      advanceMeter: async () => false,
    });
    const { ports, written } = metricsAt(clock);
    expect(await meterHeldMemory({ usage: racing, metrics: ports }, pools, price)).toEqual([]);
    expect(usage.records).toEqual([]);
    expect(held(written)).toEqual([]);
  });
});

describe('usage per namespace', () => {
  const now = t0 + 30 * 60_000;

  it('reads since as an RFC 3339 time or a duration back, rounded down to the hour', () => {
    expect(usageSince('2026-12-01T08:20:00Z', now)).toBe(t0 - 2 * HOUR);
    expect(usageSince('90m', now)).toBe(t0 - HOUR);
    expect(usageSince(undefined, now)).toBe(t0 - 24 * HOUR);
  });

  it.each([
    ['yesterday', /since must be an RFC 3339 time .* got "yesterday"/],
    ['2026-13-45T00:00:00Z', /is not an RFC 3339 time/],
    ['2027-01-01T00:00:00Z', /since is in the future/],
    ['2999h', /more than 92 days/],
  ])('refuses since=%s with a 400', (since, message) => {
    let error: unknown;
    try {
      usageSince(since, now);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).message).toMatch(message);
  });

  it('gives node-hours and cost per namespace, pool and model, costliest first', () => {
    const records: HeldMemory[] = [
      // team-a: 40Gi of an 80Gi node for 2 hours = 1 node-hour of gpu-a100 at $30.
      {
        hourStartMs: t0 - HOUR,
        pool: 'gpu-a100',
        namespace: 'team-a',
        model: 'llama',
        byteSeconds: 40 * Gi * 3600,
      },
      { hourStartMs: t0, pool: 'gpu-a100', namespace: 'team-a', model: 'llama', byteSeconds: 40 * Gi * 3600 },
      // team-b: a full 24Gi L4 node for an hour at $0.80, and a pool with no price.
      { hourStartMs: t0, pool: 'gpu-l4', namespace: 'team-b', model: 'phi', byteSeconds: 24 * Gi * 3600 },
      { hourStartMs: t0, pool: 'unpriced', namespace: 'team-b', model: 'qwen', byteSeconds: 80 * Gi * 1800 },
      // before the window: not counted
      { hourStartMs: t0 - 5 * HOUR, pool: 'gpu-a100', namespace: 'team-c', model: 'old', byteSeconds: Gi },
    ];
    const report = usageReport(
      records,
      [
        { name: 'gpu-a100', bytesPerNode: 80 * Gi, pricePerNodeHour: 30 },
        { name: 'gpu-l4', bytesPerNode: 24 * Gi, pricePerNodeHour: 0.8 },
        { name: 'unpriced', bytesPerNode: 80 * Gi, pricePerNodeHour: undefined },
      ],
      t0 - 2 * HOUR,
      now,
    );
    expect(report).toEqual({
      since: '2026-12-01T08:00:00.000Z',
      until: '2026-12-01T10:30:00.000Z',
      currency: 'USD',
      namespaces: [
        {
          namespace: 'team-a',
          gpuNodeHours: 1,
          cost: 30,
          pools: [
            {
              pool: 'gpu-a100',
              gpuNodeHours: 1,
              cost: 30,
              models: [{ model: 'llama', gpuNodeHours: 1, cost: 30 }],
            },
          ],
        },
        {
          namespace: 'team-b',
          gpuNodeHours: 1.5,
          cost: 0.8,
          pools: [
            {
              pool: 'gpu-l4',
              gpuNodeHours: 1,
              cost: 0.8,
              models: [{ model: 'phi', gpuNodeHours: 1, cost: 0.8 }],
            },
            {
              pool: 'unpriced',
              gpuNodeHours: 0.5,
              cost: null,
              models: [{ model: 'qwen', gpuNodeHours: 0.5, cost: null }],
            },
          ],
        },
      ],
    });
  });
});
