import {
  DAY_START_MS,
  defaultDay,
  expectedRequests,
  officeHours,
} from '../../../simulation/economics/default-day.js';
import type { TraceRequest } from '../../../simulation/economics/scenario.js';

async function trace(options: { seed?: number; requestsPerDay?: number } = {}): Promise<TraceRequest[]> {
  const requests: TraceRequest[] = [];
  for await (const request of defaultDay(options).openTrace()) requests.push(request);
  return requests;
}

describe('the default day', () => {
  it('is 20 models in 3 pools, every one admitted by the webhook rules, each pool priced', () => {
    const day = defaultDay();
    expect(day.models).toHaveLength(20);
    expect(day.pools.map((p) => [p.config.name, p.config.instanceType, p.pricePerNodeHour])).toEqual([
      ['gpu-h100', 'p5.48xlarge', 55.04],
      ['gpu-l40s', 'g6e.12xlarge', 10.49],
      ['gpu-l4', 'g6.xlarge', 0.805],
    ]);
    expect(day.window).toEqual({ startMs: DAY_START_MS, endMs: DAY_START_MS + 24 * 3_600_000 });
  });

  it('is reproducible: the same seed gives the same trace, another seed another one', async () => {
    const first = await trace();
    expect(await trace()).toEqual(first);
    expect((await trace({ seed: 7 })).slice(0, 50)).not.toEqual(first.slice(0, 50));
  });

  it('is in time order within the day, with quiet nights, busy office hours and a long tail', async () => {
    const requests = await trace();
    expect(requests.every((r, i) => i === 0 || r.atMs >= requests[i - 1]!.atMs)).toBe(true);
    expect(requests[0]!.atMs).toBeGreaterThanOrEqual(DAY_START_MS);
    expect(requests.at(-1)!.atMs).toBeLessThan(DAY_START_MS + 24 * 3_600_000);
    const hourOf = (r: TraceRequest) => Math.floor((r.atMs - DAY_START_MS) / 3_600_000);
    const night = requests.filter((r) => hourOf(r) < 6).length;
    const office = requests.filter((r) => hourOf(r) >= 10 && hourOf(r) < 16).length;
    expect(office).toBeGreaterThan(50 * night);
    const perModel = new Map<string, number>();
    for (const r of requests) perModel.set(r.name, (perModel.get(r.name) ?? 0) + 1);
    expect(perModel.size).toBe(20);
    expect([...perModel.values()].filter((n) => n <= 6)).toHaveLength(8);
    expect(requests.length).toBeGreaterThan(0.95 * expectedRequests(1));
    expect(requests.length).toBeLessThan(1.05 * expectedRequests(1));
  });

  it('scales to a requested size (the bench asks for a million)', async () => {
    let count = 0;
    for await (const _ of defaultDay({ requestsPerDay: 200_000 }).openTrace()) count++;
    expect(count).toBeGreaterThan(190_000);
    expect(count).toBeLessThan(210_000);
  });

  it('follows office hours: near zero at night, full from 10:00 to 17:00 UTC', () => {
    expect(officeHours(3 * 60)).toBeLessThan(0.01);
    expect(officeHours(12 * 60)).toBe(1);
    expect(officeHours(9 * 60)).toBeGreaterThan(0.2);
    expect(officeHours(9 * 60)).toBeLessThan(0.8);
  });
});
