import { costOf, SECONDS_PER_HOUR } from '../../../lambdas/core/economics/cost.js';
import { holderOf, poolOf } from '../../../lambdas/core/inference-model.js';
import {
  WaitRecorder,
  type ModelState,
  type PolicyResult,
  type StepSeries,
  type TimelineSegment,
} from '../result.js';
import type { Scenario } from '../scenario.js';
import type { PolicyDefinition } from './policies.js';

interface ModelTally {
  requests: number;
  coldStarts: number;
  rejected: number;
  waits: WaitRecorder;
  state: ModelState | 'down';
  since: number;
  heldMs: number;
  segments: TimelineSegment[];
}

/**
 * Turns what happens in one replay (requests and their outcome, model state changes, node counts) into
 * a policy's figures. Clipped to the scenario's window, so every policy is measured over the same time.
 */
export class PolicyRecorder {
  private readonly models = new Map<string, ModelTally>();
  private readonly nodeSeries = new Map<string, [number, number][]>();
  private readonly waits = new WaitRecorder();
  private budgetViolations = 0;

  constructor(
    private readonly policy: PolicyDefinition,
    private readonly scenario: Scenario,
    private readonly window: { startMs: number; endMs: number },
  ) {
    for (const model of scenario.models) {
      this.models.set(holderOf(model), {
        requests: 0,
        coldStarts: 0,
        rejected: 0,
        waits: new WaitRecorder(),
        state: 'down',
        since: window.startMs,
        heldMs: 0,
        segments: [],
      });
    }
    for (const pool of scenario.pools) this.nodeSeries.set(pool.config.name, [[window.startMs, 0]]);
  }

  request(model: string): void {
    this.tally(model).requests++;
  }

  /** A request that found the model not ready and got it `seconds` later. */
  waited(model: string, seconds: number): void {
    this.tally(model).waits.add(seconds);
    this.waits.add(seconds);
  }

  rejected(model: string): void {
    this.tally(model).rejected++;
  }

  modelState(model: string, state: ModelState | 'down', atMs: number): void {
    const tally = this.tally(model);
    if (tally.state === state) return;
    if (tally.state === 'down' && state !== 'down' && atMs >= this.window.startMs) tally.coldStarts++;
    this.closeSegment(tally, atMs);
    tally.state = state;
    tally.since = Math.max(atMs, this.window.startMs);
  }

  nodes(pool: string, count: number, atMs: number): void {
    const series = this.nodeSeries.get(pool)!;
    const at = Math.max(atMs, this.window.startMs);
    const last = series[series.length - 1]!;
    if (last[1] === count) return;
    if (last[0] === at) last[1] = count;
    else series.push([at, count]);
  }

  budgetViolation(): void {
    this.budgetViolations++;
  }

  finish(): PolicyResult {
    const { startMs, endMs } = this.window;
    for (const tally of this.models.values()) this.closeSegment(tally, endMs);
    const pools = this.scenario.pools.map((pool) => {
      const series = this.nodeSeries.get(pool.config.name)!;
      const nodeHours = integral(series, startMs, endMs) / (SECONDS_PER_HOUR * 1000);
      return {
        pool: pool.config.name,
        nodeHours,
        cost: costOf(nodeHours, pool.pricePerNodeHour)!,
        peakNodes: Math.max(...series.map(([, v]) => v)),
      };
    });
    const models = this.scenario.models.map((model) => {
      const tally = this.tally(holderOf(model));
      return {
        model: holderOf(model),
        pool: poolOf(model),
        requests: tally.requests,
        coldStarts: tally.coldStarts,
        waited: tally.waits.count,
        wait: tally.waits.summary(),
        rejected: tally.rejected,
        heldHours: tally.heldMs / (SECONDS_PER_HOUR * 1000),
      };
    });
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    return {
      policy: this.policy.id,
      label: this.policy.label,
      description: this.policy.description,
      nodeHours: sum(pools.map((p) => p.nodeHours)),
      cost: Math.round(sum(pools.map((p) => p.cost)) * 100) / 100,
      requests: sum(models.map((m) => m.requests)),
      coldStarts: sum(models.map((m) => m.coldStarts)),
      waited: this.waits.count,
      wait: this.waits.summary(),
      rejected: sum(models.map((m) => m.rejected)),
      peakNodes: peakOfSum([...this.nodeSeries.values()]),
      budgetViolations: this.budgetViolations,
      pools,
      models,
      nodes: Object.fromEntries(this.nodeSeries) as Record<string, StepSeries>,
      timelines: Object.fromEntries([...this.models].map(([model, tally]) => [model, tally.segments])),
    };
  }

  private closeSegment(tally: ModelTally, atMs: number): void {
    const to = Math.min(atMs, this.window.endMs);
    if (tally.state === 'down' || to <= tally.since) return;
    tally.heldMs += to - tally.since;
    const last = tally.segments[tally.segments.length - 1];
    if (last && last.state === tally.state && last.toMs === tally.since) {
      tally.segments[tally.segments.length - 1] = { ...last, toMs: to };
    } else tally.segments.push({ fromMs: tally.since, toMs: to, state: tally.state });
  }

  private tally(model: string): ModelTally {
    const tally = this.models.get(model);
    if (!tally) throw new Error(`no model ${model} in the scenario`);
    return tally;
  }
}

/** The area under a step series between two times (value x milliseconds). */
function integral(series: StepSeries, startMs: number, endMs: number): number {
  let area = 0;
  for (let i = 0; i < series.length; i++) {
    const [from, value] = series[i]!;
    const to = Math.min(endMs, series[i + 1]?.[0] ?? endMs);
    if (to > from) area += value * (to - Math.max(from, startMs));
  }
  return area;
}

/** The most nodes at once across pools: a sweep over every change, simultaneous ones applied together. */
function peakOfSum(all: readonly StepSeries[]): number {
  const changes = all.flatMap((series, index) => series.map(([t, v]) => ({ t, index, v })));
  changes.sort((a, b) => a.t - b.t);
  const current = all.map(() => 0);
  let total = 0;
  let peak = 0;
  for (let i = 0; i < changes.length; i++) {
    const { t, index, v } = changes[i]!;
    total += v - current[index]!;
    current[index] = v;
    if (changes[i + 1]?.t !== t) peak = Math.max(peak, total);
  }
  return peak;
}
