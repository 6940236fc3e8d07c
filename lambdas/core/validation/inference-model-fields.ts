// The InferenceModel's fields one by one: the CRD's schema rules (deploy/crd/) and the webhook's own.
import { DurationError, parseDuration } from '../duration.js';
import { DEFAULT_POOL, POOL_LABEL } from '../inference-model.js';
import { isObject } from '../json.js';
import { LedgerError } from '../ledger/ledger.js';
import { printable, validatePoolName } from '../ledger/rules.js';
import { parseQuantity, QuantityError } from '../quantity.js';
import { field, invalid, isJsonInteger, runeCount } from './field-errors.js';
import { isHttpUrl } from './go-url.js';
import type { ObjectContext } from './inference-model.js';

const MAX_BACKEND_URL_LENGTH = 2048;

const RESOURCE_FIELDS = ['cpu', 'memory', 'gpu'];

// The CRD's own patterns (deploy/crd/inferencemodels.inference.eh-ops.io.yaml).
const MEMORY_PATTERN = /^[0-9]+(Ki|Mi|Gi|Ti)$/;
const COOLDOWN_PATTERN = /^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/;
// Digits bounded so the CRD's CEL rule never parses a duration that overflows.
const START_DEADLINE_PATTERN = /^([0-9]{1,4}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$/;
const MAX_START_DEADLINE_MS = 24 * 3600 * 1000;
const RESOURCE_QUANTITY_PATTERN =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const GPU_COUNT_PATTERN = /^[0-9]+$/;
// Kubernetes names: an object name is an RFC 1123 subdomain, a namespace an RFC 1123 label.
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkMetadata(
  object: Record<string, unknown>,
  context: ObjectContext,
  problems: string[],
): { namespace: string | undefined; name: string | undefined } {
  const metadata = field(object, 'metadata');
  if (metadata !== undefined && metadata !== null && !isObject(metadata)) {
    problems.push(invalid('metadata', metadata, 'must be an object'));
    return { namespace: undefined, name: undefined };
  }
  const meta: Record<string, unknown> = isObject(metadata) ? metadata : {};
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

export function checkMemory(
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

export function checkBackendUrl(value: unknown, problems: string[]): void {
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

export function checkNodeSelector(
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

export function checkCooldown(value: unknown, problems: string[]): void {
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
export function checkStartDeadline(value: unknown, problems: string[]): void {
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

export function checkMaxReplicas(value: unknown, problems: string[]): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1) {
    problems.push(invalid('spec.maxReplicas', value, 'must be 0 or 1, as in the original operator'));
    return 1;
  }
  return value;
}

export function checkDependencies(value: unknown, self: string | undefined, problems: string[]): void {
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

export function checkResources(value: unknown, problems: string[]): void {
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

/** The object's own value, or the AdmissionReview's when the object leaves it out. */
function orContext(value: unknown, fallback: string | undefined): unknown {
  if (value !== undefined && value !== null && value !== '') return value;
  return fallback === '' ? undefined : fallback;
}
