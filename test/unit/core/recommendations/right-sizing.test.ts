import fc from 'fast-check';
import { ownerOfPod, peakMemoryQuery } from '../../../../lambdas/adapters/prometheus-peak-memory.js';
import {
  observeModels,
  observedStatus,
  type PeakMemorySource,
} from '../../../../lambdas/core/recommendations/observe.js';
import {
  formatPeakForPeople,
  formatPeakQuantity,
  recommendationMessage,
  rightSize,
} from '../../../../lambdas/core/recommendations/right-sizing.js';
import type { InferenceModel, ModelRef } from '../../../../lambdas/core/inference-model.js';
import { inferenceModel } from '../../../support/builders.js';
import { FakeCluster, RecordingLog } from '../../../support/fake-cluster.js';

const Mi = 2 ** 20;
const Gi = 2 ** 30;
const SEED_MESSAGE = 'Consider reducing memory from 80Gi to 78Gi (observed peak 75Gi, 6% overprovisioned)';

describe('recommendationMessage', () => {
  it("writes the seed's example word for word", () => {
    expect(
      recommendationMessage({
        direction: 'down',
        declaredBytes: 80 * Gi,
        recommendedBytes: 78 * Gi,
        peakBytes: 75 * Gi,
      }),
    ).toBe(SEED_MESSAGE);
  });
});

describe('rightSize', () => {
  it.each([
    // [case, declared, peak, observedPeakMemory, utilizationPercent, recommendation]
    [
      "the seed's status (75Gi of 80Gi: 93%); SPEC's rules say up, 75Gi × 1.1 = 82.5Gi > 80Gi",
      80 * Gi,
      75 * Gi,
      '75Gi',
      93,
      'Consider increasing memory from 80Gi to 83Gi (observed peak 75Gi, within 10% of the limit: OOM risk)',
    ],
    [
      'down: 60Gi of 80Gi',
      80 * Gi,
      60 * Gi,
      '60Gi',
      75,
      'Consider reducing memory from 80Gi to 66Gi (observed peak 60Gi, 25% overprovisioned)',
    ],
    ['utilization exactly 0.9: nothing', 200 * Gi, 180 * Gi, '180Gi', 90, undefined],
    [
      'utilization just under 0.9: down',
      200 * Gi,
      180 * Gi - Mi,
      '184319Mi',
      89,
      'Consider reducing memory from 200Gi to 198Gi (observed peak 180Gi, 10% overprovisioned)',
    ],
    ['peak × 1.1 exactly the declared size: nothing', 110 * Gi, 100 * Gi, '100Gi', 90, undefined],
    [
      'peak × 1.1 just over the declared size: up',
      110 * Gi,
      100 * Gi + Mi,
      '102401Mi',
      90,
      'Consider increasing memory from 110Gi to 111Gi (observed peak 100Gi, within 10% of the limit: OOM risk)',
    ],
    [
      'near the limit: up',
      16 * Gi,
      15 * Gi,
      '15Gi',
      93,
      'Consider increasing memory from 16Gi to 17Gi (observed peak 15Gi, within 10% of the limit: OOM risk)',
    ],
    [
      'above the limit: up, utilization capped at 100',
      16 * Gi,
      16589 * Mi,
      '16589Mi',
      100,
      'Consider increasing memory from 16Gi to 18Gi (observed peak 16.2Gi, above the limit: OOM risk)',
    ],
    ['in the band between the rules (90.6%)', 80 * Gi, 74240 * Mi, '74240Mi', 90, undefined],
    ['under 0.9 but the rounded size is the declared one', 80 * Gi, 73625 * Mi, '73625Mi', 89, undefined],
    [
      'under 0.9 but a declared 1536Mi rounds up past itself (2Gi)',
      1536 * Mi,
      1331 * Mi,
      '1331Mi',
      86,
      undefined,
    ],
    [
      'a peak under 1Gi',
      4 * Gi,
      512 * Mi,
      '512Mi',
      12,
      'Consider reducing memory from 4Gi to 1Gi (observed peak 512Mi, 87% overprovisioned)',
    ],
    [
      'a peak of zero (a GPU held but unused): at least 1Gi',
      80 * Gi,
      0,
      '0Mi',
      0,
      'Consider reducing memory from 80Gi to 1Gi (observed peak 0Mi, 100% overprovisioned)',
    ],
    [
      'a declared size that is not whole Gi',
      81920 * Mi + 512 * Mi,
      60 * Gi,
      '60Gi',
      74,
      'Consider reducing memory from 82432Mi to 66Gi (observed peak 60Gi, 25% overprovisioned)',
    ],
  ])('%s', (_case, declared, peak, observedPeakMemory, utilizationPercent, recommendation) => {
    const sizing = rightSize(declared, peak);
    expect(sizing.observedPeakMemory).toBe(observedPeakMemory);
    expect(sizing.utilizationPercent).toBe(utilizationPercent);
    expect(sizing.recommendation).toBe(recommendation);
  });

  it.each([
    ['no peak', undefined],
    ['NaN', NaN],
    ['a negative peak', -1],
    ['Infinity', Infinity],
  ])('%s: every field empty, nothing invented', (_case, peak) => {
    expect(rightSize(80 * Gi, peak)).toEqual({});
  });

  it('an unreadable declared size reports the peak only', () => {
    expect(rightSize(undefined, 75 * Gi)).toEqual({ observedPeakMemory: '75Gi' });
    expect(rightSize(0, 75 * Gi)).toEqual({ observedPeakMemory: '75Gi' });
  });

  it('gives advice for code alongside the words', () => {
    expect(rightSize(80 * Gi, 60 * Gi).advice).toEqual({ direction: 'down', recommendedBytes: 66 * Gi });
    expect(rightSize(16 * Gi, 15 * Gi).advice).toEqual({ direction: 'up', recommendedBytes: 17 * Gi });
    expect(rightSize(80 * Gi, 74240 * Mi).advice).toBeUndefined();
  });

  it('follows the rules for any sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 * 1024 * 1024 }),
        fc.integer({ min: 0, max: 4 * 1024 * 1024 }),
        (declaredMi, peakMi) => {
          const declared = declaredMi * Mi;
          const peak = peakMi * Mi;
          const sizing = rightSize(declared, peak);
          expect(sizing.utilizationPercent).toBeGreaterThanOrEqual(0);
          expect(sizing.utilizationPercent).toBeLessThanOrEqual(100);
          const advice = sizing.advice;
          expect(advice === undefined).toBe(sizing.recommendation === undefined);
          if (!advice) {
            expect(peak * 11 > declared * 10).toBe(false);
            return;
          }
          expect(advice.recommendedBytes % Gi).toBe(0);
          expect(advice.recommendedBytes).toBeGreaterThanOrEqual(peak * 1.1 - 1);
          expect(advice.recommendedBytes - Gi).toBeLessThan(Math.max(peak * 1.1, Gi));
          if (advice.direction === 'up') {
            expect(peak * 11 > declared * 10).toBe(true);
            expect(advice.recommendedBytes).toBeGreaterThan(declared);
          } else {
            expect(peak * 10 < declared * 9).toBe(true);
            expect(advice.recommendedBytes).toBeLessThan(declared);
          }
        },
      ),
    );
  });
});

describe('peak formatting', () => {
  it.each([
    [75 * Gi, '75Gi', '75Gi'],
    [16589 * Mi, '16589Mi', '16.2Gi'],
    [16 * Gi + 60 * Mi, '16444Mi', '16.1Gi'],
    [Gi - Mi, '1023Mi', '1023Mi'],
    [75 * Gi - Mi, '76799Mi', '75Gi'],
    [1.5 * 2 ** 40, '1536Gi', '1536Gi'],
    [100 * Mi + 1, '101Mi', '101Mi'],
  ])('%d bytes: status %s, sentence %s', (bytes, quantity, words) => {
    expect(formatPeakQuantity(bytes)).toBe(quantity);
    expect(formatPeakForPeople(bytes)).toBe(words);
  });
});

describe('observedStatus', () => {
  const now = Date.parse('2025-01-01T12:00:00Z');
  const window = 3600;
  const withStatus = (status: InferenceModel['status'], memory = '80Gi') => {
    const model = inferenceModel('llama-2-7b', { memory });
    model.status = status;
    return model;
  };
  const observed = {
    observedPeakMemory: '60Gi',
    utilizationPercent: 75,
    recommendation: 'Consider reducing memory from 80Gi to 66Gi (observed peak 60Gi, 25% overprovisioned)',
  };

  it('writes the three fields and lastObservation on the first observation', () => {
    expect(observedStatus(withStatus({}), 60 * Gi, window, now)).toEqual({
      ...observed,
      lastObservation: '2025-01-01T12:00:00Z',
    });
  });

  it('writes nothing when nothing changed and lastObservation is younger than the window', () => {
    const model = withStatus({ ...observed, lastObservation: '2025-01-01T11:00:01Z' });
    expect(observedStatus(model, 60 * Gi, window, now)).toBeUndefined();
  });

  it('refreshes lastObservation once it is a window old', () => {
    const model = withStatus({ ...observed, lastObservation: '2025-01-01T11:00:00Z' });
    expect(observedStatus(model, 60 * Gi, window, now)).toEqual({
      ...observed,
      lastObservation: '2025-01-01T12:00:00Z',
    });
  });

  it('writes at once when the peak, or the declared size, changes', () => {
    const fresh = { ...observed, lastObservation: '2025-01-01T11:59:00Z' };
    expect(observedStatus(withStatus(fresh), 61 * Gi, window, now)?.observedPeakMemory).toBe('61Gi');
    expect(observedStatus(withStatus(fresh, '64Gi'), 60 * Gi, window, now)).toMatchObject({
      utilizationPercent: 93,
      lastObservation: '2025-01-01T12:00:00Z',
    });
  });

  it('clears the three fields when the data is gone, keeping lastObservation, then writes nothing', () => {
    const model = withStatus({ ...observed, lastObservation: '2025-01-01T11:00:00Z' });
    const cleared = observedStatus(model, undefined, window, now);
    expect(cleared).toEqual({
      observedPeakMemory: undefined,
      utilizationPercent: undefined,
      recommendation: undefined,
    });
    expect(Object.keys(cleared ?? {})).toEqual([
      'observedPeakMemory',
      'utilizationPercent',
      'recommendation',
    ]);
    expect(
      observedStatus(withStatus({ lastObservation: '2025-01-01T11:00:00Z' }), undefined, window, now),
    ).toBe(undefined);
    expect(observedStatus(withStatus({}), undefined, window, now)).toBeUndefined();
  });
});

describe('observeModels', () => {
  class StubPeaks implements PeakMemorySource {
    readonly calls: { models: ModelRef[]; windowSeconds: number; atMs: number }[] = [];
    constructor(private readonly peaks: Map<string, number> | Error) {}
    async peakBytes(models: readonly ModelRef[], windowSeconds: number, atMs: number) {
      this.calls.push({ models: [...models], windowSeconds, atMs });
      if (this.peaks instanceof Error) throw this.peaks;
      return this.peaks;
    }
  }
  const now = Date.parse('2025-01-01T12:00:00Z');

  function setUp(peaks: Map<string, number> | Error) {
    const cluster = new FakeCluster();
    cluster.put(inferenceModel('a', { memory: '80Gi' }));
    cluster.put(inferenceModel('b', { memory: '16Gi' }));
    const gone = cluster.put({ ...inferenceModel('gone'), deleting: true });
    const source = new StubPeaks(peaks);
    const log = new RecordingLog();
    const ports = { cluster, peaks: source, clock: () => now, log };
    return { cluster, source, log, ports, gone };
  }

  it('asks once for every model not being deleted, and patches those that changed', async () => {
    const { cluster, source, ports, log } = setUp(new Map([['ml/a', 60 * Gi]]));
    const report = await observeModels(ports, await cluster.listModels(), 600);
    expect(source.calls).toEqual([
      {
        models: [
          { namespace: 'ml', name: 'a' },
          { namespace: 'ml', name: 'b' },
        ],
        windowSeconds: 600,
        atMs: now,
      },
    ]);
    expect(report).toEqual({ models: 2, withData: 1, patched: ['ml/a'], errors: [] });
    expect(cluster.model({ namespace: 'ml', name: 'a' })?.status).toMatchObject({
      observedPeakMemory: '60Gi',
      utilizationPercent: 75,
      lastObservation: '2025-01-01T12:00:00Z',
    });
    expect(log.messages()).toEqual(['Right-sizing recommendation']);

    cluster.calls.length = 0;
    const again = await observeModels(ports, await cluster.listModels(), 600);
    expect(again.patched).toEqual([]);
    expect(cluster.calls.filter((c) => c === 'patchStatus')).toEqual([]);
  });

  it('leaves every status alone when the query fails', async () => {
    const { cluster, ports, log } = setUp(new Error('connection refused'));
    const before = structuredClone([...cluster.models.values()]);
    const report = await observeModels(ports, await cluster.listModels(), 600);
    expect(report.queryError).toBe('connection refused');
    expect([...cluster.models.values()]).toEqual(before);
    expect(log.lines).toEqual([
      { level: 'error', message: 'Peak memory query failed', fields: { error: 'connection refused' } },
    ]);
  });

  it('asks nothing when every model is being deleted', async () => {
    const { source, ports, gone } = setUp(new Map());
    expect(await observeModels(ports, [gone], 600)).toEqual({
      models: 0,
      withData: 0,
      patched: [],
      errors: [],
    });
    expect(source.calls).toEqual([]);
  });

  it('reports a failed patch and goes on with the others', async () => {
    const { cluster, ports } = setUp(
      new Map([
        ['ml/a', 60 * Gi],
        ['ml/b', 15 * Gi],
      ]),
    );
    const patchStatus = cluster.patchStatus.bind(cluster);
    cluster.patchStatus = async (model, status) => {
      if (model.name === 'a') throw new Error('conflict');
      return patchStatus(model, status);
    };
    const report = await observeModels(ports, await cluster.listModels(), 600);
    expect(report.errors).toEqual([{ model: 'ml/a', message: 'conflict' }]);
    expect(report.patched).toEqual(['ml/b']);
  });
});

describe('PrometheusPeakMemory: pods to models', () => {
  const names = new Set(['llama', 'llama-2', 'llama-2-7b']);

  it.each([
    ['llama-2-7b-6d4f9c8b7-x2x9z', 'llama-2-7b'],
    ['llama-2-5c7d9b6f84-bcdfg', 'llama-2'],
    ['llama-85b6c4f7d-q9w8r', 'llama'],
    ['llama-2-7b-6d4f-x2x9z', 'llama-2-7b'], // a short hash (a uint32 under 10000)
    ['llama-2-7b-6d4f9c8b7-x2a9z', undefined], // 'a' is never in a generated name
    ['llama-85b6c4f7d', undefined], // not a Deployment's pod
    ['llama-0', undefined], // a StatefulSet's
    ['mistral-85b6c4f7d-q9w8r', undefined], // not a model asked for
    ['llama-2-7b-6d4f9c8b7-x2x9z-extra', undefined],
  ])('%s belongs to %s', (pod, owner) => expect(ownerOfPod(pod, names)).toBe(owner));

  it('finds the model of a pod whose generated name Kubernetes cut to 63 characters', () => {
    const long = 'meta-llama-3-1-70b-instruct-awq-int4-tp4-canary-v2'; // 50 characters
    const pod = `${`${long}-6d4f9c8b7-`.slice(0, 58)}x2x9z`;
    expect(pod).toHaveLength(63);
    expect(ownerOfPod(pod, new Set([long, 'meta-llama-3-1-70b']))).toBe(long);
    const longer = `${long}-and-then-some-more`; // 69 characters: the cut is inside the name
    const cut = `${`${longer}-6d4f9c8b7-`.slice(0, 58)}q9w8r`;
    expect(ownerOfPod(cut, new Set([longer]))).toBe(longer);
    // Two models the cut makes indistinguishable: neither gets the pod.
    expect(ownerOfPod(cut, new Set([longer, `${longer}-2`]))).toBeUndefined();
  });

  it('gives no cut pod to a model named like the cut name minus a hash-like last part', () => {
    const name = `${'a'.repeat(51)}-tp4x8`; // 57 characters: the cut leaves the name and '-'
    const pod = `${name}-x2x9z`;
    expect(pod).toHaveLength(63);
    // Deployment aaa…a with hash tp4x8, or Deployment aaa…a-tp4x8 cut: both fit, so neither gets it.
    expect(ownerOfPod(pod, new Set([name, 'a'.repeat(51)]))).toBeUndefined();
    expect(ownerOfPod(pod, new Set([name]))).toBe(name);
    // A last part a hash cannot be (it has vowels) leaves no doubt.
    const instruct = `${'a'.repeat(48)}-instruct`;
    expect(ownerOfPod(`${instruct}-x2x9z`, new Set([instruct, 'a'.repeat(48)]))).toBe(instruct);
  });

  it('queries both label forms of dcgm-exporter, summing GPUs per pod at each step', () => {
    expect(peakMemoryQuery(['ml', 'team-a'], 3600)).toBe(
      'max_over_time((sum by (namespace, pod) (label_replace(label_replace(' +
        'DCGM_FI_DEV_FB_USED{namespace=~"ml|team-a"} or DCGM_FI_DEV_FB_USED{exported_namespace=~"ml|team-a"}, ' +
        '"namespace", "$1", "exported_namespace", "(.+)"), "pod", "$1", "exported_pod", "(.+)")))[3600s:30s])',
    );
  });
});
