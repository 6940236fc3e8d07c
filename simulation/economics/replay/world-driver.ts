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
  /**
   * Runs every scheduled pass, node boot and pod start up to `ms`; undefined, not a promise, when
   * nothing had to run (no pass due, nothing running): time just moved.
   */
  advanceTo(ms: number): Promise<void> | undefined;
  /** The warm-up API's answer for the model at the current virtual time; 'queued' is a 202 with a place in line. */
  warmUp(ref: ModelRef): Promise<200 | 202 | 'queued' | 429>;
  /** A request to a running model, told to the activity API (at the next pass or warm-up). */
  recordActivity(holder: string): void;
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
  /** Warm-ups that could not start at once (429, or queued), by model: their time to Ready is measured. */
  const refused = new Map<string, number[]>();
  const settle = () => {
    for (const change of world.drainChanges()) {
      if (change.kind === 'over-budget') recorder.budgetViolation();
      else {
        recorder.modelState(change.holder, change.state, change.atMs);
        // Ready serves the waiting requests; a start given up (the start deadline) ends their wait too.
        if (change.state !== 'starting') release(change.holder, change.atMs);
        if (change.state === 'up') readyAfterRefusal(change.holder, change.atMs);
      }
    }
  };
  const wait = (holder: string, sinceMs: number) => {
    const since = waiting.get(holder);
    if (since) since.push(sinceMs);
    else waiting.set(holder, [sinceMs]);
  };
  const readyAfterRefusal = (holder: string, atMs: number) => {
    for (const since of refused.get(holder) ?? []) recorder.readyAfterRefusal((atMs - since) / 1000);
    refused.delete(holder);
  };
  const refusal = (holder: string, atMs: number) => {
    // The first refusal of a wait counts: the client retries, it does not start waiting again.
    if (!refused.has(holder)) refused.set(holder, [atMs]);
  };
  const release = (holder: string, atMs: number) => {
    for (const since of waiting.get(holder) ?? []) recorder.waited(holder, (atMs - since) / 1000);
    waiting.delete(holder);
  };
  /** A request once the world is at its time: served at once, or a warm-up (a promise) first. */
  const serve = (request: TraceRequest, holder: string): Promise<void> | undefined => {
    settle();
    recorder.request(holder);
    if (world.isReady(holder) || world.isStarting(holder)) {
      // A gateway warms a cold model up once and holds its requests until it is ready.
      if (options.reportActivity) world.recordActivity(holder);
      if (world.isStarting(holder)) wait(holder, request.atMs);
      return undefined;
    }
    return warmUp(request, holder);
  };
  const warmUp = async (request: TraceRequest, holder: string) => {
    const status = await world.warmUp(request);
    settle();
    if (status === 429) {
      recorder.rejected(holder);
      refusal(holder, request.atMs);
    } else if (status === 202 || status === 'queued') {
      wait(holder, request.atMs);
      if (status === 'queued') refusal(holder, request.atMs);
    }
  };
  return {
    request(request, holder) {
      const advancing = world.advanceTo(request.atMs);
      return advancing ? advancing.then(() => serve(request, holder)) : serve(request, holder);
    },
    async finish() {
      await world.advanceTo(window.endMs);
      settle();
      for (const holder of [...waiting.keys()]) release(holder, window.endMs);
      for (const holder of [...refused.keys()]) readyAfterRefusal(holder, window.endMs);
      for (const [pool, series] of Object.entries(world.nodeHistory())) {
        for (const [at, count] of series) if (at < window.endMs) recorder.nodes(pool, count, at);
      }
      return recorder.finish();
    },
  };
}
