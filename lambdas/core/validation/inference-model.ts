/**
 * Admission checks of an InferenceModel, for the admission webhook (docs/webhook.md).
 *
 * Two layers. `inspectInferenceModel` repeats every rule of the CRD's schema (so a direct call, or a
 * cluster whose CRD lacks them, gets the same answer as the API server) and adds what the schema cannot
 * say: Kubernetes names, dependencies that name other models, a pool name the ledger accepts, a memory
 * size that is not zero or absurd (inference-model-fields.ts). `checkBudget` (pool-budget.ts) then applies the ledger's rules to the one pool the
 * model draws from. Pure: the caller reads the pool.
 */
import { DEFAULT_POOL, POOL_LABEL } from '../inference-model.js';
import { isObject } from '../json.js';
import type { PoolSnapshot } from '../ledger/ledger.js';
import { printable } from '../ledger/rules.js';
import { capped, field, invalid } from './field-errors.js';
import {
  checkBackendUrl,
  checkCooldown,
  checkDependencies,
  checkMaxReplicas,
  checkMemory,
  checkMetadata,
  checkNodeSelector,
  checkResources,
  checkStartDeadline,
} from './inference-model-fields.js';
import { checkBudget, type ModelDemand } from './pool-budget.js';

/** One RFC 6902 operation; the webhook only ever adds missing defaults. */
export interface JsonPatchOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

export interface Inspection {
  /** Denials, one per problem, each naming the field (`spec.memory: Invalid value: ...`). */
  readonly messages: string[];
  /** Adds the CRD's defaults for absent fields. */
  readonly patch: JsonPatchOperation[];
  /** Set when `messages` is empty. */
  readonly demand: ModelDemand | undefined;
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
];

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

/** Deep equality of parsed JSON; nesting past a sane depth counts as a change (and is checked in full). */
function sameJson(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (depth > 32 || typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every(
    (key) =>
      Object.hasOwn(b, key) &&
      sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], depth + 1),
  );
}
