import { performance } from 'node:perf_hooks';
import { holderOf } from '../../../lambdas/core/inference-model.js';
import type { PolicyResult, SimulationResult } from '../result.js';
import { InputError, type Scenario } from '../scenario.js';
import type { WhatIf } from '../what-if.js';
import { alwaysOn, type PolicyDriver } from './always-on.js';
import { CONTROL_PLANE, EVICTION_QUEUE, SCALE_FROM_ZERO, type PolicyDefinition } from './policies.js';
import type { PoolPolicy } from '../../../lambdas/core/nodes/pool-policies.js';
import { SimulatedWorld } from './simulated-world.js';
import { worldDriver } from './world-driver.js';

const HOUR_MS = 3_600_000;

export interface Progress {
  (line: string): void;
}

/** The trace's first and last request and how many there are: one streaming pass, before any replay. */
export async function scanTrace(
  scenario: Scenario,
): Promise<{ requests: number; firstMs: number; lastMs: number }> {
  let requests = 0;
  let firstMs = NaN;
  let lastMs = NaN;
  for await (const request of scenario.openTrace()) {
    if (requests === 0) firstMs = request.atMs;
    lastMs = request.atMs;
    requests++;
  }
  return { requests, firstMs, lastMs };
}

/** The window every policy is measured over: the scenario's, else the hours the trace covers. */
export function windowOf(
  scenario: Scenario,
  scan: { firstMs: number; lastMs: number },
): { startMs: number; endMs: number } {
  if (scenario.window) return scenario.window;
  const startMs = Math.floor(scan.firstMs / HOUR_MS) * HOUR_MS;
  return { startMs, endMs: Math.max(startMs + HOUR_MS, Math.ceil((scan.lastMs + 1) / HOUR_MS) * HOUR_MS) };
}

/**
 * Replays the trace once, feeding every request to every policy in step (and to each `--what-if`
 * variant of the control plane), so a million-row trace is read once however many policies there are.
 */
export type DriverFactory = (
  scenario: Scenario,
  window: { startMs: number; endMs: number },
) => Promise<PolicyDriver>;

/**
 * The world starts this long before the window: applied models deploy at once (as in a cluster), then
 * idle out and their nodes scale in, so the window starts from a cluster at rest, not from a deploy.
 */
const SETTLE_BEFORE_MS = 2 * 3_600_000;

/** A policy played by the real control plane in the simulated world, its pools set as `policy` says. */
const inWorld =
  (definition: PolicyDefinition, reportActivity: boolean, policy?: PoolPolicy): DriverFactory =>
  async (scenario, window) =>
    worldDriver(
      definition,
      scenario,
      window,
      await SimulatedWorld.create(scenario, window.startMs - SETTLE_BEFORE_MS, policy),
      { reportActivity },
    );

const controlPlane = inWorld(CONTROL_PLANE, true);
// Idle time counted from the scale-up: the gateway reports no requests to the control plane.
const scaleFromZero = inWorld(SCALE_FROM_ZERO, false);
const evictionAndQueue = inWorld(EVICTION_QUEUE, true, {
  eviction: { enabled: true, minIdleMs: 5 * 60_000 },
  queue: { byDefault: true, expireAfterMs: 10 * 60_000 },
});

/** The side-by-side policies, and the one `--what-if` varies (the control plane as configured). */
export const POLICIES: { sideBySide: DriverFactory[]; varied: DriverFactory } = {
  sideBySide: [
    async (scenario, window) => alwaysOn(scenario, window),
    controlPlane,
    scaleFromZero,
    evictionAndQueue,
  ],
  varied: controlPlane,
};

export async function simulate(
  scenario: Scenario,
  whatIf: WhatIf | undefined,
  progress: Progress,
  policies = POLICIES,
): Promise<SimulationResult> {
  const started = performance.now();
  progress(`reading the trace of ${scenario.description}`);
  const scan = await scanTrace(scenario);
  if (scan.requests === 0) throw new InputError('the trace has no request');
  const window = windowOf(scenario, scan);
  const drivers = await Promise.all(policies.sideBySide.map((policy) => policy(scenario, window)));
  const variants = whatIf
    ? await Promise.all(whatIf.values.map((value) => policies.varied(whatIf.apply(scenario, value), window)))
    : [];
  progress(
    `replaying ${scan.requests.toLocaleString('en-US')} requests through ${drivers.length} policies${variants.length ? ` and ${variants.length} what-if variants` : ''}`,
  );
  const all = [...drivers, ...variants];
  let done = 0;
  let nextReport = performance.now() + 2000;
  for await (const request of scenario.openTrace()) {
    const holder = holderOf(request);
    for (const driver of all) {
      const running = driver.request(request, holder);
      if (running) await running;
    }
    if (++done % 4096 === 0 && performance.now() >= nextReport) {
      nextReport = performance.now() + 2000;
      const seconds = (performance.now() - started) / 1000;
      progress(
        `${Math.round((done / scan.requests) * 100)}% (${done.toLocaleString('en-US')} of ${scan.requests.toLocaleString('en-US')} requests, ${seconds.toFixed(1)} s)`,
      );
    }
  }
  const results: PolicyResult[] = [];
  for (const driver of drivers) results.push(await driver.finish());
  const points = [];
  for (const [i, variant] of variants.entries())
    points.push({ value: whatIf!.values[i]!, result: await variant.finish() });
  return {
    scenario: {
      description: scenario.description,
      windowStartMs: window.startMs,
      windowEndMs: window.endMs,
      models: scenario.models.length,
      pools: scenario.pools.map((p) => ({
        name: p.config.name,
        instanceType: p.config.instanceType,
        pricePerNodeHour: p.pricePerNodeHour,
        gpuMemoryPerNode: `${p.config.bytesPerNode / 2 ** 30}Gi`,
        maxNodes: p.config.maxNodes,
      })),
      requests: scan.requests,
    },
    policies: results,
    whatIf: whatIf ? { knob: whatIf.knob, points } : undefined,
    elapsedSeconds: (performance.now() - started) / 1000,
  };
}
