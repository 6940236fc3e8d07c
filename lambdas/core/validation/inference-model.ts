/**
 * Admission checks of an InferenceModel, for the admission webhook (docs/webhook.md).
 *
 * Two layers. `inspectInferenceModel` repeats every rule of the CRD's schema (so a direct call, or a
 * cluster whose CRD lacks them, gets the same answer as the API server) and adds what the schema cannot
 * say: Kubernetes names, dependencies that name other models, a pool name the ledger accepts, a memory
 * size that is not zero or absurd. `checkBudget` then applies the ledger's rules to the one pool the
 * model draws from. Pure: the caller reads the pool.
 */
import { DurationError, parseDuration } from '../duration.js';
import { LedgerError, type PoolSnapshot } from '../ledger/model.js';
import { printable, validatePoolName } from '../ledger/rules.js';
import { formatQuantity, parseQuantity, QuantityError } from '../quantity.js';
import { DEFAULT_POOL, POOL_LABEL } from '../reconcile/model.js';

/** One RFC 6902 operation; the webhook only ever adds missing defaults. */
export interface JsonPatchOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

/** What a structurally valid model asks of its pool. */
export interface ModelDemand {
  readonly namespace: string;
  /** Unset only for a create by `generateName` before the API server has picked the name. */
  readonly name: string | undefined;
  readonly pool: string;
  /** The pool is `default` because `spec.nodeSelector` has no `inference-pool` label. */
  readonly poolFromDefault: boolean;
  readonly memory: string;
  readonly memoryBytes: number;
  readonly maxReplicas: number;
}

export interface Inspection {
  /** Denials, one per problem, each naming the field (`spec.memory: Invalid value: ...`). */
  readonly messages: string[];
  /** Adds the CRD's defaults for absent fields. */
  readonly patch: JsonPatchOperation[];
  /** Set when `messages` is empty. */
  readonly demand: ModelDemand | undefined;
}

export interface BudgetCheck {
  readonly messages: string[];
  readonly warnings: string[];
}

export interface Verdict {
  readonly allowed: boolean;
  readonly messages: string[];
  readonly warnings: string[];
  readonly patch: JsonPatchOperation[];
}

/** Where the object came from, for fields the object itself may leave out. */
export interface ObjectContext {
  /** `request.namespace` of the AdmissionReview. */
  readonly namespace?: string | undefined;
  /** `request.name` of the AdmissionReview. */
  readonly name?: string | undefined;
}

/** The spec's defaults, exactly as the CRD declares them. */
export const SPEC_DEFAULTS: Readonly<Record<string, unknown>> = {
  nodeSelector: { [POOL_LABEL]: DEFAULT_POOL },
  cooldownPeriod: '10m',
  maxReplicas: 1,
  dependencies: [],
  containerImage: '',
  resources: {},
};

/** Kubernetes asks warnings to stay short; longer ones may be cut by clients. */
export const MAX_WARNING_LENGTH = 120;
const MAX_MESSAGES = 20;
const MAX_BACKEND_URL_LENGTH = 2048;

const SPEC_FIELDS = [
  'modelName',
  'memory',
  'backendUrl',
  'nodeSelector',
  'cooldownPeriod',
  'maxReplicas',
  'dependencies',
  'containerImage',
  'resources',
  'startDeadline',
  'priority',
  'evictionMinIdle',
];
const RESOURCE_FIELDS = ['cpu', 'memory', 'gpu'];

// The CRD's own patterns (deploy/crd/inferencemodels.inference.eh-ops.io.yaml).
const MEMORY_PATTERN = /^[0-9]+(Ki|Mi|Gi|Ti)$/;
const COOLDOWN_PATTERN = /^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/;
// Digits bounded so the CRD's CEL rule never parses a duration that overflows.
const START_DEADLINE_PATTERN = /^([0-9]{1,4}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$/;
const MAX_START_DEADLINE_MS = 24 * 3600 * 1000;
const MAX_EVICTION_MIN_IDLE_MS = 24 * 3600 * 1000;
// The CRD's bounds on spec.priority: room for tiers, far from int32's edges.
const MIN_PRIORITY = -1000;
const MAX_PRIORITY = 1000;
const RESOURCE_QUANTITY_PATTERN =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const GPU_COUNT_PATTERN = /^[0-9]+$/;
// Kubernetes names: an object name is an RFC 1123 subdomain, a namespace an RFC 1123 label.
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Json = Record<string, unknown>;

/** The CRD's rules and the webhook's own on one object; no ledger needed. */
export function inspectInferenceModel(object: unknown, context: ObjectContext = {}): Inspection {
  const problems: string[] = [];
  const patch: JsonPatchOperation[] = [];
  if (!isObject(object)) {
    return { messages: ['the object must be an InferenceModel (a JSON object)'], patch, demand: undefined };
  }
  for (const key of ['apiVersion', 'kind']) {
    const value = field(object, key);
    if (value !== undefined && value !== null && typeof value !== 'string') {
      problems.push(invalid(key, value, 'must be a string'));
    }
  }
  const { namespace, name } = checkMetadata(object, context, problems);

  const spec = field(object, 'spec');
  if (spec === undefined || spec === null) {
    problems.push('spec: Required value');
    return { messages: capped(problems), patch, demand: undefined };
  }
  if (!isObject(spec)) {
    problems.push(invalid('spec', spec, 'must be an object'));
    return { messages: capped(problems), patch, demand: undefined };
  }
  for (const key of Object.keys(spec)) {
    if (!SPEC_FIELDS.includes(key)) problems.push(`unknown field "spec.${printable(key)}"`);
  }
  for (const [key, value] of Object.entries(SPEC_DEFAULTS)) {
    const given = field(spec, key);
    if (given === undefined || given === null) {
      patch.push({ op: 'add', path: jsonPointer('spec', key), value: structuredClone(value) });
    }
  }

  const modelName = field(spec, 'modelName');
  if (modelName === undefined || modelName === null) problems.push('spec.modelName: Required value');
  else if (typeof modelName !== 'string')
    problems.push(invalid('spec.modelName', modelName, 'must be a string'));
  else if (modelName === '') problems.push(invalid('spec.modelName', modelName, 'must not be empty'));

  const memory = checkMemory(field(spec, 'memory'), problems);
  checkBackendUrl(field(spec, 'backendUrl'), problems);
  const pool = checkNodeSelector(field(spec, 'nodeSelector'), problems);
  checkCooldown(field(spec, 'cooldownPeriod'), problems);
  checkStartDeadline(field(spec, 'startDeadline'), problems);
  checkPriority(field(spec, 'priority'), problems);
  checkEvictionMinIdle(field(spec, 'evictionMinIdle'), problems);
  const maxReplicas = checkMaxReplicas(field(spec, 'maxReplicas'), problems);
  checkDependencies(field(spec, 'dependencies'), name, problems);
  const image = field(spec, 'containerImage');
  if (image !== undefined && image !== null && typeof image !== 'string') {
    problems.push(invalid('spec.containerImage', image, 'must be a string'));
  }
  checkResources(field(spec, 'resources'), problems);

  if (problems.length > 0 || memory === undefined || pool === undefined || namespace === undefined) {
    return { messages: capped(problems), patch, demand: undefined };
  }
  return {
    messages: [],
    patch,
    demand: { namespace, name, ...pool, ...memory, maxReplicas },
  };
}

/**
 * The ledger's rules for the model's pool (`undefined`: the ledger has no such pool). Denied when the
 * pool is unknown or the model could never fit in it; warned when it does not fit in what is free now.
 */
export function checkBudget(demand: ModelDemand, pool: PoolSnapshot | undefined): BudgetCheck {
  if (!pool) {
    const where = demand.poolFromDefault
      ? `spec.nodeSelector has no ${POOL_LABEL}, so the model uses pool "${DEFAULT_POOL}", which`
      : `node pool "${demand.pool}" (spec.nodeSelector.${POOL_LABEL})`;
    return {
      messages: [
        `${where} has no budget in the control plane's ledger: set spec.nodeSelector.${POOL_LABEL} ` +
          `to a pool the control plane defines, or define "${demand.pool}" first`,
      ],
      warnings: [],
    };
  }
  const replicas = Math.max(1, demand.maxReplicas);
  const needed = demand.memoryBytes * replicas;
  const asked = replicas === 1 ? `memory ${demand.memory}` : `memory ${demand.memory} x ${replicas} replicas`;
  if (needed > pool.totalBytes) {
    return {
      messages: [
        `${asked} is larger than pool ${pool.name}'s total budget of ${formatQuantity(pool.totalBytes)}: ` +
          'lower spec.memory or grow the pool',
      ],
      warnings: [],
    };
  }
  const warnings: string[] = [];
  if (demand.memoryBytes > pool.bytesPerNode) {
    warnings.push(
      warning(
        `memory ${demand.memory} is more than one node of pool ${pool.name} has ` +
          `(${formatQuantity(pool.bytesPerNode)}); a model never spans nodes, so it cannot start`,
      ),
    );
  }
  // What the model holds already (an update) is room it keeps.
  const free = pool.availableBytes + heldBy(demand, pool);
  if (needed > free) {
    warnings.push(
      warning(
        `only ${formatQuantity(free)} of pool ${pool.name} is free now (needs ${formatQuantity(needed)}); ` +
          'the model will wait (InsufficientMemory) until others scale to zero',
      ),
    );
  }
  return { messages: [], warnings };
}

/**
 * An update that moves the model to another pool (`from` is the old spec's) while it holds budget in the
 * old one is denied: its pods run there on that budget, and moving them would leave them unbudgeted or
 * the budget behind. At zero replicas the model holds nothing and may move. `fromPool` undefined: the
 * ledger has no such pool, so nothing is held there.
 */
export function checkPoolMove(
  demand: ModelDemand,
  from: string,
  fromPool: PoolSnapshot | undefined,
): string[] {
  if (from === demand.pool || !fromPool) return [];
  const held = heldBy(demand, fromPool);
  if (held === 0) return [];
  return [
    `spec.nodeSelector.${POOL_LABEL} cannot change from ${from} to ${demand.pool} while ` +
      `${demand.namespace}/${demand.name} holds ${formatQuantity(held)} of ${from} (running or starting): ` +
      'scale it to zero first (maxReplicas: 0, or let it idle out), then change the pool',
  ];
}

/**
 * The pool a stored object's spec names: its `inference-pool` label, else `default`; undefined when the
 * label is no valid pool name (then the model never held budget anywhere by it).
 */
export function poolOfObject(object: unknown): string | undefined {
  const spec = isObject(object) ? field(object, 'spec') : undefined;
  const selector = isObject(spec) ? field(spec, 'nodeSelector') : undefined;
  const pool = isObject(selector) ? field(selector, POOL_LABEL) : undefined;
  if (pool === undefined || pool === null) return DEFAULT_POOL;
  try {
    validatePoolName(pool as string);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    return undefined;
  }
  return pool as string;
}

/** Bytes the model (and its MoE replicas, `holder#n`) holds in the pool. */
function heldBy(demand: ModelDemand, pool: PoolSnapshot): number {
  if (demand.name === undefined) return 0;
  const holder = `${demand.namespace}/${demand.name}`;
  return pool.allocations
    .filter((a) => a.holder === holder || a.holder.startsWith(`${holder}#`))
    .reduce((sum, a) => sum + a.bytes, 0);
}

/** Both layers at once, the pool looked up by name: what the webhook decides for this object. */
export function validateInferenceModel(
  object: unknown,
  pools: Iterable<PoolSnapshot>,
  context: ObjectContext = {},
): Verdict {
  const inspection = inspectInferenceModel(object, context);
  if (!inspection.demand) {
    return { allowed: false, messages: inspection.messages, warnings: [], patch: inspection.patch };
  }
  const wanted = inspection.demand.pool;
  const pool = [...pools].find((p) => p.name === wanted);
  const budget = checkBudget(inspection.demand, pool);
  return {
    allowed: budget.messages.length === 0,
    messages: budget.messages,
    warnings: budget.warnings,
    patch: inspection.patch,
  };
}

/** An update that leaves the spec as it was (finalizers, labels, annotations): nothing to re-check. */
export function specUnchanged(object: unknown, oldObject: unknown): boolean {
  if (!isObject(object) || !isObject(oldObject)) return false;
  return sameJson(field(object, 'spec'), field(oldObject, 'spec'), 0);
}

/** The object is being deleted: only finalizers may change, and they must never be blocked. */
export function isBeingDeleted(object: unknown): boolean {
  const metadata = isObject(object) ? field(object, 'metadata') : undefined;
  const stamp = isObject(metadata) ? field(metadata, 'deletionTimestamp') : undefined;
  return typeof stamp === 'string' && stamp !== '';
}

/** An RFC 6901 JSON Pointer: `~` becomes `~0` and `/` becomes `~1` in each segment. */
export function jsonPointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** True when `url` is valid for the CRD: `format: uri` and its `isURL`/`url()` rule, as Go parses URLs. */
export function isHttpUrl(url: string): boolean {
  const parsed = parseRequestUri(url);
  if (!parsed || (parsed.scheme !== 'http' && parsed.scheme !== 'https')) return false;
  // The rule's url() parses again with url.Parse, which also unescapes the fragment.
  const hash = url.indexOf('#');
  if (hash >= 0 && !escapesValid(url.slice(hash + 1))) return false;
  return hostname(parsed.host) !== '';
}

// ---- metadata and spec fields ----------------------------------------------------------------------

function checkMetadata(
  object: Json,
  context: ObjectContext,
  problems: string[],
): { namespace: string | undefined; name: string | undefined } {
  const metadata = field(object, 'metadata');
  if (metadata !== undefined && metadata !== null && !isObject(metadata)) {
    problems.push(invalid('metadata', metadata, 'must be an object'));
    return { namespace: undefined, name: undefined };
  }
  const meta: Json = isObject(metadata) ? metadata : {};
  let name: string | undefined;
  const givenName = orContext(field(meta, 'name'), context.name);
  const generateName = field(meta, 'generateName');
  if (givenName === undefined) {
    if (typeof generateName !== 'string' || generateName === '')
      problems.push('metadata.name: Required value');
  } else if (typeof givenName !== 'string') {
    problems.push(invalid('metadata.name', givenName, 'must be a string'));
  } else if (givenName.length > 253 || !OBJECT_NAME.test(givenName)) {
    problems.push(
      invalid(
        'metadata.name',
        givenName,
        "must be a Kubernetes object name: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
      ),
    );
  } else {
    name = givenName;
  }
  let namespace: string | undefined;
  const givenNamespace = orContext(field(meta, 'namespace'), context.namespace);
  if (givenNamespace === undefined) {
    problems.push('metadata.namespace: Required value');
  } else if (typeof givenNamespace !== 'string') {
    problems.push(invalid('metadata.namespace', givenNamespace, 'must be a string'));
  } else if (givenNamespace.length > 63 || !NAMESPACE_NAME.test(givenNamespace)) {
    problems.push(
      invalid(
        'metadata.namespace',
        givenNamespace,
        "must be a Kubernetes namespace name: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
      ),
    );
  } else {
    namespace = givenNamespace;
  }
  return { namespace, name };
}

function checkMemory(
  value: unknown,
  problems: string[],
): { memory: string; memoryBytes: number } | undefined {
  if (value === undefined || value === null) {
    problems.push('spec.memory: Required value');
    return undefined;
  }
  if (typeof value !== 'string' || !MEMORY_PATTERN.test(value)) {
    problems.push(invalid('spec.memory', value, 'must be a whole number of Ki, Mi, Gi or Ti, e.g. 80Gi'));
    return undefined;
  }
  let bytes: number;
  try {
    bytes = parseQuantity(value);
  } catch (error) {
    if (!(error instanceof QuantityError)) throw error;
    problems.push(invalid('spec.memory', value, 'is too large: no GPU pool holds that much memory'));
    return undefined;
  }
  if (bytes === 0) {
    problems.push(
      invalid('spec.memory', value, 'must be more than zero: the model holds this much GPU memory'),
    );
    return undefined;
  }
  return { memory: value, memoryBytes: bytes };
}

function checkBackendUrl(value: unknown, problems: string[]): void {
  if (value === undefined || value === null) {
    problems.push('spec.backendUrl: Required value');
  } else if (typeof value !== 'string') {
    problems.push(invalid('spec.backendUrl', value, 'must be a string'));
  } else if (runeCount(value) > MAX_BACKEND_URL_LENGTH) {
    problems.push(`spec.backendUrl: Too long: may not be more than ${MAX_BACKEND_URL_LENGTH} characters`);
  } else if (!isHttpUrl(value)) {
    problems.push(
      invalid(
        'spec.backendUrl',
        value,
        'must be an absolute http or https URL, e.g. http://vllm.models.svc:8000',
      ),
    );
  }
}

function checkNodeSelector(
  value: unknown,
  problems: string[],
): { pool: string; poolFromDefault: boolean } | undefined {
  if (value === undefined || value === null) return { pool: DEFAULT_POOL, poolFromDefault: true };
  if (!isObject(value)) {
    problems.push(invalid('spec.nodeSelector', value, 'must be a map of node labels to values'));
    return undefined;
  }
  let valid = true;
  for (const [key, label] of Object.entries(value)) {
    if (typeof label !== 'string') {
      problems.push(invalid(`spec.nodeSelector[${printable(key)}]`, label, 'must be a string'));
      valid = false;
    }
  }
  if (!valid) return undefined;
  const pool = field(value, POOL_LABEL);
  if (pool === undefined) return { pool: DEFAULT_POOL, poolFromDefault: true };
  try {
    validatePoolName(pool as string);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    problems.push(
      invalid(
        `spec.nodeSelector[${POOL_LABEL}]`,
        pool,
        "must name a node pool: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      ),
    );
    return undefined;
  }
  return { pool: pool as string, poolFromDefault: false };
}

function checkCooldown(value: unknown, problems: string[]): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || value === '' || !COOLDOWN_PATTERN.test(value)) {
    problems.push(
      invalid('spec.cooldownPeriod', value, 'must be hours, minutes and seconds, e.g. 10m, 1h30m or 90s'),
    );
    return;
  }
  try {
    parseDuration(value);
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
    problems.push(invalid('spec.cooldownPeriod', value, 'must be at most a year'));
  }
}

/** Optional; no default in the CRD, so an unset deadline follows the control plane's (15m). */
function checkStartDeadline(value: unknown, problems: string[]): void {
  if (value === undefined || value === null) return;
  const path = 'spec.startDeadline';
  if (typeof value !== 'string' || value === '' || !START_DEADLINE_PATTERN.test(value)) {
    problems.push(invalid(path, value, 'must be hours, minutes and seconds up to 24h, e.g. 15m, 1h or 90s'));
    return;
  }
  const ms = parseDuration(value);
  if (ms === 0) {
    problems.push(invalid(path, value, 'must be more than zero: pods need time to start'));
  } else if (ms > MAX_START_DEADLINE_MS) {
    problems.push(
      invalid(
        path,
        value,
        'must be at most 24h: a model that has not started by then holds its budget for nothing',
      ),
    );
  }
}

/** Optional; unset is 0, so manifests written before priorities existed keep their meaning. */
function checkPriority(value: unknown, problems: string[]): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_PRIORITY || value > MAX_PRIORITY) {
    problems.push(
      invalid('spec.priority', value, `must be a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY}`),
    );
  }
}

/** Optional; unset, the pool's eviction minIdle applies. Zero is allowed: evictable as soon as Ready. */
function checkEvictionMinIdle(value: unknown, problems: string[]): void {
  if (value === undefined || value === null) return;
  const path = 'spec.evictionMinIdle';
  if (typeof value !== 'string' || value === '' || !START_DEADLINE_PATTERN.test(value)) {
    problems.push(invalid(path, value, 'must be hours, minutes and seconds up to 24h, e.g. 30m'));
    return;
  }
  if (parseDuration(value) > MAX_EVICTION_MIN_IDLE_MS) {
    problems.push(invalid(path, value, 'must be at most 24h'));
  }
}

function checkMaxReplicas(value: unknown, problems: string[]): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1) {
    problems.push(invalid('spec.maxReplicas', value, 'must be 0 or 1, as in the original operator'));
    return 1;
  }
  return value;
}

function checkDependencies(value: unknown, self: string | undefined, problems: string[]): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    problems.push(invalid('spec.dependencies', value, 'must be a list of InferenceModel names'));
    return;
  }
  value.forEach((dependency: unknown, i) => {
    const path = `spec.dependencies[${i}]`;
    if (typeof dependency !== 'string') problems.push(invalid(path, dependency, 'must be a string'));
    else if (dependency === '') problems.push(invalid(path, dependency, 'must not be empty'));
    else if (dependency.length > 253 || !OBJECT_NAME.test(dependency)) {
      problems.push(invalid(path, dependency, 'must be the name of an InferenceModel in the same namespace'));
    } else if (dependency === self)
      problems.push(invalid(path, dependency, 'a model cannot depend on itself'));
  });
}

function checkResources(value: unknown, problems: string[]): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) {
    problems.push(invalid('spec.resources', value, 'must be an object with requests and limits'));
    return;
  }
  for (const key of Object.keys(value)) {
    if (key !== 'requests' && key !== 'limits')
      problems.push(`unknown field "spec.resources.${printable(key)}"`);
  }
  for (const part of ['requests', 'limits']) {
    const resources = field(value, part);
    const at = `spec.resources.${part}`;
    if (resources === undefined || resources === null) continue;
    if (!isObject(resources)) {
      problems.push(invalid(at, resources, 'must be an object with cpu, memory and gpu'));
      continue;
    }
    for (const key of Object.keys(resources)) {
      if (!RESOURCE_FIELDS.includes(key)) problems.push(`unknown field "${at}.${printable(key)}"`);
    }
    for (const key of ['cpu', 'memory']) {
      const quantity = field(resources, key);
      if (quantity === undefined || quantity === null) continue;
      const ok =
        typeof quantity === 'string' ? RESOURCE_QUANTITY_PATTERN.test(quantity) : isJsonInteger(quantity);
      if (!ok) {
        problems.push(
          invalid(`${at}.${key}`, quantity, 'must be a Kubernetes quantity, e.g. 4, 4000m or 24Gi'),
        );
      }
    }
    const gpu = field(resources, 'gpu');
    if (gpu === undefined || gpu === null) continue;
    const ok = typeof gpu === 'string' ? GPU_COUNT_PATTERN.test(gpu) : isJsonInteger(gpu) && gpu >= 0;
    if (!ok) problems.push(invalid(`${at}.gpu`, gpu, 'must be a whole number of GPUs, e.g. 1 or "1"'));
  }
}

// ---- helpers ---------------------------------------------------------------------------------------

/** The object's own value, or the AdmissionReview's when the object leaves it out. */
function orContext(value: unknown, fallback: string | undefined): unknown {
  if (value !== undefined && value !== null && value !== '') return value;
  return fallback === '' ? undefined : fallback;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: a key such as `constructor` or `__proto__` never reaches the prototype. */
function field(object: Json, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** An integer as the API server's JSON decoding keeps one (int64). */
function isJsonInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63;
}

/** `field: Invalid value: <value>: reason`, the API server's own form; the value is cut short and cleaned. */
function invalid(path: string, value: unknown, reason: string): string {
  return `${path}: Invalid value: ${shown(value)}: ${reason}`;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return `"${printable(value)}"`;
  if (Array.isArray(value)) return '"array"';
  if (value !== null && typeof value === 'object') return '"object"';
  return printable(String(value));
}

function capped(problems: string[]): string[] {
  if (problems.length <= MAX_MESSAGES) return problems;
  return [...problems.slice(0, MAX_MESSAGES), `and ${problems.length - MAX_MESSAGES} more problems`];
}

function warning(text: string): string {
  return text.length > MAX_WARNING_LENGTH ? `${text.slice(0, MAX_WARNING_LENGTH - 1)}…` : text;
}

/** Characters as Kubernetes counts them for maxLength (code points, not UTF-16 units). */
function runeCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Deep equality of parsed JSON; nesting past a sane depth counts as a change (and is checked in full). */
function sameJson(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (depth > 32 || typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every(
    (key) => Object.hasOwn(b, key) && sameJson((a as Json)[key], (b as Json)[key], depth + 1),
  );
}

// ---- URLs as Go's net/url parses them (Go 1.26, which the API server is built with) ----------------

interface ParsedUri {
  scheme: string;
  /** Host and port as written, brackets kept, escapes undone; empty without an authority. */
  host: string;
}

/** `url.ParseRequestURI`: an absolute URI or an absolute path; undefined where Go returns an error. */
function parseRequestUri(raw: string): ParsedUri | undefined {
  // eslint-disable-next-line no-control-regex
  if (raw === '' || /[\u0000-\u001f\u007f]/.test(raw)) return undefined;
  if (raw === '*') return { scheme: '', host: '' };
  const split = splitScheme(raw);
  if (!split) return undefined;
  const scheme = split.scheme.toLowerCase();
  let rest = split.rest;
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) rest = rest.slice(0, -1);
  else if (rest.includes('?')) rest = rest.slice(0, rest.indexOf('?'));
  if (!rest.startsWith('/')) return scheme !== '' ? { scheme, host: '' } : undefined; // opaque
  let host = '';
  if (scheme !== '' && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const parsedHost = parseAuthority(scheme, authority);
    if (parsedHost === undefined) return undefined;
    host = parsedHost;
  }
  return escapesValid(rest) ? { scheme, host } : undefined;
}

/** Go's getScheme: `[a-zA-Z][a-zA-Z0-9+.-]*:`; undefined for a leading colon (an error in Go). */
function splitScheme(raw: string): { scheme: string; rest: string } | undefined {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') return i === 0 ? undefined : { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function parseAuthority(scheme: string, authority: string): string | undefined {
  const at = authority.lastIndexOf('@');
  const host = parseHost(scheme, at < 0 ? authority : authority.slice(at + 1));
  if (host === undefined) return undefined;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo) || !escapesValid(userinfo)) return undefined;
  }
  return host;
}

function parseHost(scheme: string, host: string): string | undefined {
  const open = host.lastIndexOf('[');
  if (open > 0) return undefined;
  if (open === 0) {
    const close = host.lastIndexOf(']');
    if (close < 0) return undefined;
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) return undefined;
    const literal = host.slice(1, close);
    const zone = literal.indexOf('%25');
    const address =
      zone >= 0
        ? join(unescapeHost(literal.slice(0, zone), false), unescapeHost(literal.slice(zone), true))
        : unescapeHost(literal, false);
    if (address === undefined || !isIpv6(address)) return undefined;
    return `[${address}]${colonPort}`;
  }
  const colon = host.indexOf(':');
  if (colon !== -1) {
    // Go 1.26 allows a second colon in the host for other schemes only (urlstrictcolons).
    const at = scheme === 'http' || scheme === 'https' ? colon : host.lastIndexOf(':');
    if (!validOptionalPort(host.slice(at))) return undefined;
  }
  return unescapeHost(host, false);
}

function join(a: string | undefined, b: string | undefined): string | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

/** Go's `URL.Hostname()`: the host without a valid port and without IPv6 brackets. */
function hostname(host: string): string {
  let name = host;
  const colon = name.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(name.slice(colon))) name = name.slice(0, colon);
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return name;
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

const HEX = /^[0-9a-fA-F]$/;

/** Every `%` starts a two-digit hex escape (Go's unescape in path, query, fragment and userinfo). */
function escapesValid(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') continue;
    if (i + 2 >= text.length || !HEX.test(text[i + 1]!) || !HEX.test(text[i + 2]!)) return false;
    i += 2;
  }
  return true;
}

/** Host bytes Go leaves unescaped: letters, digits and `-_.~!$&'()*+,;=:[]<>"`; non-ASCII passes. */
function hostCharAllowed(code: number): boolean {
  return code >= 0x80 || /[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/.test(String.fromCharCode(code));
}

/** Go's unescape in host (or IPv6 zone) mode; undefined where Go returns an error. */
function unescapeHost(text: string, zone: boolean): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      if (!hostCharAllowed(c.charCodeAt(0))) return undefined;
      out += c;
      continue;
    }
    if (i + 2 >= text.length || !HEX.test(text[i + 1]!) || !HEX.test(text[i + 2]!)) return undefined;
    const escape = text.slice(i, i + 3);
    const byte = parseInt(text.slice(i + 1, i + 3), 16);
    // In a host, %-escapes may only stand for non-ASCII bytes (and %25 for the zone's percent sign).
    if (!zone && byte < 0x80 && escape !== '%25') return undefined;
    if (zone && escape !== '%25' && byte !== 0x20 && (byte >= 0x80 || !hostCharAllowed(byte)))
      return undefined;
    out += String.fromCharCode(byte);
    i += 2;
  }
  return out;
}

/** netip.ParseAddr succeeds with an IPv6 address (an optional non-empty `%zone` included). */
function isIpv6(text: string): boolean {
  const first = /[.:%]/.exec(text)?.[0];
  if (first !== ':') return false;
  let s = text;
  const percent = s.indexOf('%');
  if (percent !== -1) {
    if (percent === s.length - 1) return false;
    s = s.slice(0, percent);
  }
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s === '') return true;
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let value = 0;
    for (; off < s.length; off++) {
      if (!HEX.test(s[off]!)) break;
      value = value * 16 + parseInt(s[off]!, 16);
      if (off > 3 || value > 0xffff) return false;
    }
    if (off === 0) return false;
    if (s[off] === '.') {
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16 || !isIpv4(s)) return false;
      s = '';
      i += 4;
      break;
    }
    i += 2;
    s = s.slice(off);
    if (s === '') break;
    if (s[0] !== ':' || s.length === 1) return false;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return false;
      ellipsis = i;
      s = s.slice(1);
      if (s === '') break;
    }
  }
  if (s !== '') return false;
  return i < 16 ? ellipsis >= 0 : ellipsis < 0;
}

/** Four dotted decimal octets, no leading zeros, each at most 255 (netip's parseIPv4Fields). */
function isIpv4(text: string): boolean {
  const fields = text.split('.');
  return fields.length === 4 && fields.every((f) => /^(0|[1-9][0-9]{0,2})$/.test(f) && Number(f) <= 255);
}
