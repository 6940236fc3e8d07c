import type { InferenceModel, ResourceSpec } from '../inference-model.js';
import type { PodTemplate } from './ports.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';

/** The pod template a model's spec asks for: what the control plane writes and later compares. */
export function podTemplateFor(model: InferenceModel): PodTemplate {
  const { requests = {}, limits = {} } = model.spec.resources;
  // Kubernetes requires requests == limits for an extended resource: a GPU count given on one side only is mirrored.
  const gpu = limits.gpu ?? requests.gpu;
  return {
    image: model.spec.containerImage,
    modelName: model.spec.modelName,
    nodeSelector: { ...model.spec.nodeSelector },
    requests: quantities(requests, gpu),
    limits: quantities(limits, gpu),
  };
}

function quantities(spec: ResourceSpec, gpu: number | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (spec.cpu !== undefined) result.cpu = spec.cpu;
  if (spec.memory !== undefined) result.memory = spec.memory;
  if (gpu !== undefined) result[GPU_RESOURCE] = String(gpu);
  return result;
}

/**
 * Whether a Deployment's template already is what the spec asks for. Quantities compare by value: the
 * apiserver stores `0.5` cpu as `500m` and `1Gi` memory as is, and a string compare would roll out
 * forever.
 */
export function sameTemplate(actual: PodTemplate, wanted: PodTemplate): boolean {
  return (
    actual.image === wanted.image &&
    actual.modelName === wanted.modelName &&
    sameRecord(actual.nodeSelector, wanted.nodeSelector, (a, b) => a === b) &&
    sameRecord(actual.requests, wanted.requests, sameQuantity) &&
    sameRecord(actual.limits, wanted.limits, sameQuantity)
  );
}

function sameRecord(
  a: Record<string, string>,
  b: Record<string, string>,
  same: (x: string, y: string) => boolean,
): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && same(a[k]!, b[k]!));
}

const SUFFIXES: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const KUBERNETES_QUANTITY = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Two Kubernetes quantities with the same value (`0.5` and `500m`, `1024Mi` and `1Gi`). */
export function sameQuantity(a: string, b: string): boolean {
  if (a === b) return true;
  const value = (q: string) => {
    const match = KUBERNETES_QUANTITY.exec(q.trim());
    return match ? Number(match[1]) * SUFFIXES[match[2] ?? '']! : Number.NaN;
  };
  const [x, y] = [value(a), value(b)];
  return !Number.isNaN(x) && Math.abs(x - y) <= Math.abs(x) * 1e-9;
}
