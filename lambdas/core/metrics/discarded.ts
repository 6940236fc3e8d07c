import type { MetricsPorts } from './publish.js';

/** Metrics that go nowhere: for the simulated world and for tests that measure something else. */
export function discardedMetrics(clock: () => number, controlPlane: string): MetricsPorts {
  return {
    operational: {
      reconcilePass: () => undefined,
      warmUpRejected: () => undefined,
      nodePools: () => undefined,
      heldMemory: () => undefined,
    },
    series: undefined,
    counters: {
      increment: async () => 0,
      observe: async () => ({ buckets: [], counts: [], sum: 0, count: 0 }),
    },
    clock,
    controlPlane,
  };
}
