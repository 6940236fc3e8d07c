import type { PoolSnapshot } from '../lambdas/core/ledger/ledger.js';
import { checkInvariants, isWorkloadReplica } from '../lambdas/core/ledger/rules.js';
import { cooldownMsOf, startDeadlineMsOf } from '../lambdas/core/reconcile/clocks.js';
import { holderOf, type InferenceModel } from '../lambdas/core/inference-model.js';
import { podTemplateFor, sameTemplate } from '../lambdas/core/reconcile/pod-template.js';
import { resolveDependency } from '../lambdas/core/reconcile/view.js';
import { parseQuantity } from '../lambdas/core/quantity.js';
import type { SimulatedDeployment } from './simulated-cluster.js';
import type { Task } from './interleaver.js';
import type { LogLine, WarmUpRecord, World } from './world.js';

/** A broken rule, named as the lifecycle issue names it (I1..I6). */
export interface Violation {
  rule: string;
  at: number;
  detail: string;
}

/**
 * Watches a world and checks the budget and lifecycle rules: the safety rules after every step, the
 * rules about time when told to (`checkLiveness`) once faults have stopped.
 */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  private scalesSeen = 0;
  private warmUpsSeen = 0;
  /** Since when each holder has held budget with no pods running or starting (liveness, I2). */
  private readonly heldIdleSince = new Map<string, number>();
  /** Running Deployments seen holding less than their pods' size, and the passes completed then. */
  private readonly undersized = new Map<string, number>();
  /** When each holder's budget was last allocated, or its pods last scaled up (the idle clock's other starts). */
  private readonly startedAt = new Map<string, number>();
  /** Until when a running model needed each model as a dependency (it does not idle out meanwhile). */
  private readonly neededUntil = new Map<string, number>();
  /** Running Deployments seen without budget: the Lambdas running then, and the passes completed then. */
  private readonly unbudgeted = new Map<string, { tasks: Task[]; passes: number }>();

  constructor(private readonly world: World) {
    world.onLog((line) => this.onLog(line));
  }

  /** The rules that hold at every step, whatever runs and whatever failed. */
  async checkStep(): Promise<void> {
    const pools = await this.world.ledger.listPools();
    this.budget(pools);
    this.statuses();
    this.startOrder();
    this.warmUpAnswers();
    this.noteDependencies();
  }

  /** I2: with no faults and passes on schedule, nothing holds budget it does not use for long. */
  async checkLiveness(): Promise<void> {
    const { world } = this;
    const now = world.now;
    const slack = 2 * world.config.passIntervalMs;
    const pools = await world.ledger.listPools();
    const held = new Set<string>();
    for (const pool of pools) {
      for (const allocation of pool.allocations) {
        if (isWorkloadReplica(allocation.holder)) continue;
        held.add(allocation.holder);
        const deployment = world.cluster.deployments.get(allocation.holder);
        const model = world.cluster.models.get(allocation.holder);
        if (deployment && deployment.replicas > 0) {
          this.heldIdleSince.delete(allocation.holder);
          if (!model) continue;
          const startingFor = now - (deployment.startedAt ?? now);
          const deadline = startDeadlineMsOf(model, world.config.startDeadlineMs);
          if (world.cluster.readyPods(deployment) === 0 && startingFor > deadline + slack) {
            this.fail(
              'I2',
              `${allocation.holder} has been starting for ${startingFor} ms, past its start deadline`,
            );
          }
          continue;
        }
        const since = this.heldIdleSince.get(allocation.holder) ?? now;
        this.heldIdleSince.set(allocation.holder, since);
        const limit = (model ? cooldownMsOf(model) : world.config.orphanGraceMs) + slack;
        const from = Math.max(since, allocation.since, allocation.lastActivity ?? 0);
        if (now - from > limit) {
          this.fail(
            'I2',
            `${allocation.holder} holds ${allocation.bytes} B in ${pool.name} with no pods for ${now - from} ms`,
          );
        }
      }
    }
    for (const holder of this.heldIdleSince.keys()) if (!held.has(holder)) this.heldIdleSince.delete(holder);
    this.idledOut(now, slack);
  }

  /** Which models running models need now (called at every step, so no dependent's run is missed). */
  private noteDependencies(): void {
    const { cluster, now } = this.world;
    for (const dependent of cluster.models.values()) {
      if ((cluster.deployments.get(holderOf(dependent))?.replicas ?? 0) === 0) continue;
      for (const holder of dependencyClosure(this.world, dependent)) this.neededUntil.set(holder, now);
    }
  }

  /**
   * I2 for running models: one Ready and not asked for during its cooldown is scaled to zero within
   * two passes. Counted from what happened in the world (requests, allocations, scale-ups, Ready, the
   * last running model that needed it), not from the ledger's clock, so a fix that restarts that clock
   * (a resize, say) shows.
   */
  private idledOut(now: number, slack: number): void {
    const { cluster } = this.world;
    this.noteDependencies();
    for (const deployment of cluster.deployments.values()) {
      const holder = holderOf(deployment);
      const model = cluster.models.get(holder);
      if (!model || model.deleting || deployment.replicas === 0 || deployment.readySince === undefined)
        continue;
      const from = Math.max(
        deployment.readySince,
        this.world.lastRequestAt.get(holder) ?? 0,
        this.startedAt.get(holder) ?? 0,
        this.neededUntil.get(holder) ?? 0,
      );
      // The status keeps whole seconds, and the idle clock starts at Ready rounded up.
      if (now - from > cooldownMsOf(model) + slack + 1_000) {
        this.fail('I2', `${holder} still runs ${now - from} ms after its last request, past its cooldown`);
      }
    }
  }

  /** At rest (nothing running, passes done): every running model holds exactly its pods' size, once. */
  async checkAtRest(): Promise<void> {
    const pools = await this.world.ledger.listPools();
    const holdings = new Map<string, string[]>();
    for (const pool of pools)
      for (const a of pool.allocations)
        holdings.set(a.holder, [...(holdings.get(a.holder) ?? []), pool.name]);
    for (const [holder, where] of holdings) {
      if (where.length > 1) this.fail('I1', `${holder} holds budget in ${where.join(' and ')}`);
    }
    for (const deployment of this.world.cluster.deployments.values()) {
      if (deployment.replicas === 0) continue;
      const allocation = this.allocationOf(pools, deployment);
      if (allocation && allocation.bytes !== this.world.cluster.givenBytes(deployment)) {
        this.fail(
          'I1',
          `${holderOf(deployment)} holds ${allocation.bytes} B but its pods were given ${deployment.memory}`,
        );
      }
      // An edit of image, resources or pool has rolled out: the pods run what the spec asks for.
      const model = this.world.cluster.models.get(holderOf(deployment));
      if (
        model?.spec.containerImage &&
        !model.deleting &&
        !sameTemplate(deployment.template, podTemplateFor(model))
      ) {
        this.fail('I1', `${holderOf(deployment)} runs a pod template its spec no longer asks for`);
      }
    }
  }

  // I1: the pool's counters, and every running Deployment budgeted where its pods run, never below their size.
  private budget(pools: PoolSnapshot[]): void {
    for (const holder of this.unbudgeted.keys()) {
      const d = this.world.cluster.deployments.get(holder);
      if (!d || d.replicas === 0 || this.allocationOf(pools, d)) this.unbudgeted.delete(holder);
    }
    for (const pool of pools)
      for (const problem of checkInvariants(pool)) this.fail('I1', `pool ${pool.name}: ${problem}`);
    for (const deployment of this.world.cluster.deployments.values()) {
      if (deployment.replicas === 0) continue;
      const allocation = this.allocationOf(pools, deployment);
      const given = this.world.cluster.givenBytes(deployment);
      if (!allocation) this.unbudgetedSeen(deployment);
      else if (allocation.bytes < given) this.undersizedSeen(deployment, allocation.bytes, given);
      else this.undersized.delete(holderOf(deployment));
    }
  }

  /**
   * Two stores (the cluster and the ledger) cannot change in one step: a scale-up can overtake a
   * release, and the Lambda that did it then budgets its pods again (keepBudgeted). So pods seen
   * running without budget break I1 when they still do once every Lambda running at that moment has
   * finished; if one of them crashed, the next whole pass must have repaired it.
   */
  private unbudgetedSeen(deployment: SimulatedDeployment): void {
    const holder = holderOf(deployment);
    const seen = this.unbudgeted.get(holder);
    if (!seen) {
      const running = this.world.interleaver.tasks.filter((t) => !t.done);
      this.unbudgeted.set(holder, { tasks: running, passes: this.world.passesCompleted });
      if (running.length > 0) return;
    } else {
      if (seen.tasks.some((t) => !t.done)) return;
      if (seen.tasks.some((t) => t.crashed) && this.world.passesCompleted <= seen.passes + 1) return;
    }
    this.fail(
      'I1',
      `${holder} runs ${deployment.replicas} replica(s) in ${this.world.cluster.poolOfPods(deployment)} with no allocation there`,
    );
  }

  /**
   * A grow is budgeted before the Deployment's note of the pods' size, a shrink after; but two
   * reconciles resizing from different spec versions can leave the note ahead. The next pass settles
   * it (decide: resize), so it breaks I1 only when it outlives a whole pass.
   */
  private undersizedSeen(deployment: SimulatedDeployment, held: number, given: number): void {
    const holder = holderOf(deployment);
    const seen = this.undersized.get(holder);
    if (seen === undefined) this.undersized.set(holder, this.world.passesCompleted);
    else if (this.world.passesCompleted > seen + 1 && !this.world.interleaver.busy) {
      this.fail('I1', `${holder} holds ${held} B, less than the ${given} B its pods were given`);
    }
  }

  // I5: ready, the Ready condition and replicas never contradict.
  private statuses(): void {
    for (const model of this.world.cluster.models.values()) {
      const { ready, replicas, conditions } = model.status;
      if (conditions === undefined) continue;
      const condition = conditions.find((c) => c.type === 'Ready');
      if ((condition?.status === 'True') !== (ready === true)) {
        this.fail(
          'I5',
          `${holderOf(model)}: ready=${ready} but Ready=${condition?.status} (${condition?.reason})`,
        );
      }
      if (ready && !(replicas && replicas > 0))
        this.fail('I5', `${holderOf(model)}: ready with ${replicas} replicas`);
      if ((condition?.reason === 'Deployed') !== (ready === true)) {
        this.fail('I5', `${holderOf(model)}: reason ${condition?.reason} with ready=${ready}`);
      }
    }
  }

  // I6: a model starts only after its dependencies (each ready now, or until the last pass).
  private startOrder(): void {
    const { scales } = this.world.cluster;
    for (; this.scalesSeen < scales.length; this.scalesSeen++) {
      const scale = scales[this.scalesSeen]!;
      for (const name of scale.dependenciesDown) {
        this.fail('I6', `${scale.holder} started before its dependency ${name} was ready`);
      }
    }
  }

  // I4 and I5 on the warm-up API's answers; no answer is a 5xx when nothing failed underneath.
  private warmUpAnswers(): void {
    const records = this.world.warmUps;
    for (; this.warmUpsSeen < records.length; this.warmUpsSeen++) {
      const record = records[this.warmUpsSeen]!;
      if (!record.answer && !record.error && !record.failure) {
        // Still running: look again next step.
        break;
      }
      this.warmUpAnswer(record);
    }
  }

  private warmUpAnswer(record: WarmUpRecord): void {
    if (record.failure) {
      if (this.world.interleaver.faults.lostAnswer === 0 && this.world.interleaver.faults.crash === 0) {
        this.fail('I4', `warm-up of ${holderOf(record.ref)} failed: ${record.failure.message}`);
      }
      return;
    }
    if (record.answer) {
      const { body } = record.answer;
      if (body.ready !== (body.reason === 'Deployed') || (body.ready && body.replicas === 0)) {
        this.fail(
          'I5',
          `warm-up view of ${holderOf(record.ref)}: ready=${body.ready}, reason ${body.reason}, replicas ${body.replicas}`,
        );
      }
      return;
    }
    if (record.error?.body.error.code !== 'insufficient_memory') return;
    const details = record.error.body.error.details as {
      requested: { memory: string };
      available: string;
      blocking: { model: string; namespace: string; memory: string }[];
    };
    const requester = this.world.cluster.models.get(holderOf(record.ref));
    const needed =
      parseQuantity(details.requested.memory) -
      (details.available === '0' ? 0 : parseQuantity(details.available));
    const sizes = details.blocking.map((b) => parseQuantity(b.memory));
    const freed = sizes.reduce((a, b) => a + b, 0);
    const retryAfter = record.error.headers['Retry-After'];
    if (retryAfter !== undefined && sizes.some((size) => freed - size >= needed)) {
      this.fail(
        'I4',
        `429 for ${holderOf(record.ref)} names more than it needs: ${JSON.stringify(details.blocking)}`,
      );
    }
    for (const b of details.blocking) {
      const holder = `${b.namespace}/${b.model}`;
      const named = this.world.cluster.models.get(holder);
      if (holder === holderOf(record.ref) || isWorkloadReplica(holder))
        this.fail('I4', `429 names ${holder}`);
      if (requester && named && dependencyClosure(this.world, requester).has(holder)) {
        this.fail('I4', `429 for ${holderOf(record.ref)} names its own dependency ${holder}`);
      }
    }
  }

  private onLog(line: LogLine): void {
    if (line.message === 'Memory budget allocated' || line.message === 'Triggered scale-up for deployment') {
      this.startedAt.set(`${String(line.fields.namespace)}/${String(line.fields.model)}`, line.at);
    }
    if (line.message !== 'Scaled deployment to zero replicas' || !line.task) return;
    const holder = `${String(line.fields.namespace)}/${String(line.fields.model)}`;
    const model = this.world.cluster.models.get(holder);
    const deployment = this.world.cluster.deployments.get(holder);
    if (!model || !deployment) return;
    if (line.fields.reason === 'idle timeout') {
      // I3: the request the pass last read and the moment the model became Ready are both a cooldown ago.
      const read = this.world.reads.get(line.task.id)?.get(holder);
      const lastRequest = Math.max(read?.since ?? 0, read?.lastActivity ?? 0);
      const cooldown = cooldownMsOf(model);
      // Pods that lost their node restart without the control plane: it counts from the Ready it saw.
      const restartedUnseen = (deployment.evictedAt ?? -Infinity) >= (deployment.startedAt ?? 0);
      const readyFor = restartedUnseen ? Infinity : line.at - (deployment.lastReadySince ?? line.at);
      if (line.at - lastRequest <= cooldown || readyFor <= cooldown) {
        this.fail(
          'I3',
          `${holder} scaled to zero within its cooldown (last request ${line.at - lastRequest} ms ago, Ready ${line.at - (deployment.lastReadySince ?? line.at)} ms ago)`,
        );
      }
    }
    if (line.fields.reason === 'start deadline exceeded') {
      const startedAt = deployment.startedAt ?? line.at;
      if (line.at - startedAt <= startDeadlineMsOf(model, this.world.config.startDeadlineMs)) {
        this.fail(
          'I3',
          `${holder} given up ${line.at - startedAt} ms after it started, within its start deadline`,
        );
      }
    }
  }

  private allocationOf(pools: PoolSnapshot[], deployment: SimulatedDeployment) {
    const pool = pools.find((p) => p.name === this.world.cluster.poolOfPods(deployment));
    return pool?.allocations.find((a) => a.holder === holderOf(deployment));
  }

  private fail(rule: string, detail: string): void {
    this.violations.push({ rule, at: this.world.now, detail });
  }
}

/** Every model `model` needs, directly or through others. */
function dependencyClosure(world: World, model: InferenceModel, found = new Set<string>()): Set<string> {
  for (const name of model.spec.dependencies) {
    const dependency = resolveDependency(world.cluster.models.values(), model.namespace, name);
    if (!dependency || found.has(holderOf(dependency))) continue;
    found.add(holderOf(dependency));
    dependencyClosure(world, dependency, found);
  }
  return found;
}
