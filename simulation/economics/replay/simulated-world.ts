import { parseQuantity } from '../../../lambdas/core/quantity.js';
import {
  holderOf,
  poolOf,
  type InferenceModel,
  type ModelRef,
} from '../../../lambdas/core/inference-model.js';
import type { PoolPolicy } from '../../../lambdas/core/nodes/pool-policies.js';
import { World } from '../../world.js';
import type { ModelState, StepSeries } from '../result.js';
import type { Scenario } from '../scenario.js';
import type { ReplayWorld, WorldChange } from './world-driver.js';

/** The start deadline and orphan grace the deployed control plane defaults to (docs/reconciler.md). */
const START_DEADLINE_MS = 15 * 60_000;
const ORPHAN_GRACE_MS = 5 * 60_000;
const SCALE_IN_STABILISATION_MS = 10 * 60_000;

/**
 * The replay's view of the simulated world of issue 14 (simulation/world.ts): the real core's warm-up,
 * reconcile passes and node scaler on a virtual clock, no faults injected. Requests become warm-ups or
 * activity; what the figures need is read back from the simulated cluster and node groups with the
 * exact times things happened (a pod is ready when its weights have loaded, not at the next tick).
 */
export class SimulatedWorld implements ReplayWorld {
  private readonly world: World;
  private readonly models: Map<string, InferenceModel>;
  private readonly states = new Map<string, ModelState | 'down'>();
  /** Activity to report, per model: the latest request. The ledger keeps the latest anyway (monotonic). */
  private readonly pendingActivity = new Map<string, number>();
  private changes: WorldChange[] = [];
  private readonly loadMsByMemory = new Map<string, number>();
  /** Until then (exclusive) neither a tick nor a look would change anything, unless the world runs. */
  private quietUntil = -Infinity;

  private constructor(scenario: Scenario, startMs: number, policy: PoolPolicy) {
    const boots = new Map(scenario.pools.map((p) => [p.config.name, p.nodeBootSeconds * 1000]));
    this.world = new World({
      pools: scenario.pools.map((p) => ({ ...p.config, ...policy })),
      nodes: true,
      nodeBootMs: (pool) => boots.get(pool) ?? 0,
      startup: {
        imagePullMs: scenario.startup.imagePullSeconds * 1000,
        loadMsPerGi: 1000 / scenario.startup.weightLoadGiBPerSecond,
      },
      passIntervalMs: scenario.reconcileIntervalSeconds * 1000,
      startDeadlineMs: START_DEADLINE_MS,
      orphanGraceMs: ORPHAN_GRACE_MS,
      scaleInStabilisationMs: SCALE_IN_STABILISATION_MS,
      seed: 1,
      start: startMs,
    });
    this.models = new Map(scenario.models.map((m) => [holderOf(m), m]));
    for (const holder of this.models.keys()) this.states.set(holder, 'down');
  }

  /**
   * A world with the pools defined and every model applied (at zero replicas until a request); `policy`
   * (eviction, queue) applies to every pool.
   */
  static async create(scenario: Scenario, startMs: number, policy: PoolPolicy = {}): Promise<SimulatedWorld> {
    const world = new SimulatedWorld(scenario, startMs, policy);
    await world.world.definePools();
    // In one order whatever order the inputs listed them in: the world's interleaving follows it.
    const byHolder = [...scenario.models].sort((a, b) => holderOf(a).localeCompare(holderOf(b)));
    for (const model of byHolder) world.world.apply(model);
    await world.world.advance(0);
    return world;
  }

  advanceTo(ms: number): Promise<void> | undefined {
    if (ms < this.world.now) return undefined;
    const passes = ms >= this.nextPassAt();
    if (!passes && !this.world.interleaver.busy) {
      // Nothing runs and no pass is due: what World.advance would do, without its turns of the event loop,
      // and without the tick and the look when no pod finishes starting by then (most requests).
      this.world.now = ms;
      if (ms < this.quietUntil) return undefined;
      this.world.cluster.tick();
      this.observe();
      return undefined;
    }
    return this.run(ms, passes);
  }

  private async run(ms: number, passes: boolean): Promise<void> {
    if (passes) this.flushActivity();
    // Looked at after every pass too: a model can start, serve and idle out between two requests.
    await this.world.advance(ms - this.world.now, () => this.observe());
    this.observe();
    if (passes) await this.checkBudgets();
  }

  async warmUp(ref: ModelRef): Promise<200 | 202 | 'queued' | 429> {
    this.flushActivity();
    const record = this.world.startWarmUp(ref);
    await this.world.interleaver.settle();
    this.observe();
    if (record.answer?.status === 202 && record.answer.body.queue) return 'queued';
    if (record.answer) return record.answer.status;
    if (record.error?.status === 429) return 429;
    throw record.error ?? record.failure ?? new Error(`the warm-up of ${holderOf(ref)} did not finish`);
  }

  recordActivity(holder: string): void {
    this.pendingActivity.set(holder, this.world.now);
  }

  isReady(holder: string): boolean {
    return this.states.get(holder) === 'up';
  }

  isStarting(holder: string): boolean {
    return this.states.get(holder) === 'starting';
  }

  drainChanges(): WorldChange[] {
    const changes = this.changes;
    this.changes = [];
    return changes;
  }

  /** Nodes per pool over the window, from the node groups' record of every node's life. */
  nodeHistory(): Record<string, StepSeries> {
    const events = new Map<string, [number, number][]>();
    for (const life of this.world.nodes!.lifetimes) {
      const list = events.get(life.pool) ?? [];
      list.push([life.from, 1]);
      if (life.to !== undefined) list.push([life.to, -1]);
      events.set(life.pool, list);
    }
    const series: Record<string, StepSeries> = {};
    for (const [pool, list] of events) {
      list.sort((a, b) => a[0] - b[0]);
      let count = 0;
      const points: [number, number][] = [];
      for (const [at, delta] of list) {
        count += delta;
        if (points.length > 0 && points[points.length - 1]![0] === at) points[points.length - 1]![1] = count;
        else points.push([at, count]);
      }
      series[pool] = points;
    }
    return series;
  }

  private nextPassAt(): number {
    // The world starts a pass at `start` and every interval after it.
    const { start, passIntervalMs } = this.world.config;
    return start + Math.ceil((this.world.now - start + 1) / passIntervalMs) * passIntervalMs;
  }

  /** Writes what requests to running models said, as the activity API's one ledger write would. */
  private flushActivity(): void {
    for (const [holder, at] of this.pendingActivity) {
      const model = this.models.get(holder)!;
      void this.world.ledger.recordActivity({ pool: poolOf(model), holder, at });
    }
    this.pendingActivity.clear();
  }

  /**
   * Model state changes since the last look, at the times they happened; and until when, if the world
   * does not run, there will be none (a starting model's first pod ready, or the cluster's next change).
   */
  private observe(): void {
    const now = this.world.now;
    const { imagePullMs } = this.world.cluster.startup;
    let quietUntil = this.world.cluster.nextChangeAt(now);
    for (const [holder, before] of this.states) {
      const deployment = this.world.cluster.deployments.get(holder);
      if (!deployment || deployment.replicas === 0) {
        if (before !== 'down') this.change(holder, 'down', deployment?.scaledToZeroAt ?? now);
        continue;
      }
      const loadMs = this.loadMsOf(deployment.memory ?? '0Gi');
      let readyAt = Infinity;
      for (const pod of deployment.pods) {
        if (pod.placedAt !== undefined) readyAt = Math.min(readyAt, pod.placedAt + imagePullMs + loadMs);
      }
      if (before === 'down') this.change(holder, 'starting', deployment.scaledUpAt ?? now);
      if (readyAt <= now && this.states.get(holder) !== 'up') this.change(holder, 'up', readyAt);
      if (readyAt > now && this.states.get(holder) === 'up') this.change(holder, 'starting', now);
      if (readyAt > now) quietUntil = Math.min(quietUntil, readyAt);
    }
    this.quietUntil = quietUntil;
  }

  /** Weight-load time by the pods' memory note: worked out once per note, as this runs for every request. */
  private loadMsOf(memory: string): number {
    let loadMs = this.loadMsByMemory.get(memory);
    if (loadMs === undefined) {
      loadMs = (parseQuantity(memory) / 2 ** 30) * this.world.cluster.startup.loadMsPerGi;
      this.loadMsByMemory.set(memory, loadMs);
    }
    return loadMs;
  }

  private change(holder: string, state: ModelState | 'down', atMs: number): void {
    this.states.set(holder, state);
    this.changes.push({ kind: 'model', holder, state, atMs });
  }

  private async checkBudgets(): Promise<void> {
    for (const pool of await this.world.ledger.listPools()) {
      if (
        pool.allocatedBytes > pool.totalBytes ||
        pool.allocatedBytes + pool.availableBytes !== pool.totalBytes
      ) {
        this.changes.push({ kind: 'over-budget', pool: pool.name, atMs: this.world.now });
      }
    }
  }
}
