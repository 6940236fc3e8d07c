import type { ModelRef } from '../../../lambdas/core/inference-model.js';
import type { ModelState, StepSeries } from '../result.js';
import type { Scenario, TraceRequest } from '../scenario.js';
import type { PolicyDriver } from './always-on.js';
import type { PolicyDefinition } from './policies.js';
import { PolicyRecorder } from './recorder.js';

/** What happens in the world that the figures need, stamped with the virtual time it happened at. */
export type WorldChange =
  | {
      readonly kind: 'model';
      readonly holder: string;
      readonly state: ModelState | 'down';
      readonly atMs: number;
    }
  | { readonly kind: 'over-budget'; readonly pool: string; readonly atMs: number };

/**
 * The seam between the replay and the simulated world (simulation/, issue 14): the real core's warm-up,
 * activity and scheduled passes on a virtual clock, reporting what changed.
 */
export interface ReplayWorld {
  /** Runs every scheduled pass, node boot and pod start up to `ms`. */
  advanceTo(ms: number): Promise<void>;
  /** The warm-up API's answer for the model at the current virtual time. */
  warmUp(ref: ModelRef): Promise<200 | 202 | 429>;
  recordActivity(ref: ModelRef): Promise<void>;
  isReady(holder: string): boolean;
  /** Warmed up and not ready yet: a request waits for it without another warm-up. */
  isStarting(holder: string): boolean;
  /** Every change since the last call, in time order. */
  drainChanges(): WorldChange[];
  /** Nodes per pool over the replay, booting ones included (they are paid for). */
  nodeHistory(): Record<string, StepSeries>;
}

/**
 * A policy that runs in the world: the control plane as configured (every request to a running model
 * is an activity call) or the scale-from-zero policy (no activity calls, so idle counts from scale-up).
 * A request that finds its model not ready warms it up and waits until it is Ready (a 429 does not
 * wait; a wait cut off by the end of the window counts up to the end).
 */
export function worldDriver(
  policy: PolicyDefinition,
  scenario: Scenario,
  window: { startMs: number; endMs: number },
  world: ReplayWorld,
  options: { reportActivity: boolean },
): PolicyDriver {
  const recorder = new PolicyRecorder(policy, scenario, window);
  const waiting = new Map<string, number[]>();
  const settle = () => {
    for (const change of world.drainChanges()) {
      if (change.kind === 'over-budget') recorder.budgetViolation();
      else {
        recorder.modelState(change.holder, change.state, change.atMs);
        // Ready serves the waiting requests; a start given up (the start deadline) ends their wait too.
        if (change.state !== 'starting') release(change.holder, change.atMs);
      }
    }
  };
  const release = (holder: string, atMs: number) => {
    for (const since of waiting.get(holder) ?? []) recorder.waited(holder, (atMs - since) / 1000);
    waiting.delete(holder);
  };
  return {
    async request(request: TraceRequest) {
      await world.advanceTo(request.atMs);
      settle();
      const holder = `${request.namespace}/${request.name}`;
      recorder.request(holder);
      if (world.isReady(holder) || world.isStarting(holder)) {
        // A gateway warms a cold model up once and holds its requests until it is ready.
        if (options.reportActivity) await world.recordActivity(request);
        if (world.isStarting(holder)) waiting.set(holder, [...(waiting.get(holder) ?? []), request.atMs]);
        return;
      }
      const status = await world.warmUp(request);
      settle();
      if (status === 429) recorder.rejected(holder);
      else if (status === 202) waiting.set(holder, [...(waiting.get(holder) ?? []), request.atMs]);
    },
    async finish() {
      await world.advanceTo(window.endMs);
      settle();
      for (const holder of [...waiting.keys()]) release(holder, window.endMs);
      for (const [pool, series] of Object.entries(world.nodeHistory())) {
        for (const [at, count] of series) if (at < window.endMs) recorder.nodes(pool, count, at);
      }
      return recorder.finish();
    },
  };
}
