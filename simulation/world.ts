import { ApiError } from '../lambdas/core/api/errors.js';
import { InMemoryLedger } from '../lambdas/core/ledger/in-memory-ledger.js';
import type { Allocation, Ledger } from '../lambdas/core/ledger/ledger.js';
import { discardedMetrics } from '../lambdas/core/metrics/discarded.js';
import type { NodeScalingPorts } from '../lambdas/core/nodes/ports.js';
import type { NodePoolConfig } from '../lambdas/core/nodes/node-pools.js';
import { definePools, scaleNodePools } from '../lambdas/core/nodes/scaler.js';
import { holderOf, type InferenceModel, type ModelRef } from '../lambdas/core/inference-model.js';
import { type Cluster, type ReconcileLog } from '../lambdas/core/reconcile/ports.js';
import { reconcileAll, reconcileOne } from '../lambdas/core/reconcile/reconciler.js';
import { warmUp, type WarmUpAnswer, type WarmUpPorts } from '../lambdas/core/warmup/warm-up.js';
import { Interleaver, seededRandom, type FaultRates, type Task } from './interleaver.js';
import { SimulatedCluster, type StartupModel } from './simulated-cluster.js';
import { SimulatedNodes } from './simulated-nodes.js';

export interface WorldConfig {
  pools: NodePoolConfig[];
  /** Simulate each pool's nodes (boot time, packing, scale-in); otherwise pods get a node at once. */
  nodes: boolean;
  /** How long a node of the pool takes from being asked for to Ready. */
  nodeBootMs: number | ((pool: string) => number);
  startup: StartupModel;
  passIntervalMs: number;
  startDeadlineMs: number;
  orphanGraceMs: number;
  scaleInStabilisationMs: number;
  seed: number;
  start: number;
}

export const DEFAULT_WORLD: Omit<WorldConfig, 'pools' | 'seed'> = {
  nodes: false,
  nodeBootMs: 3 * 60_000,
  startup: { imagePullMs: 60_000, loadMsPerGi: 1_000 },
  passIntervalMs: 60_000,
  startDeadlineMs: 15 * 60_000,
  orphanGraceMs: 5 * 60_000,
  scaleInStabilisationMs: 10 * 60_000,
  start: Date.UTC(2026, 0, 5, 0, 0, 0),
};

export interface LogLine {
  task: Task | undefined;
  at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

export interface WarmUpRecord {
  ref: ModelRef;
  at: number;
  answer?: WarmUpAnswer;
  error?: ApiError;
  /** A 5xx or an unexpected error: the invariants fail on it. */
  failure?: Error;
}

/**
 * The control plane's real core on a virtual clock: the in-memory ledger, a simulated cluster and node
 * groups, and Lambdas (the scheduled pass, event reconciles, warm-ups, activity calls) that run as
 * interleaved tasks. Time moves only between steps; the scheduled pass starts at every interval.
 */
export class World {
  now: number;
  ledger = new InMemoryLedger();
  readonly cluster: SimulatedCluster;
  readonly nodes: SimulatedNodes | undefined;
  readonly interleaver: Interleaver;
  readonly log: LogLine[] = [];
  readonly warmUps: WarmUpRecord[] = [];
  /** When each model was last asked for (a warm-up or an activity call), whatever became of the call. */
  readonly lastRequestAt = new Map<string, number>();
  /** The allocations each task last read from the ledger, by holder: what its decisions were based on. */
  readonly reads = new Map<number, Map<string, Allocation>>();
  private nextPassAt: number;
  /** Scheduled passes that ran to the end (a crashed one does not count). */
  passesCompleted = 0;
  private readonly observers: ((line: LogLine) => void)[] = [];

  constructor(readonly config: WorldConfig) {
    this.now = config.start;
    this.nextPassAt = config.start;
    // Time moves while Lambdas run: a millisecond per call, so two writes never share a timestamp.
    this.interleaver = new Interleaver(seededRandom(config.seed), () => (this.now += 1));
    this.nodes = config.nodes
      ? new SimulatedNodes(
          config.pools,
          (pool) => (typeof config.nodeBootMs === 'number' ? config.nodeBootMs : config.nodeBootMs(pool)),
          () => this.now,
          (node) => this.cluster.evict(node),
        )
      : undefined;
    this.cluster = new SimulatedCluster(() => this.now, config.startup, this.nodes);
    this.cluster.recentMs = config.passIntervalMs;
  }

  /**
   * The same world from this moment on, without what is running now: for asking "what if nothing else
   * happened". Only for a world without simulated nodes.
   */
  fork(seed: number): World {
    if (this.nodes) throw new Error('a world with simulated nodes cannot be forked');
    const copy = new World({ ...this.config, seed, start: this.now });
    copy.ledger = this.ledger.copy();
    this.cluster.copyInto(copy.cluster);
    copy.nextPassAt = this.nextPassAt;
    return copy;
  }

  async definePools(): Promise<void> {
    await definePools(this.ledger, this.config.pools, this.logFor(undefined));
  }

  set faults(rates: FaultRates) {
    this.interleaver.faults = rates;
  }

  onLog(observer: (line: LogLine) => void): void {
    this.observers.push(observer);
  }

  // ---- what happens in the world ----

  apply(model: InferenceModel): void {
    this.cluster.apply(model);
    this.startReconcile(model); // the admission webhook announces every change
  }

  delete(ref: ModelRef): void {
    this.cluster.delete(ref);
    this.startReconcile(ref);
  }

  startPass(): void {
    if (this.interleaver.running('pass')) return; // reserved concurrency 1: passes never overlap
    this.interleaver.start('pass', async (task) => {
      const ports = this.portsFor(task);
      await reconcileAll(ports, this.reconcileOptions());
      if (ports.nodeScaling) await scaleNodePools(ports.nodeScaling, await ports.ledger.listPools());
      this.passesCompleted += 1;
    });
  }

  startReconcile(ref: ModelRef): void {
    this.interleaver.start(`reconcile ${holderOf(ref)}`, (task) =>
      reconcileOne(this.portsFor(task), ref, this.reconcileOptions()),
    );
  }

  startWarmUp(ref: ModelRef): WarmUpRecord {
    this.lastRequestAt.set(holderOf(ref), this.now);
    const record: WarmUpRecord = { ref, at: this.now };
    this.warmUps.push(record);
    this.interleaver.start(
      `warm-up ${holderOf(ref)}`,
      (task) => warmUp(this.portsFor(task), ref),
      (result) => {
        if (result instanceof ApiError && result.status < 500) record.error = result;
        else if (result instanceof Error) record.failure = result;
        else record.answer = result;
      },
    );
    return record;
  }

  startActivity(ref: ModelRef): void {
    this.lastRequestAt.set(holderOf(ref), this.now);
    const model = this.cluster.models.get(holderOf(ref));
    if (!model) return;
    this.interleaver.start(`activity ${holderOf(ref)}`, (task) =>
      this.portsFor(task).ledger.recordActivity({
        pool: model.spec.nodeSelector['inference-pool'] ?? 'default',
        holder: holderOf(ref),
        at: this.now,
      }),
    );
  }

  /** Lets up to `steps` waiting calls go, in the seed's order. */
  async interleave(steps: number): Promise<void> {
    for (let i = 0; i < steps && (await this.interleaver.step()); i++);
  }

  /** Finishes what runs, then moves time on, starting the scheduled pass at each interval. */
  async advance(ms: number, check?: () => void): Promise<void> {
    const until = this.now + ms;
    await this.interleaver.settle();
    while (this.nextPassAt <= until) {
      this.now = Math.max(this.now, this.nextPassAt);
      this.cluster.tick();
      this.nextPassAt += this.config.passIntervalMs;
      this.startPass();
      await this.interleaver.settle();
      check?.();
    }
    this.now = until;
    this.cluster.tick();
  }

  // ---- the Lambdas' ports: every call waits at a gate ----

  portsFor(task: Task): WarmUpPorts {
    const gate = (write: boolean) => this.interleaver.gate(task, write);
    return {
      cluster: gatedCluster(this.cluster, gate, () => this.cluster.tick()),
      ledger: gatedLedger(this.ledger, gate, this.readsOf(task)),
      log: this.logFor(task),
      clock: () => this.now,
      reconcileRequests: {
        request: async (ref) => {
          await gate(true);
          this.startReconcile(ref);
        },
      },
      reconcileIntervalMs: this.config.passIntervalMs,
      metrics: discardedMetrics(() => this.now, 'simulation'),
      sleep: async () => undefined,
      nodeScaling: this.nodes && this.nodeScalingPorts(task, gate),
    };
  }

  private nodeScalingPorts(task: Task, gate: (write: boolean) => Promise<unknown>): NodeScalingPorts {
    const nodes = this.nodes!;
    const gated = <T extends object>(target: T, writes: readonly string[]): T =>
      new Proxy(target, {
        get: (object, key) => {
          const value = Reflect.get(object, key) as unknown;
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            await gate(writes.includes(String(key)));
            const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
            this.cluster.tick();
            return result;
          };
        },
      });
    return {
      pools: this.config.pools,
      groups: gated(nodes, ['scaleOut', 'terminate']),
      nodes: gated(nodes, ['markEmptySince', 'cordon', 'uncordon']),
      scaleOuts: gated(nodes, ['record', 'clear']),
      log: this.logFor(task),
      clock: () => this.now,
      stabilisationMs: this.config.scaleInStabilisationMs,
    };
  }

  private reconcileOptions() {
    return { orphanGraceMs: this.config.orphanGraceMs, startDeadlineMs: this.config.startDeadlineMs };
  }

  private readsOf(task: Task): Map<string, Allocation> {
    let reads = this.reads.get(task.id);
    if (!reads) this.reads.set(task.id, (reads = new Map()));
    return reads;
  }

  private logFor(task: Task | undefined): ReconcileLog {
    const write = (level: LogLine['level']) => (message: string, fields: Record<string, unknown>) => {
      const line = { task, at: this.now, level, message, fields };
      this.log.push(line);
      for (const observer of this.observers) observer(line);
    };
    return { info: write('info'), warn: write('warn'), error: write('error') };
  }
}

type Gate = (write: boolean) => Promise<'proceed' | 'lose-answer'>;

const LEDGER_WRITES = new Set(['allocate', 'resize', 'release', 'claim', 'recordActivity', 'definePool']);

/**
 * The ledger behind the network: a write whose answer is lost was applied, and the SDK sends it again
 * (the caller sees the retry's answer), as DynamoDB's client does on a timeout.
 */
function gatedLedger(ledger: InMemoryLedger, gate: Gate, reads: Map<string, Allocation>): Ledger {
  return new Proxy(ledger, {
    get: (object, key) => {
      const value = Reflect.get(object, key) as unknown;
      if (typeof value !== 'function') return value;
      const call = (args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
      return async (...args: unknown[]) => {
        const write = LEDGER_WRITES.has(String(key));
        const outcome = await gate(write);
        if (outcome === 'lose-answer') await call(args).catch(() => undefined);
        const result = await call(args);
        remember(result, reads);
        return result;
      };
    },
  });
}

function remember(result: unknown, reads: Map<string, Allocation>): void {
  const pools = Array.isArray(result) ? result : [result];
  for (const pool of pools) {
    const allocations = (pool as { allocations?: Allocation[] } | undefined)?.allocations;
    if (Array.isArray(allocations)) for (const a of allocations) reads.set(a.holder, a);
  }
}

const CLUSTER_WRITES = new Set([
  'addFinalizer',
  'removeFinalizer',
  'createDeployment',
  'scaleDeployment',
  'rollOut',
  'annotateDeployment',
  'deleteDeployment',
  'patchStatus',
  'emitEvent',
]);

/** The apiserver behind the network: a write whose answer is lost was applied; the client sees an error. */
function gatedCluster(cluster: SimulatedCluster, gate: Gate, tick: () => void): Cluster {
  return new Proxy(cluster, {
    get: (object, key) => {
      const value = Reflect.get(object, key) as unknown;
      if (typeof value !== 'function' || !isPortMethod(key)) return value;
      return async (...args: unknown[]) => {
        const outcome = await gate(CLUSTER_WRITES.has(String(key)));
        tick();
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
        if (outcome === 'lose-answer')
          throw new Error(`${String(key)}: connection reset, the answer was lost`);
        return result;
      };
    },
  });
}

const PORT_METHODS = new Set([
  ...CLUSTER_WRITES,
  'listModels',
  'getModel',
  'listManagedDeployments',
  'getManagedDeployment',
  'startProblems',
]);

function isPortMethod(key: string | symbol): boolean {
  return PORT_METHODS.has(String(key));
}
