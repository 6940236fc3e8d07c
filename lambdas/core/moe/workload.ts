import type { PoolSnapshot } from '../ledger/ledger.js';
import { validatePoolName } from '../ledger/rules.js';
import { formatQuantity, parseQuantity, QUANTITY_PATTERN } from '../quantity.js';
import { API_GROUP, POOL_LABEL } from '../inference-model.js';

/**
 * MoE workloads are the lab's own Deployments (`moe-trainer`, `moe-inference`) declared to the control
 * plane with a label and annotations (docs/moe-workloads.md); the control plane never creates them.
 */
export const MOE_ROLE_LABEL = `${API_GROUP}/moe-role`;
export const MOE_ANNOTATIONS = {
  pool: `${API_GROUP}/node-pool`,
  memory: `${API_GROUP}/gpu-memory-per-replica`,
  maxReplicas: `${API_GROUP}/max-replicas`,
  configMaps: `${API_GROUP}/config-maps`,
  checkpointLocation: `${API_GROUP}/checkpoint-location`,
  /** Written by the trainer after each checkpoint it saves: the contract for "restart from the newest". */
  latestCheckpoint: `${API_GROUP}/latest-checkpoint`,
  /** Written by the control plane while an inference workload runs extra replicas for latency. */
  scaleBackReplicas: `${API_GROUP}/scale-back-replicas`,
  latencyHighSince: `${API_GROUP}/latency-high-since`,
  latencyLowSince: `${API_GROUP}/latency-low-since`,
} as const;

export type MoeRole = 'trainer' | 'inference';
export const MOE_ROLES: readonly MoeRole[] = ['trainer', 'inference'];
/** Holder indexes are at most four digits (ledger rule), so replicas stop at 9999. */
export const MAX_DECLARED_REPLICAS = 1000;

/** Which ConfigMap plays which part; names default to the playbook's. */
export interface ConfigMapNames {
  training?: string;
  router?: string;
  inference?: string;
}
const CONFIG_MAP_PARTS: Record<
  MoeRole,
  { required: (keyof ConfigMapNames)[]; optional: (keyof ConfigMapNames)[] }
> = {
  trainer: { required: ['training'], optional: ['router'] },
  inference: { required: ['inference'], optional: [] },
};
const DEFAULT_CONFIG_MAPS: Record<MoeRole, ConfigMapNames> = {
  trainer: { training: 'training-config', router: 'router-config' },
  inference: { inference: 'inference-config' },
};
export const DEFAULT_CHECKPOINT_LOCATION = '/storage/checkpoints';
const CONFIG_MAP_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CHECKPOINT_DIR = /^\/[A-Za-z0-9._\-/]*[A-Za-z0-9._-]$/;

/** A declared workload as the control plane uses it. */
export interface MoeDeclaration {
  role: MoeRole;
  pool: string;
  memory: string;
  memoryBytes: number;
  maxReplicas: number;
  configMaps: ConfigMapNames;
  /** Trainer only: the directory the trainer saves `step-N` checkpoints into. */
  checkpointLocation: string | undefined;
}

export interface MoeWorkload extends MoeDeclaration {
  namespace: string;
  name: string;
  replicas: number;
  readyReplicas: number;
  /** What the trainer last reported (annotation), if anything. */
  latestCheckpoint: string | undefined;
  /** `CHECKPOINT_PATH` of the pod template now, if set. */
  checkpointPath: string | undefined;
  /** Present while extra replicas added for latency are outstanding. */
  scaleBack: ScaleBack | undefined;
}

/** The replicas to return to, and when latency last went high (the scale-up) and low again. */
export interface ScaleBack {
  replicas: number;
  highSince: number | undefined;
  lowSince: number | undefined;
}

/** The parts of a Deployment a declaration is read from. */
export interface DeploymentShape {
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** The pod template's nodeSelector: where the pods really go. */
  nodeSelector: Readonly<Record<string, string>>;
}

export type DeclarationResult =
  | { declared: false }
  | { declared: true; declaration: MoeDeclaration; problems: [] }
  | { declared: true; declaration: undefined; problems: string[] };

/** Reads and checks a declaration; each problem names the label or annotation and what is expected. */
export function readDeclaration(deployment: DeploymentShape): DeclarationResult {
  const role = deployment.labels[MOE_ROLE_LABEL];
  if (role === undefined) return { declared: false };
  const problems: string[] = [];
  const annotation = (key: string) => deployment.annotations[key];
  if (!MOE_ROLES.includes(role as MoeRole)) {
    problems.push(`label ${MOE_ROLE_LABEL}: "${role}" must be one of ${MOE_ROLES.join(', ')}`);
  }
  const pool = annotation(MOE_ANNOTATIONS.pool);
  if (pool === undefined) {
    problems.push(
      `annotation ${MOE_ANNOTATIONS.pool} is required: the node pool whose budget the replicas use`,
    );
  } else {
    try {
      validatePoolName(pool);
      const podPool = deployment.nodeSelector[POOL_LABEL];
      if (podPool !== pool) {
        problems.push(
          `spec.template.spec.nodeSelector.${POOL_LABEL} must be "${pool}" (annotation ${MOE_ANNOTATIONS.pool}), ` +
            `got ${podPool === undefined ? 'nothing' : `"${podPool}"`}: the pods must run in the pool whose budget they hold`,
        );
      }
    } catch (error) {
      problems.push(`annotation ${MOE_ANNOTATIONS.pool}: ${(error as Error).message}`);
    }
  }
  const memory = annotation(MOE_ANNOTATIONS.memory);
  let memoryBytes = 0;
  if (memory === undefined || !QUANTITY_PATTERN.test(memory)) {
    problems.push(
      `annotation ${MOE_ANNOTATIONS.memory} must be the GPU memory one replica holds, e.g. 80Gi (got ${memory === undefined ? 'nothing' : `"${memory}"`})`,
    );
  } else {
    memoryBytes = parseQuantity(memory);
    if (memoryBytes === 0) problems.push(`annotation ${MOE_ANNOTATIONS.memory} must be more than 0`);
  }
  const maxText = annotation(MOE_ANNOTATIONS.maxReplicas);
  const maxReplicas = Number(maxText);
  if (
    maxText === undefined ||
    !/^[0-9]+$/.test(maxText) ||
    maxReplicas < 1 ||
    maxReplicas > MAX_DECLARED_REPLICAS
  ) {
    problems.push(
      `annotation ${MOE_ANNOTATIONS.maxReplicas} must be a whole number from 1 to ${MAX_DECLARED_REPLICAS} (got ${maxText === undefined ? 'nothing' : `"${maxText}"`})`,
    );
  }
  const validRole = MOE_ROLES.includes(role as MoeRole) ? (role as MoeRole) : undefined;
  const configMaps = validRole
    ? readConfigMaps(validRole, annotation(MOE_ANNOTATIONS.configMaps), problems)
    : {};
  let checkpointLocation: string | undefined;
  if (validRole === 'trainer') {
    checkpointLocation = annotation(MOE_ANNOTATIONS.checkpointLocation) ?? DEFAULT_CHECKPOINT_LOCATION;
    if (!CHECKPOINT_DIR.test(checkpointLocation) || checkpointLocation.split('/').includes('..')) {
      problems.push(
        `annotation ${MOE_ANNOTATIONS.checkpointLocation} must be an absolute directory without "..", e.g. ${DEFAULT_CHECKPOINT_LOCATION}`,
      );
    }
  } else if (validRole === 'inference' && annotation(MOE_ANNOTATIONS.checkpointLocation) !== undefined) {
    problems.push(`annotation ${MOE_ANNOTATIONS.checkpointLocation} is for trainers only`);
  }
  if (problems.length > 0 || !validRole || pool === undefined || memory === undefined) {
    return { declared: true, declaration: undefined, problems };
  }
  return {
    declared: true,
    declaration: { role: validRole, pool, memory, memoryBytes, maxReplicas, configMaps, checkpointLocation },
    problems: [],
  };
}

/** `training=training-config,router=router-config`; absent, the playbook's names. */
function readConfigMaps(role: MoeRole, text: string | undefined, problems: string[]): ConfigMapNames {
  if (text === undefined) return { ...DEFAULT_CONFIG_MAPS[role] };
  const parts = CONFIG_MAP_PARTS[role];
  const allowed = [...parts.required, ...parts.optional];
  const names: ConfigMapNames = {};
  const where = `annotation ${MOE_ANNOTATIONS.configMaps}`;
  const reported = problems.length;
  for (const entry of text.split(',').map((e) => e.trim())) {
    const [part, name, ...rest] = entry.split('=').map((e) => e.trim());
    if (!part || !name || rest.length > 0) {
      problems.push(
        `${where}: "${entry}" is not part=name (e.g. ${allowed.map((p) => `${p}=${DEFAULT_CONFIG_MAPS[role][p]}`).join(',')})`,
      );
      continue;
    }
    if (!allowed.includes(part as keyof ConfigMapNames)) {
      problems.push(`${where}: a ${role} has no "${part}" ConfigMap (allowed: ${allowed.join(', ')})`);
      continue;
    }
    if (!CONFIG_MAP_NAME.test(name)) {
      problems.push(`${where}: "${name}" is not a valid ConfigMap name`);
      continue;
    }
    names[part as keyof ConfigMapNames] = name;
  }
  // A required part is reported missing only when no entry was malformed (which may have meant it).
  if (problems.length > reported) return names;
  for (const part of parts.required) {
    if (!names[part]) problems.push(`${where}: the ${part} ConfigMap is required for a ${role}`);
  }
  return names;
}

/** What the webhook adds to a valid declaration once it has read the pool: denials and warnings. */
export function checkWorkloadBudget(
  ref: { namespace: string; name: string | undefined },
  declaration: MoeDeclaration,
  pool: PoolSnapshot | undefined,
): { messages: string[]; warnings: string[] } {
  if (!pool) {
    return {
      messages: [
        `node pool "${declaration.pool}" (annotation ${MOE_ANNOTATIONS.pool}) has no budget in the control plane's ledger: ` +
          'use a pool the control plane defines, or define it first',
      ],
      warnings: [],
    };
  }
  if (declaration.memoryBytes > pool.bytesPerNode) {
    return {
      messages: [
        `${declaration.memory} per replica is more than one node of pool ${pool.name} has (${formatQuantity(pool.bytesPerNode)}); a replica never spans nodes`,
      ],
      warnings: [],
    };
  }
  const warnings: string[] = [];
  const most = declaration.memoryBytes * declaration.maxReplicas;
  if (most > pool.totalBytes) {
    warnings.push(
      `${declaration.memory} x ${declaration.maxReplicas} replicas is more than pool ${pool.name}'s total budget of ` +
        `${formatQuantity(pool.totalBytes)}: scale-ups past ${Math.floor(pool.totalBytes / declaration.memoryBytes)} replicas will be refused`,
    );
  }
  if (ref.name !== undefined) {
    const prefix = `${ref.namespace}/${ref.name}#`;
    const held = pool.allocations.filter((a) => a.holder.startsWith(prefix)).reduce((s, a) => s + a.bytes, 0);
    if (held === 0 && declaration.memoryBytes > pool.availableBytes) {
      warnings.push(
        `only ${formatQuantity(pool.availableBytes)} of pool ${pool.name} is free now; replicas without an allocation run ` +
          'unbudgeted until others release memory (Event RunningWithoutAllocation)',
      );
    }
  }
  return { messages: [], warnings };
}

/** Replica N's ledger holder: `#` never appears in an InferenceModel holder, so the two cannot collide. */
export function replicaHolder(workload: { namespace: string; name: string }, replica: number): string {
  return `${workload.namespace}/${workload.name}#${replica}`;
}

/** The workload and replica a `namespace/name#N` holder stands for; undefined for model holders. */
export function parseReplicaHolder(
  holder: string,
): { namespace: string; name: string; replica: number } | undefined {
  const match = /^([^/#]+)\/([^/#]+)#([0-9]+)$/.exec(holder);
  if (!match) return undefined;
  return { namespace: match[1]!, name: match[2]!, replica: Number(match[3]) };
}

export function workloadKey(workload: { namespace: string; name: string }): string {
  return `${workload.namespace}/${workload.name}`;
}
