import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { PoolSnapshot } from '../../../lambdas/core/ledger/ledger.js';
import { poolDefinition } from '../../../lambdas/core/nodes/node-pools.js';
import {
  API_GROUP,
  holderOf,
  type InferenceModel,
  type InferenceModelSpec,
} from '../../../lambdas/core/inference-model.js';
import { SPEC_DEFAULTS, validateInferenceModel } from '../../../lambdas/core/validation/inference-model.js';
import { InputError, type SimulatedPool } from '../scenario.js';
import { readDocuments } from './structured-file.js';

const API_VERSION = `${API_GROUP}/v1alpha1`;
const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface ReadModels {
  readonly models: InferenceModel[];
  /** The webhook's warnings (`kubectl apply` would print them), each naming its file. */
  readonly warnings: string[];
  /** Documents of other kinds in the folder (Services, Deployments...), which the simulator ignores. */
  readonly skipped: number;
}

/**
 * `--models DIR`: InferenceModel manifests as users `kubectl apply -f DIR` them (the folder's .yaml, .yml
 * and .json files, several documents each). Each is checked by the admission webhook's own validation
 * against the pools, so the simulator refuses exactly what the cluster would.
 */
export async function readModels(dir: string, pools: readonly SimulatedPool[]): Promise<ReadModels> {
  let files: string[];
  try {
    files = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && MANIFEST_EXTENSIONS.includes(extname(entry.name).toLowerCase()))
      .map((entry) => join(dir, entry.name))
      .sort();
  } catch (error) {
    throw new InputError(
      `--models ${dir}: cannot read the folder: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  const objects: { object: unknown; file: string }[] = [];
  for (const file of files) {
    for (const object of await readDocuments(file))
      objects.push(...listItems(object).map((item) => ({ object: item, file })));
  }
  const result = admitModels(objects, pools);
  if (result.models.length === 0) {
    throw new InputError(
      `--models ${dir}: no InferenceModel (apiVersion ${API_VERSION}) in its .yaml, .yml or .json files`,
    );
  }
  return result;
}

/** What the webhook decides for each object; the first refusal stops the run with its messages. */
export function admitModels(
  objects: readonly { object: unknown; file: string }[],
  pools: readonly SimulatedPool[],
): ReadModels {
  const snapshots = pools.map(emptyPool);
  const models: InferenceModel[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  let skipped = 0;
  for (const { object, file } of objects) {
    const record = isRecord(object) ? object : {};
    if (record.kind !== 'InferenceModel') {
      skipped++;
      continue;
    }
    const metadata = isRecord(record.metadata) ? record.metadata : {};
    const namespace =
      typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default';
    const where = `${file}: InferenceModel ${namespace}/${typeof metadata.name === 'string' ? metadata.name : '?'}`;
    if (record.apiVersion !== API_VERSION) {
      throw new InputError(
        `${where}: apiVersion must be ${API_VERSION}, got ${JSON.stringify(record.apiVersion)}`,
      );
    }
    const verdict = validateInferenceModel(object, snapshots, { namespace });
    if (!verdict.allowed) {
      throw new InputError(
        `${where}: the admission webhook would deny it:\n  ${verdict.messages.join('\n  ')}`,
      );
    }
    warnings.push(...verdict.warnings.map((warning) => `${where}: Warning: ${warning}`));
    // Admitted: the spec has the CRD's shape; absent fields take the CRD's defaults, as the webhook patches them.
    const given = Object.fromEntries(
      Object.entries(record.spec as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined),
    );
    const model: InferenceModel = {
      namespace,
      name: String(metadata.name),
      uid: `simulated-${namespace}-${String(metadata.name)}`,
      generation: 1,
      deleting: false,
      finalizers: [],
      spec: { ...structuredClone(SPEC_DEFAULTS), ...given } as unknown as InferenceModelSpec,
      status: {},
    };
    const holder = holderOf(model);
    const earlier = seen.get(holder);
    if (earlier) throw new InputError(`${where}: ${holder} is also defined in ${earlier}`);
    seen.set(holder, file);
    models.push(model);
  }
  return { models, warnings, skipped };
}

/** `kind: List` (as `kubectl get -o yaml` writes) holds its objects in `items`. */
function listItems(object: unknown): unknown[] {
  if (isRecord(object) && object.kind === 'List' && Array.isArray(object.items)) return object.items;
  return [object];
}

function emptyPool(pool: SimulatedPool): PoolSnapshot {
  const definition = poolDefinition(pool.config);
  return { ...definition, allocatedBytes: 0, availableBytes: definition.totalBytes, allocations: [] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
