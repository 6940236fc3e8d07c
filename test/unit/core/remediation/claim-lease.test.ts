import fc from 'fast-check';
import type { Alert } from '../../../../lambdas/core/remediation/alerts.js';
import {
  CLAIM_LEASE_MS,
  ClaimHeldError,
  type RemediationPorts,
} from '../../../../lambdas/core/remediation/ports.js';
import { remediate } from '../../../../lambdas/core/remediation/remediate.js';
import { ENABLED, remediationWorld } from '../../../support/fake-remediation.js';

/**
 * The claim's lifecycle (claimed, in progress under a lease, done) with an attempt that dies at any
 * step: after the claim, in the middle of the action (before or after a write lands), before or after
 * the record. Redeliveries come as Lambda's async retries would; in the end every alert has been acted on
 * exactly once: one change, one audit record, the claim done.
 */
const T0 = Date.parse('2026-11-27T12:00:00Z');

const ALERTS: Record<string, Alert> = {
  ExpertLoadImbalance: {
    name: 'ExpertLoadImbalance',
    status: 'firing',
    labels: { alertname: 'ExpertLoadImbalance', namespace: 'ml', deployment: 'moe-trainer' },
    startsAt: T0 - 60_000,
    endsAt: undefined,
    episode: 'fp-imbalance',
    source: 'alertmanager',
  },
  InferenceLatencyHigh: {
    name: 'InferenceLatencyHigh',
    status: 'firing',
    labels: { alertname: 'InferenceLatencyHigh', namespace: 'ml', deployment: 'moe-inference' },
    startsAt: T0 - 60_000,
    endsAt: undefined,
    episode: 'fp-latency',
    source: 'alertmanager',
  },
};

/** Thrown nowhere: an attempt that "dies" simply never continues, as a Lambda killed at its timeout. */
const never = new Promise<never>(() => {});

/**
 * The ports with every call counted; the call numbered `crashAt` dies. A dying write may land first
 * (`landFirst`), as one whose answer was lost.
 */
function crashing(ports: RemediationPorts, crashAt: number, landFirst: boolean) {
  let calls = 0;
  let died!: () => void;
  const death = new Promise<'died'>((resolve) => (died = () => resolve('died')));
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, key) {
        const value = Reflect.get(object, key) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          calls++;
          if (calls !== crashAt) return (value as (...a: unknown[]) => unknown).apply(object, args);
          if (landFirst) await (value as (...a: unknown[]) => unknown).apply(object, args);
          died();
          return never;
        };
      },
    });
  return {
    ports: {
      ...ports,
      cluster: wrap(ports.cluster),
      ledger: wrap(ports.ledger),
      claims: wrap(ports.claims),
      actions: wrap(ports.actions),
    },
    death,
  };
}

describe('claim lease', () => {
  it('acts on every valid alert exactly once, whichever step an attempt dies at', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(ALERTS)),
        fc.array(fc.record({ crashAt: fc.integer({ min: 1, max: 14 }), landFirst: fc.boolean() }), {
          maxLength: 3,
        }),
        async (name, crashes) => {
          let now = T0;
          const world = await remediationWorld(() => now);
          const alert = ALERTS[name]!;
          const event = { kind: 'alerts' as const, alerts: [alert], rejected: [] };
          // The attempts that die, then one that is left to run; each retry comes after the lease.
          for (const { crashAt, landFirst } of crashes) {
            const { ports, death } = crashing(world.ports, crashAt, landFirst);
            const outcome = await Promise.race([remediate(ports, ENABLED, event), death]);
            if (outcome !== 'died') break; // it finished before the step that would have killed it
            now += CLAIM_LEASE_MS + 1;
          }
          // Lambda retries until an attempt completes; a live lease sends it back (ClaimHeldError).
          for (let retry = 0; ; retry++) {
            try {
              await remediate(world.ports, ENABLED, event);
              break;
            } catch (error) {
              expect(error).toBeInstanceOf(ClaimHeldError);
              expect(retry).toBe(0);
              now += CLAIM_LEASE_MS + 1;
            }
          }

          if (name === 'ExpertLoadImbalance') {
            const config = world.cluster.configMaps.get('ml/training-config')!.data;
            expect(config.load_balance_loss_coef).toBe('0.02'); // doubled once, never twice
          } else {
            expect(world.cluster.workloads.find((w) => w.name === 'moe-inference')!.replicas).toBe(2);
            const held = (await world.ledger.readPool('gpu-a100')).allocations.map((a) => a.holder);
            expect(held).toEqual(['ml/moe-inference#1']);
          }
          expect([...world.store.records.values()].map((r) => r.outcome)).toEqual(['applied']);
          expect([...world.store.claims.values()].map((c) => c.leaseUntil)).toEqual([undefined]);
          // A later redelivery is a duplicate and changes nothing.
          const writes = world.cluster.writes.length;
          const again = await remediate(world.ports, ENABLED, event);
          expect(again.results.map((r) => r.outcome)).toEqual(['duplicate']);
          expect(world.cluster.writes).toHaveLength(writes);
        },
      ),
      { numRuns: 300 },
    );
  });
});
