// Each automated alert's Step: what to change for it, read from the workload and its pool.
import { formatDuration } from '../duration.js';
import { LedgerError, type BlockingAllocation, type PoolSnapshot } from '../ledger/ledger.js';
import { fenceOf, findBlocking } from '../ledger/rules.js';
import type { ConfigMapState } from '../moe/ports.js';
import { MOE_ANNOTATIONS, replicaHolder, workloadKey, type MoeWorkload } from '../moe/workload.js';
import { formatQuantity } from '../quantity.js';
import type { Alert } from './alerts.js';
import {
  checkpointToRestartFrom,
  planCapacityFactor,
  planGpuMemoryRelief,
  planLoadBalanceCoef,
  type KeyChange,
} from './plans.js';
import type { RemediationConfig, RemediationPorts } from './ports.js';
import { configChanges, notifyOnly, NothingWritten, withRestart, type Step } from './step.js';
import type { AutomatedAlert } from './targets.js';
export async function plan(
  ports: RemediationPorts,
  config: RemediationConfig,
  name: AutomatedAlert,
  alert: Alert,
  workload: MoeWorkload,
  mode: 'enabled' | 'dry-run',
): Promise<Step> {
  switch (name) {
    case 'GPUMemoryUsageHigh':
      return planGpuMemory(ports, config, workload);
    case 'ExpertLoadImbalance':
      return planImbalance(ports, config, workload);
    case 'MoETrainingLossHigh':
      return planLossHigh(ports, config, workload);
    case 'InferenceLatencyHigh':
      return planScaleUp(ports, alert, workload, mode);
  }
}

async function planGpuMemory(
  ports: RemediationPorts,
  config: RemediationConfig,
  workload: MoeWorkload,
): Promise<Step> {
  const configMap = await readConfig(ports, workload, workload.configMaps.training!);
  if (typeof configMap === 'string') return notifyOnly(configMap);
  const relief = planGpuMemoryRelief(configMap.data, config.batchSizeFloor);
  if (relief.problem) return notifyOnly(`${configMap.name}: ${relief.problem}`);
  return withRestart(
    ports,
    workload,
    configChanges(ports.cluster, [[configMap, relief.changes]]),
    'to load the new training config',
  );
}

async function planImbalance(
  ports: RemediationPorts,
  config: RemediationConfig,
  workload: MoeWorkload,
): Promise<Step> {
  const training = await readConfig(ports, workload, workload.configMaps.training!);
  if (typeof training === 'string') return notifyOnly(training);
  const routerName = workload.configMaps.router;
  const router = routerName ? await readConfig(ports, workload, routerName) : training;
  if (typeof router === 'string') return notifyOnly(router);
  const coef = planLoadBalanceCoef(training.data, config.loadBalanceLossCoefMax);
  const capacity = planCapacityFactor(router.data);
  const problems = [coef.problem, capacity.problem].filter((p): p is string => p !== undefined);
  if (problems.length > 0) return notifyOnly(problems.join('; '));
  const edits: [ConfigMapState, KeyChange[]][] =
    router === training
      ? [[training, [...coef.changes, ...capacity.changes]]]
      : [
          [training, coef.changes],
          [router, capacity.changes],
        ];
  const step = configChanges(
    ports.cluster,
    edits.filter(([, changes]) => changes.length > 0),
  );
  if (!step.apply) {
    return notifyOnly(
      `load_balance_loss_coef is at its cap (${config.loadBalanceLossCoefMax}) and expert_capacity_factor is at least 1.5: review the router by hand`,
    );
  }
  return {
    ...step,
    message: `${step.message}. The trainer picks the values up when it re-reads its config (mounted ConfigMap) or restarts`,
  };
}

async function planLossHigh(
  ports: RemediationPorts,
  config: RemediationConfig,
  workload: MoeWorkload,
): Promise<Step> {
  const notice =
    `Training loss of ${workloadKey(workload)} has not decreased for an hour. Check the trainer's logs, learning rate and ` +
    'expert balance (runbook)';
  if (!config.restartOnTrainingLossHigh) return notifyOnly(notice);
  const checkpoint = checkpointToRestartFrom(workload.latestCheckpoint, workload.checkpointLocation);
  if (!checkpoint.path) return notifyOnly(`${notice}. Not restarting: ${checkpoint.problem}`);
  return withRestart(
    ports,
    workload,
    { counted: true, before: {}, after: {}, message: notice, undo: [] },
    'from its newest checkpoint',
  );
}

async function planScaleUp(
  ports: RemediationPorts,
  alert: Alert,
  workload: MoeWorkload,
  mode: 'enabled' | 'dry-run',
): Promise<Step> {
  const ref = workloadKey(workload);
  const replicas = workload.replicas;
  const before = { replicas: String(replicas) };
  if (replicas >= workload.maxReplicas) {
    return notifyOnly(
      `${ref} already runs its declared maximum of ${workload.maxReplicas} replicas; scale other models down or raise the maximum`,
    );
  }
  const holder = replicaHolder(workload, replicas);
  const baseline = workload.scaleBack?.replicas ?? replicas;
  const annotations = {
    [MOE_ANNOTATIONS.scaleBackReplicas]: String(baseline),
    [MOE_ANNOTATIONS.latencyHighSince]: new Date(alert.startsAt).toISOString(),
    [MOE_ANNOTATIONS.latencyLowSince]: null,
  };
  const step: Step = {
    counted: true,
    before,
    after: { replicas: String(replicas + 1) },
    message: `Added inference replica ${replicas + 1} of ${ref} (${workload.memory} in pool ${workload.pool}); it goes back to ${baseline} once latency has stayed low`,
    undo: [`kubectl scale deployment/${workload.name} -n ${workload.namespace} --replicas=${replicas}`],
    apply: async () => {
      const allocation = await ports.ledger
        .allocate({ pool: workload.pool, holder, bytes: workload.memoryBytes, now: ports.clock() })
        .catch((error: unknown) => {
          throw new NothingWritten(error);
        });
      if (allocation.outcome === 'insufficient') {
        return {
          outcome: 'blocked',
          message: blockedMessage(workload, allocation.pool, allocation.blocking),
        };
      }
      try {
        await ports.cluster.scale(workload, replicas + 1, annotations);
      } catch (error) {
        const held = allocation.pool.allocations.find((a) => a.holder === holder);
        if (held) await ports.ledger.release({ pool: workload.pool, holder, fence: fenceOf(held) });
        throw new NothingWritten(error);
      }
    },
  };
  // Seen full before claiming: no slot of the hourly limit is spent on a scale-up that cannot happen.
  // (A race lost between this read and the allocation still ends as `blocked`, through the claim.)
  const dryRun = mode === 'dry-run' ? 'Dry run: ' : '';
  const pool = await ports.ledger.readPool(workload.pool).catch((error: unknown) => {
    if (error instanceof LedgerError && error.code === 'unknown_pool') return undefined;
    throw error;
  });
  if (!pool) return notifyOnly(`${dryRun}pool ${workload.pool} has no budget, so no replica can be added`);
  if (pool.availableBytes < workload.memoryBytes) {
    const { blocking } = findBlocking(pool, workload.memoryBytes, ports.clock());
    return {
      ...notifyOnly(`${dryRun}${blockedMessage(workload, pool, blocking)}`),
      blocked: true,
    };
  }
  return step;
}

/**
 * Why no replica could be added. Blocking models are those a cooldown would release; when none would,
 * the holders (workload replicas included) are named largest first, so on-call sees who has the pool.
 */
function blockedMessage(
  workload: MoeWorkload,
  pool: PoolSnapshot,
  blocking: readonly BlockingAllocation[],
): string {
  const blockers = blocking.map(
    (b) => `${b.holder} (${formatQuantity(b.bytes)}, idle ${formatDuration(b.idleMs)})`,
  );
  const holders = [...pool.allocations]
    .sort((a, b) => b.bytes - a.bytes)
    .map((a) => `${a.holder} (${formatQuantity(a.bytes)})`);
  return (
    `Cannot add an inference replica to ${workloadKey(workload)}: it needs ${workload.memory} in pool ${workload.pool}, ` +
    `${formatQuantity(pool.availableBytes)} free` +
    (blockers.length > 0
      ? `; blocking models: ${blockers.join(', ')}`
      : `; no cooldown would make room, the pool is held by: ${holders.join(', ') || 'nobody'}`)
  );
}

async function readConfig(
  ports: RemediationPorts,
  workload: MoeWorkload,
  name: string,
): Promise<ConfigMapState | string> {
  const found = await ports.cluster.readConfigMap(workload.namespace, name);
  return found ?? `ConfigMap ${workload.namespace}/${name} (declared for ${workload.name}) does not exist`;
}
