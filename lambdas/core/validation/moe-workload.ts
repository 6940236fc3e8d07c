import {
  MOE_ANNOTATIONS,
  MOE_ROLE_LABEL,
  readDeclaration,
  type DeploymentShape,
  type MoeDeclaration,
} from '../moe/workload.js';
import { isObject } from '../json.js';

/** What the admission webhook makes of a Deployment create or update (docs/moe-workloads.md). */
export type WorkloadInspection =
  /** Not declared, being deleted, or an update that leaves the declaration as it was and valid. */
  | { kind: 'allow' }
  | { kind: 'deny'; messages: string[] }
  /** A new or changed declaration: the pool's budget decides. */
  | { kind: 'check-budget'; declaration: MoeDeclaration };

/** Annotations whose change asks for a budget check; the control plane's own bookkeeping ones do not. */
const BUDGET_ANNOTATIONS = [MOE_ANNOTATIONS.pool, MOE_ANNOTATIONS.memory, MOE_ANNOTATIONS.maxReplicas];

export function inspectWorkload(object: unknown, oldObject: unknown, operation: string): WorkloadInspection {
  const shape = deploymentShape(object);
  if (typeof shape === 'string') return { kind: 'deny', messages: [shape] };
  if (shape.deleting) return { kind: 'allow' };
  const read = readDeclaration(shape);
  if (!read.declared) return { kind: 'allow' };
  if (!read.declaration) return { kind: 'deny', messages: read.problems };
  const { declaration } = read;
  if (shape.replicas > declaration.maxReplicas) {
    return {
      kind: 'deny',
      messages: [
        `spec.replicas ${shape.replicas} is more than annotation ${MOE_ANNOTATIONS.maxReplicas} (${declaration.maxReplicas})`,
      ],
    };
  }
  const old = operation === 'UPDATE' ? deploymentShape(oldObject) : undefined;
  // Scale-ups, restarts and the control plane's own annotations must not wait on the ledger.
  if (
    old !== undefined &&
    typeof old !== 'string' &&
    old.labels[MOE_ROLE_LABEL] === shape.labels[MOE_ROLE_LABEL] &&
    BUDGET_ANNOTATIONS.every((key) => old.annotations[key] === shape.annotations[key])
  ) {
    return { kind: 'allow' };
  }
  return { kind: 'check-budget', declaration };
}

interface Shape extends DeploymentShape {
  replicas: number;
  deleting: boolean;
}

function deploymentShape(object: unknown): Shape | string {
  if (!isObject(object)) return 'malformed AdmissionReview: request.object must be the Deployment';
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const spec = isObject(object.spec) ? object.spec : {};
  const template = isObject(spec.template) ? spec.template : {};
  const podSpec = isObject(template.spec) ? template.spec : {};
  const replicas = spec.replicas === undefined || spec.replicas === null ? 1 : spec.replicas;
  if (typeof replicas !== 'number') return 'spec.replicas must be a number';
  return {
    labels: strings(metadata.labels),
    annotations: strings(metadata.annotations),
    nodeSelector: strings(podSpec.nodeSelector),
    replicas,
    deleting: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
  };
}

function strings(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}
