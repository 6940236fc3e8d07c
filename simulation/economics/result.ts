/**
 * What a replay reports, per policy: the figures of the side-by-side table, a per-model breakdown, and
 * the series the HTML report draws. Plain data, so the table, the report and the tests read the same.
 */

export interface WaitSummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface PoolFigures {
  readonly pool: string;
  readonly nodeHours: number;
  readonly cost: number;
  readonly peakNodes: number;
}

export interface ModelFigures {
  /** `namespace/name`. */
  readonly model: string;
  readonly pool: string;
  readonly requests: number;
  readonly coldStarts: number;
  /** Requests that found the model not ready and waited for it. */
  readonly waited: number;
  /** Seconds; undefined when no request waited. */
  readonly wait: WaitSummary | undefined;
  readonly rejected: number;
  /** Hours the model held budget (starting or up). */
  readonly heldHours: number;
}

/** A step series: the value holds from each point's time until the next point's. */
export type StepSeries = readonly (readonly [timeMs: number, value: number])[];

export type ModelState = 'starting' | 'up';

export interface TimelineSegment {
  readonly fromMs: number;
  readonly toMs: number;
  readonly state: ModelState;
}

export interface PolicyResult {
  readonly policy: string;
  /** How the table's column header names it. */
  readonly label: string;
  /** One line on what the policy does, for the report. */
  readonly description: string;
  readonly nodeHours: number;
  readonly cost: number;
  readonly requests: number;
  readonly coldStarts: number;
  readonly waited: number;
  readonly wait: WaitSummary | undefined;
  /** Warm-ups answered 429 (no room in the pool). */
  readonly rejected: number;
  /**
   * Seconds from a warm-up that could not start at once (a 429, or a place in the queue; the first of
   * a run of retries) to its model being Ready (or the window's end); undefined when none was refused.
   */
  readonly refusedTimeToReady: WaitSummary | undefined;
  /** The most nodes running at once, all pools together. */
  readonly peakNodes: number;
  /** Times a pool's allocations exceeded its budget; must be 0. */
  readonly budgetViolations: number;
  readonly pools: readonly PoolFigures[];
  readonly models: readonly ModelFigures[];
  /** Nodes running per pool over the window. */
  readonly nodes: Readonly<Record<string, StepSeries>>;
  /** Per model (`namespace/name`): when it was starting or up; down otherwise. */
  readonly timelines: Readonly<Record<string, readonly TimelineSegment[]>>;
}

export interface WhatIfPoint {
  readonly value: string;
  readonly result: PolicyResult;
}

export interface WhatIfResult {
  /** As given: `gpu-a100.maxNodes`, `cooldown`, `chat/llama-3-70b.cooldown`. */
  readonly knob: string;
  readonly points: readonly WhatIfPoint[];
}

export interface SimulationResult {
  readonly scenario: {
    readonly description: string;
    readonly windowStartMs: number;
    readonly windowEndMs: number;
    readonly models: number;
    readonly pools: readonly {
      readonly name: string;
      readonly instanceType: string | undefined;
      readonly pricePerNodeHour: number;
      readonly gpuMemoryPerNode: string;
      readonly maxNodes: number;
    }[];
    readonly requests: number;
  };
  readonly policies: readonly PolicyResult[];
  readonly whatIf: WhatIfResult | undefined;
  /** Wall-clock seconds the replays took. */
  readonly elapsedSeconds: number;
}

/** Collects waits (seconds) in a growable typed array: a million waits take 8 MB, not a million objects. */
export class WaitRecorder {
  private values = new Float64Array(1024);
  private size = 0;

  add(seconds: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = seconds;
  }

  get count(): number {
    return this.size;
  }

  /** Nearest-rank percentiles; undefined when nothing waited. */
  summary(): WaitSummary | undefined {
    if (this.size === 0) return undefined;
    const sorted = this.values.slice(0, this.size).sort();
    const rank = (q: number) => sorted[Math.min(this.size - 1, Math.max(0, Math.ceil(q * this.size) - 1))]!;
    return { p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: sorted[this.size - 1]! };
  }
}
