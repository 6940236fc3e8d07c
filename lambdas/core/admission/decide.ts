import { checkWorkloadBudget } from '../moe/workload.js';
import { LedgerError, type PoolSnapshot } from '../ledger/ledger.js';
import { FINALIZER, type InferenceModel, type ModelRef } from '../inference-model.js';
import { type ReconcileLog, type ReconcileRequests } from '../reconcile/ports.js';
import {
  closedCycle,
  cycleMessage,
  dependencyNodeOf,
  mayCloseCycle,
  type DependencyNode,
} from '../validation/dependency-cycles.js';
import { checkBudget, checkPoolMove, poolOfObject } from '../validation/pool-budget.js';
import {
  inspectInferenceModel,
  isBeingDeleted,
  specUnchanged,
  type JsonPatchOperation,
} from '../validation/inference-model.js';
import { inspectWorkload } from '../validation/moe-workload.js';
import { isObject } from '../json.js';
import type { Mode, Review } from './review.js';

/**
 * The admission decision for one review (docs/webhook.md): the validator the webhook calls. It only
 * reads: the model's pool, and its old pool when an update moves it. When the ledger cannot be read the
 * model is denied (fail closed) with a message saying to retry. The namespace's models are listed only
 * when a change may close a dependency cycle; when they cannot be, the change is admitted with a warning
 * (fail open: a cycle costs no budget, and the reconciler leaves models in one waiting).
 */

/** Each outside call has its own deadline so that the whole answer stays well inside the API server's 10 s. */
export const DEADLINES_MS = { secret: 2_500, ledger: 3_000, models: 3_000, events: 2_000 } as const;

/** What a decision reads and asks for. */
export interface AdmissionPorts {
  readPool(pool: string): Promise<PoolSnapshot>;
  /** The InferenceModels of one namespace, as stored. */
  listModels(namespace: string): Promise<InferenceModel[]>;
  reconcileRequests: ReconcileRequests;
  log: ReconcileLog;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
  patchType?: 'JSONPatch';
  patch?: string;
}

export async function decide(review: Review, mode: Mode, ports: AdmissionPorts): Promise<AdmissionResponse> {
  const { uid } = review;
  if (review.malformed) return deny(uid, 400, 'BadRequest', `malformed AdmissionReview: ${review.malformed}`);
  // Deletes, connects, subresources and other kinds are none of this webhook's business.
  if (!review.ref) return { uid, allowed: true };
  if (review.kind === 'Deployment') return decideWorkload(review, mode, ports);
  if (!isObject(review.object)) {
    return deny(
      uid,
      400,
      'BadRequest',
      'malformed AdmissionReview: request.object must be the InferenceModel',
    );
  }
  // Finalizer removal during deletion, and metadata-only updates (finalizers, labels), are never blocked.
  if (
    review.operation === 'UPDATE' &&
    (isBeingDeleted(review.object) || specUnchanged(review.object, review.oldObject))
  ) {
    return { uid, allowed: true };
  }
  const context = { namespace: review.ref.namespace, name: review.ref.name };
  const inspection = inspectInferenceModel(review.object, context);
  // The mutating call only fills in defaults and the finalizer: every denial comes from the validating
  // call, which the API server makes after its own schema validation (so a schema error reads as the CRD
  // words it).
  if (mode === 'mutate') {
    return { uid, allowed: true, ...patchOf([...inspection.patch, ...finalizerPatch(review)]) };
  }
  if (!inspection.demand) return deny(uid, 422, 'Invalid', inspection.messages.join('; '));

  const { demand } = inspection;
  const from = review.operation === 'UPDATE' ? poolOfObject(review.oldObject) : undefined;
  const moving = from !== undefined && from !== demand.pool;
  const admitted = dependencyNodeOf(review.object, demand.name ?? GENERATED_NAME);
  const old = review.operation === 'UPDATE' ? dependencyNodeOf(review.oldObject, admitted.name) : undefined;
  // Every read at once: the answer waits for the slowest, not for their sum.
  const [pool, fromPool, models] = await Promise.all([
    readPool(ports, demand.pool),
    moving ? readPool(ports, from) : undefined,
    mayCloseCycle(admitted, old) ? listModels(ports, demand.namespace) : undefined,
  ]);
  if (pool === UNREACHABLE || fromPool === UNREACHABLE) return LEDGER_UNREACHABLE(uid);
  const budget = checkBudget(demand, pool);
  const refusals = [...budget.messages, ...(moving ? checkPoolMove(demand, from, fromPool) : [])];
  if (refusals.length > 0) return deny(uid, 403, 'Forbidden', refusals.join('; '));
  const warnings = [...budget.warnings];
  if (models === UNREACHABLE) warnings.push(CYCLES_UNCHECKED);
  else if (models) {
    const cycle = closedCycle(models, admitted);
    if (cycle) return deny(uid, 422, 'Invalid', cycleMessage(cycle));
  }

  const { namespace, name } = demand;
  if (!review.dryRun && name !== undefined) await requestReconcile(ports, { namespace, name });
  return { uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) };
}

/** A create by generateName has no name yet: this one matches no dependency by name, as none can. */
const GENERATED_NAME = '(generated name)';
const UNREACHABLE = Symbol('unreachable');
const CYCLES_UNCHECKED =
  'dependencies not checked for cycles: the InferenceModels could not be listed; reapply to check';
const LEDGER_UNREACHABLE = (uid: string) =>
  deny(uid, 503, 'ServiceUnavailable', 'budget ledger unreachable; retry');

/** The pool, undefined when the ledger has no such pool; UNREACHABLE (deny: fail closed) when it cannot say. */
async function readPool(
  ports: AdmissionPorts,
  pool: string,
): Promise<PoolSnapshot | undefined | typeof UNREACHABLE> {
  try {
    return await within(DEADLINES_MS.ledger, 'ledger read', ports.readPool(pool));
  } catch (error) {
    if (error instanceof LedgerError && error.code === 'unknown_pool') return undefined;
    ports.log.error('Budget ledger unreachable', { pool, error: String(error) });
    return UNREACHABLE;
  }
}

async function listModels(
  ports: AdmissionPorts,
  namespace: string,
): Promise<DependencyNode[] | typeof UNREACHABLE> {
  try {
    const models = await within(DEADLINES_MS.models, 'InferenceModel list', ports.listModels(namespace));
    return models.map((m) => ({
      name: m.name,
      modelName: m.spec.modelName,
      dependencies: m.spec.dependencies,
    }));
  } catch (error) {
    ports.log.warn('InferenceModels not listed: dependency cycles not checked', {
      namespace,
      error: String(error),
    });
    return UNREACHABLE;
  }
}

/** A Deployment declared as an MoE workload (docs/moe-workloads.md); undeclared ones always pass. */
async function decideWorkload(review: Review, mode: Mode, ports: AdmissionPorts): Promise<AdmissionResponse> {
  const { uid } = review;
  if (mode === 'mutate') return { uid, allowed: true };
  const inspection = inspectWorkload(review.object, review.oldObject, review.operation ?? '');
  if (inspection.kind === 'allow') return { uid, allowed: true };
  if (inspection.kind === 'deny') return deny(uid, 422, 'Invalid', inspection.messages.join('; '));
  const { declaration } = inspection;
  const pool = await readPool(ports, declaration.pool);
  if (pool === UNREACHABLE) return LEDGER_UNREACHABLE(uid);
  const ref = { namespace: review.ref?.namespace ?? '', name: review.ref?.name };
  const budget = checkWorkloadBudget(ref, declaration, pool);
  if (budget.messages.length > 0) return deny(uid, 403, 'Forbidden', budget.messages.join('; '));
  return {
    uid,
    allowed: true,
    ...(budget.warnings.length > 0 ? { warnings: budget.warnings.map(asWarning) } : {}),
  };
}

/** Warnings are shown by kubectl as they are; keep them to one line of printable text. */
function asWarning(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, ' ').slice(0, 500);
}

/** Asks for a reconcile now, so the change applies in seconds; the scheduled pass is the fallback. */
async function requestReconcile(ports: AdmissionPorts, ref: ModelRef): Promise<void> {
  try {
    await within(DEADLINES_MS.events, 'reconcile event', ports.reconcileRequests.request(ref));
  } catch (error) {
    ports.log.warn('Reconcile event not sent; the scheduled pass will apply the change', {
      namespace: ref.namespace,
      model: ref.name,
      error: String(error),
    });
  }
}

/**
 * A new model carries the control plane's finalizer from its creation, so that its first reconcile does
 * not spend a Kubernetes call adding it (the reconciler still adds it to a model created without).
 */
function finalizerPatch(review: Review): JsonPatchOperation[] {
  if (review.operation !== 'CREATE') return [];
  const metadata = isObject(review.object) ? review.object.metadata : undefined;
  const finalizers = isObject(metadata) ? metadata.finalizers : undefined;
  if (!Array.isArray(finalizers)) return [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }];
  return finalizers.includes(FINALIZER)
    ? []
    : [{ op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }];
}

function deny(uid: string, code: number, reason: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason, message } };
}

function patchOf(patch: JsonPatchOperation[]): Pick<AdmissionResponse, 'patch' | 'patchType'> {
  if (patch.length === 0) return {};
  return { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

/** `work`, or a rejection once `ms` have passed: a slow dependency must not outlast the API server's wait. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
