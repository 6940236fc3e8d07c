import { InMemoryLedger } from '../../lambdas/core/ledger/in-memory-ledger.js';
import type { ConfigMapState, MoeCluster, WorkloadListing } from '../../lambdas/core/moe/ports.js';
import type { MoeWorkload } from '../../lambdas/core/moe/workload.js';
import type { ModelRef } from '../../lambdas/core/inference-model.js';
import type {
  ActionClaims,
  ActionLog,
  ActionRecord,
  ClaimResult,
  PlannedChange,
  RemediationConfig,
  RemediationPorts,
} from '../../lambdas/core/remediation/ports.js';
import { RecordingLog } from './fake-cluster.js';

const Gi = 2 ** 30;
const HOUR_MS = 3600_000;

/** A trainer and an inference workload in `ml`, declared as docs/moe-workloads.md describes. */
export function moeWorkloads(): MoeWorkload[] {
  const base = {
    namespace: 'ml',
    pool: 'gpu-a100',
    memory: '80Gi',
    memoryBytes: 80 * Gi,
    maxReplicas: 4,
    checkpointLocation: '/storage/checkpoints',
    latestCheckpoint: undefined,
    checkpointPath: undefined,
    scaleBack: undefined,
    readyReplicas: 1,
    replicas: 1,
  };
  return [
    { ...base, name: 'moe-trainer', role: 'trainer', configMaps: { training: 'training-config' } },
    { ...base, name: 'moe-inference', role: 'inference', configMaps: { inference: 'inference-config' } },
  ] as MoeWorkload[];
}

/** The MoE side of a cluster in memory; every write is remembered in `writes`. */
export class FakeMoeCluster implements MoeCluster {
  readonly writes: string[] = [];
  readonly configMaps = new Map<string, ConfigMapState>();
  private version = 1;

  constructor(readonly workloads: MoeWorkload[] = moeWorkloads()) {
    this.configMaps.set('ml/training-config', {
      namespace: 'ml',
      name: 'training-config',
      data: { batch_size: '16', gradient_accumulation_steps: '1', load_balance_loss_coef: '0.01' },
      resourceVersion: '1',
    });
  }

  async listWorkloads(): Promise<WorkloadListing> {
    return { workloads: this.workloads.map((w) => structuredClone(w)), invalid: [] };
  }
  async readConfigMap(namespace: string, name: string) {
    const found = this.configMaps.get(`${namespace}/${name}`);
    return found && structuredClone(found);
  }
  async patchConfigMap(config: ConfigMapState, data: Record<string, string>) {
    const key = `${config.namespace}/${config.name}`;
    const stored = this.configMaps.get(key)!;
    if (stored.resourceVersion !== config.resourceVersion) throw new Error('conflict');
    this.configMaps.set(key, {
      ...stored,
      data: { ...stored.data, ...data },
      resourceVersion: String(++this.version),
    });
    this.writes.push(`patchConfigMap ${key} ${JSON.stringify(data)}`);
  }
  async restart(workload: ModelRef) {
    this.writes.push(`restart ${workload.namespace}/${workload.name}`);
  }
  async scale(workload: ModelRef, replicas: number, annotations: Record<string, string | null> = {}) {
    const stored = this.workloads.find(
      (w) => w.namespace === workload.namespace && w.name === workload.name,
    )!;
    stored.replicas = replicas;
    void annotations;
    this.writes.push(`scale ${workload.namespace}/${workload.name} ${replicas}`);
  }
  async annotate(workload: ModelRef, annotations: Record<string, string | null>) {
    this.writes.push(`annotate ${workload.namespace}/${workload.name} ${JSON.stringify(annotations)}`);
  }
}

interface Claim extends PlannedChange {
  workload: string;
  at: number;
  counted: boolean;
  leaseUntil: number | undefined;
}

/**
 * The claims contract of lambdas/adapters/dynamodb-remediation.ts over a Map (single-threaded JS makes
 * each call one atomic write), and an append-only audit log keyed by claim.
 */
export class InMemoryRemediationStore implements ActionClaims, ActionLog {
  readonly claims = new Map<string, Claim>();
  readonly records = new Map<string, ActionRecord>();

  async claim(request: Parameters<ActionClaims['claim']>[0]): Promise<ClaimResult> {
    const id = `${request.workload}|${request.key}`;
    const existing = this.claims.get(id);
    if (existing && existing.leaseUntil === undefined) return { status: 'duplicate' };
    if (existing && existing.leaseUntil! > request.now) return { status: 'in-progress' };
    if (existing) {
      existing.leaseUntil = request.now + request.leaseMs;
      return { status: 'resumed', plan: { before: existing.before, after: existing.after } };
    }
    const recent = [...this.claims.values()].filter((c) => c.counted && c.at > request.now - HOUR_MS);
    const scope = !request.counted
      ? undefined
      : recent.filter((c) => c.workload === request.workload).length >= request.limit
        ? ('workload' as const)
        : recent.length >= request.totalLimit
          ? ('total' as const)
          : undefined;
    this.claims.set(id, {
      workload: request.workload,
      at: request.now,
      counted: request.counted && scope === undefined,
      ...request.plan,
      leaseUntil: scope ? undefined : request.now + request.leaseMs,
    });
    return scope ? { status: 'rate-limited', scope } : { status: 'claimed' };
  }
  async complete(request: { workload: string; key: string }) {
    const claim = this.claims.get(`${request.workload}|${request.key}`);
    if (claim) claim.leaseUntil = undefined;
  }
  async unclaim(request: { workload: string; key: string }) {
    this.claims.delete(`${request.workload}|${request.key}`);
  }
  async record(record: ActionRecord & { claim: string }) {
    const id = `${record.workload}|${record.claim}`;
    if (!this.records.has(id)) this.records.set(id, record);
  }
}

/** Every action enabled, so that an action is a write the tests can see. */
export const ENABLED: RemediationConfig = {
  modes: {
    GPUMemoryUsageHigh: 'enabled',
    InferenceLatencyHigh: 'enabled',
    ExpertLoadImbalance: 'enabled',
    MoETrainingLossHigh: 'enabled',
  },
  maxActionsPerHour: 3,
  maxActionsPerHourTotal: 10,
  batchSizeFloor: 1,
  loadBalanceLossCoefMax: 0.1,
  latencyScaleBackMs: 30 * 60_000,
  restartOnTrainingLossHigh: false,
  runbookBaseUrl: 'docs/runbooks/',
};

/** Fresh fakes around one clock: a cluster, a ledger with room for the inference replicas, the store. */
export async function remediationWorld(now: () => number) {
  const cluster = new FakeMoeCluster();
  const ledger = new InMemoryLedger();
  await ledger.definePool({
    name: 'gpu-a100',
    totalBytes: 640 * Gi,
    bytesPerNode: 320 * Gi,
    nodeGroup: 'ng',
  });
  const store = new InMemoryRemediationStore();
  const announcements: string[] = [];
  const ports: RemediationPorts = {
    cluster,
    ledger,
    claims: store,
    actions: store,
    announcer: { announce: async (subject) => void announcements.push(subject) },
    log: new RecordingLog(),
    clock: now,
  };
  return { cluster, ledger, store, announcements, ports };
}
