import { parseDuration } from '../lambdas/core/duration.js';
import { holderOf, POOL_LABEL, type InferenceModel } from '../lambdas/core/inference-model.js';
import type { PodFault } from './simulated-cluster.js';
import { InvariantChecker } from './invariants.js';
import { World, type WorldConfig } from './world.js';
import type { FaultRates } from './interleaver.js';

/** What a generated history may do to a world, one step at a time. */
export type HistoryStep =
  | { kind: 'warm-up' | 'activity' | 'reconcile' | 'delete' | 'recreate' | 'probe'; model: number }
  | { kind: 'edit'; model: number; edit: ModelEdit }
  | { kind: 'fault'; model: number; fault: PodFault }
  | { kind: 'interleave'; steps: number }
  | { kind: 'advance'; ms: number }
  /** A scheduled pass that starts now and runs alongside what is in flight (a late or early schedule). */
  | { kind: 'pass' };

export type ModelEdit =
  | { memoryGi: number }
  | { image: string }
  | { gpu: number }
  | { pool: string }
  | { maxReplicas: number }
  | { cooldown: string };

export interface HistoryOptions {
  config: Omit<WorldConfig, 'seed'>;
  models: InferenceModel[];
  faults: FaultRates;
  /** How long the fault-free tail runs after the history (enough for every cooldown and deadline). */
  tailMs: number;
}

/**
 * Plays a generated history against a fresh world with faults injected, checking the safety rules
 * after every step; then a fault-free tail with passes on schedule checks the rules about time, and a
 * rest check the exact sizes. Returns every violation found (empty: the history passed).
 */
export async function playHistory(
  seed: number,
  steps: HistoryStep[],
  options: HistoryOptions,
  onFailure?: (world: World) => void,
) {
  const world = new World({ ...options.config, seed });
  const checker = new InvariantChecker(world);
  await world.definePools();
  for (const model of options.models) world.apply(model);
  world.faults = options.faults;
  for (const step of steps) {
    await perform(world, step, options, checker);
    await checker.checkStep();
    if (checker.violations.length > 0) return failed(checker, world, onFailure);
  }
  world.faults = { crash: 0, lostAnswer: 0 };
  await world.interleaver.settle();
  await checker.checkStep();
  for (let waited = 0; waited < options.tailMs; waited += options.config.passIntervalMs) {
    await world.advance(options.config.passIntervalMs);
    await checker.checkStep();
    await checker.checkLiveness();
    if (checker.violations.length > 0) return failed(checker, world, onFailure);
  }
  await checker.checkAtRest();
  return failed(checker, world, onFailure);
}

function failed(checker: InvariantChecker, world: World, onFailure?: (world: World) => void) {
  if (checker.violations.length > 0) onFailure?.(world);
  return checker.violations;
}

async function perform(world: World, step: HistoryStep, options: HistoryOptions, checker: InvariantChecker) {
  const model = 'model' in step ? options.models[step.model % options.models.length]! : undefined;
  switch (step.kind) {
    case 'warm-up':
      world.startWarmUp(model!);
      break;
    case 'activity':
      world.startActivity(model!);
      break;
    case 'reconcile':
      world.startReconcile(model!);
      break;
    case 'delete':
      world.delete(model!);
      break;
    case 'recreate':
      if (!world.cluster.models.has(holderOf(model!)))
        world.apply({ ...model!, uid: `${model!.uid}-${world.now}` });
      break;
    case 'edit':
      await edit(world, model!, step.edit);
      break;
    case 'fault':
      world.cluster.faults.set(holderOf(model!), step.fault);
      break;
    case 'interleave':
      await world.interleave(step.steps);
      break;
    case 'advance':
      await world.advance(step.ms, () => void checker.checkStep());
      break;
    case 'probe':
      await probeRetryAfter(world, model!, checker);
      break;
    case 'pass':
      world.startPass();
      break;
  }
}

/** A user's edit, through admission: a pool change is refused while the model holds budget in its pool. */
async function edit(world: World, template: InferenceModel, change: ModelEdit): Promise<void> {
  const stored = world.cluster.models.get(holderOf(template));
  if (!stored || stored.deleting) return;
  const spec = structuredClone(stored.spec);
  if ('memoryGi' in change) spec.memory = `${change.memoryGi}Gi`;
  if ('image' in change) spec.containerImage = change.image;
  if ('gpu' in change) spec.resources = { limits: { gpu: change.gpu } };
  if ('maxReplicas' in change) spec.maxReplicas = change.maxReplicas;
  if ('cooldown' in change) spec.cooldownPeriod = change.cooldown;
  if ('pool' in change) {
    const from = spec.nodeSelector[POOL_LABEL] ?? 'default';
    const pool = await world.ledger.readPool(from);
    if (pool.allocations.some((a) => a.holder === holderOf(stored))) return; // refused by the webhook
    spec.nodeSelector = { ...spec.nodeSelector, [POOL_LABEL]: change.pool };
  }
  world.apply({ ...stored, spec });
}

/**
 * I4's promise, tested: with everything settled, a lone warm-up that gets 429 with Retry-After gets
 * 200 or 202 when it comes back then, in a copy of the world where nothing else is asked for. Only
 * where no other model of the pool waits for the same room (it could take it first).
 */
async function probeRetryAfter(
  world: World,
  model: InferenceModel,
  checker: InvariantChecker,
): Promise<void> {
  if (world.nodes) return;
  const faults = world.interleaver.faults;
  world.faults = { crash: 0, lostAnswer: 0 };
  await world.interleaver.settle();
  const record = world.startWarmUp(model);
  await world.interleaver.settle();
  world.faults = faults;
  const retryAfter = record.error?.headers['Retry-After'];
  if (retryAfter === undefined || (await othersWaiting(world, model))) return;
  const replay = world.fork(world.now % 2 ** 31);
  await replay.advance(Number(retryAfter) * 1000);
  const again = replay.startWarmUp(model);
  await replay.interleaver.settle();
  if (!again.answer) {
    checker.violations.push({
      rule: 'I4',
      at: world.now,
      detail: `429 for ${holderOf(model)} promised room in ${retryAfter} s, but then: ${again.error?.message ?? again.failure?.message}`,
    });
  }
}

async function othersWaiting(world: World, model: InferenceModel): Promise<boolean> {
  const stored = world.cluster.models.get(holderOf(model));
  if (!stored) return true;
  // A start in progress anywhere (budget held at zero replicas) may warm dependencies into this pool.
  const starting = [...world.cluster.models.values()].some((other) => {
    const d = world.cluster.deployments.get(holderOf(other));
    return (
      holderOf(other) !== holderOf(stored) && other.spec.dependencies.length > 0 && (!d || d.replicas === 0)
    );
  });
  if (starting) return true;
  const pool = stored.spec.nodeSelector[POOL_LABEL] ?? 'default';
  return [...world.cluster.models.values()].some((other) => {
    if (holderOf(other) === holderOf(stored) || (other.spec.nodeSelector[POOL_LABEL] ?? 'default') !== pool)
      return false;
    const reason = other.status.conditions?.find((c) => c.type === 'Ready')?.reason;
    return (
      !world.cluster.deployments.has(holderOf(other)) ||
      reason === 'InsufficientMemory' ||
      reason === 'Pending'
    );
  });
}

/** The longest wait a history's models can have: their cooldowns or start deadlines, plus slack. */
export function tailFor(models: InferenceModel[], config: Omit<WorldConfig, 'seed'>): number {
  const longest = Math.max(
    ...models.map((m) => parseDuration(m.spec.cooldownPeriod)),
    config.startDeadlineMs,
    config.orphanGraceMs,
  );
  return 2 * longest + 6 * config.passIntervalMs;
}
