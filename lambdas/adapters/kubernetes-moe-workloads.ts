import type { V1ConfigMap, V1Deployment, V1DeploymentList } from '@kubernetes/client-node';
import {
  CONFIG_MAPS,
  DEPLOYMENTS,
  KubernetesApi,
  resourcePath,
  statusOf,
  type KubernetesEndpoint,
} from './kubernetes-api.js';
import {
  ConflictError,
  type ConfigMapState,
  type MoeCluster,
  type WorkloadListing,
} from '../core/moe/ports.js';
import {
  MOE_ANNOTATIONS,
  MOE_ROLE_LABEL,
  readDeclaration,
  type MoeWorkload,
  type ScaleBack,
} from '../core/moe/workload.js';
import type { ModelRef } from '../core/inference-model.js';
import { inNamespaces } from './kubernetes-cluster.js';

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
const CHECKPOINT_ENV = 'CHECKPOINT_PATH';
/** A restart reads the Deployment again after a conflicting write this many times at most. */
const MAX_RESTART_ATTEMPTS = 5;

/**
 * The MoE Deployments (any Deployment with the `inference.eh-ops.io/moe-role` label) and their
 * ConfigMaps on a real kube-apiserver. Writes touch the pod template only for a restart.
 */
export class KubernetesMoeWorkloads implements MoeCluster {
  private readonly api: KubernetesApi;

  constructor(
    endpoint: KubernetesEndpoint,
    /** These namespaces only (namespaced mode); default: the whole cluster. */
    private readonly options: { namespaces?: readonly string[] } = {},
  ) {
    this.api = new KubernetesApi(endpoint);
  }

  /** HTTP requests sent, retries included. */
  get apiCalls(): number {
    return this.api.requests;
  }

  async listWorkloads(): Promise<WorkloadListing> {
    const labelSelector = MOE_ROLE_LABEL;
    const lists = await inNamespaces(this.options.namespaces, (namespace) =>
      this.api.get<V1DeploymentList>(resourcePath(DEPLOYMENTS, { namespace }), { labelSelector }),
    );
    const listing: WorkloadListing = { workloads: [], invalid: [] };
    for (const deployment of lists.flatMap((list) => list.items)) {
      const read = toWorkload(deployment);
      if ('problems' in read) listing.invalid.push(read);
      else listing.workloads.push(read);
    }
    return listing;
  }

  async readConfigMap(namespace: string, name: string): Promise<ConfigMapState | undefined> {
    if (!this.inScope(namespace)) return undefined;
    const configMap = await this.api
      .get<V1ConfigMap>(resourcePath(CONFIG_MAPS, { namespace, name }))
      .catch((error: unknown) => {
        if (statusOf(error) === 404) return undefined;
        throw error;
      });
    if (!configMap) return undefined;
    return {
      namespace,
      name,
      data: configMap.data ?? {},
      resourceVersion: configMap.metadata?.resourceVersion ?? '',
    };
  }

  async patchConfigMap(config: ConfigMapState, data: Record<string, string>): Promise<void> {
    const body = { metadata: { resourceVersion: config.resourceVersion }, data };
    await this.api
      .patch(resourcePath(CONFIG_MAPS, config), body, 'merge')
      .catch(conflictAsError(`ConfigMap ${config.namespace}/${config.name}`));
  }

  /**
   * Reads the Deployment and patches its pod template on the version read. The read is this method's own,
   * so a write in between (the deployment controller's status update of a Deployment just created or
   * rolled) only means reading again: up to MAX_RESTART_ATTEMPTS times, then ConflictError.
   */
  async restart(workload: ModelRef, at: number, env: Record<string, string>): Promise<void> {
    const { namespace, name } = workload;
    const path = resourcePath(DEPLOYMENTS, { namespace, name });
    for (let attempt = 1; ; attempt++) {
      const deployment = await this.api.get<V1Deployment>(path);
      try {
        // Containers and their env are merged by name, as `kubectl rollout restart` and `kubectl set env` do.
        await this.api.patch(path, restartPatch(deployment, at, env), 'strategic');
        return;
      } catch (error) {
        if (statusOf(error) !== 409 || attempt >= MAX_RESTART_ATTEMPTS) {
          conflictAsError(`Deployment ${namespace}/${name}`)(error);
        }
      }
    }
  }

  async scale(
    workload: ModelRef,
    replicas: number,
    annotations: Record<string, string | null> = {},
  ): Promise<void> {
    const body = { metadata: { annotations }, spec: { replicas } };
    await this.api.patch(resourcePath(DEPLOYMENTS, workload), body, 'merge');
  }

  async annotate(workload: ModelRef, annotations: Record<string, string | null>): Promise<void> {
    await this.api.patch(resourcePath(DEPLOYMENTS, workload), { metadata: { annotations } }, 'merge');
  }

  private inScope(namespace: string): boolean {
    return this.options.namespaces === undefined || this.options.namespaces.includes(namespace);
  }
}

/** A declared workload, or why its declaration does not hold. */
export function toWorkload(
  deployment: V1Deployment,
): MoeWorkload | { namespace: string; name: string; problems: string[] } {
  const meta = deployment.metadata ?? {};
  const namespace = meta.namespace ?? '';
  const name = meta.name ?? '';
  const annotations = meta.annotations ?? {};
  const replicas = deployment.spec?.replicas ?? 1;
  const read = readDeclaration({
    labels: meta.labels ?? {},
    annotations,
    nodeSelector: deployment.spec?.template.spec?.nodeSelector ?? {},
  });
  if (!read.declared) return { namespace, name, problems: [`label ${MOE_ROLE_LABEL} is missing`] };
  if (!read.declaration) return { namespace, name, problems: read.problems };
  const checkpointPath = (deployment.spec?.template.spec?.containers ?? [])
    .flatMap((c) => c.env ?? [])
    .find((e) => e.name === CHECKPOINT_ENV)?.value;
  return {
    ...read.declaration,
    namespace,
    name,
    replicas,
    readyReplicas: deployment.status?.readyReplicas ?? 0,
    latestCheckpoint: annotations[MOE_ANNOTATIONS.latestCheckpoint],
    checkpointPath,
    scaleBack: scaleBackOf(annotations),
  };
}

function scaleBackOf(annotations: Record<string, string>): ScaleBack | undefined {
  const replicas = Number(annotations[MOE_ANNOTATIONS.scaleBackReplicas]);
  if (
    annotations[MOE_ANNOTATIONS.scaleBackReplicas] === undefined ||
    !Number.isInteger(replicas) ||
    replicas < 0
  ) {
    return undefined;
  }
  return {
    replicas,
    highSince: time(annotations[MOE_ANNOTATIONS.latencyHighSince]),
    lowSince: time(annotations[MOE_ANNOTATIONS.latencyLowSince]),
  };
}

function time(text: string | undefined): number | undefined {
  const ms = text === undefined ? NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The restart's patch on the version of the Deployment read: a new restartedAt, and `env` on the containers
 * that already set one of its variables (a trainer that never had one: on its first container).
 */
function restartPatch(deployment: V1Deployment, at: number, env: Record<string, string>): object {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  const targets = containers.filter((c) => c.env?.some((e) => Object.hasOwn(env, e.name)));
  const chosen = targets.length > 0 ? targets : containers.slice(0, 1);
  const envList = Object.entries(env).map(([key, value]) => ({ name: key, value }));
  return {
    metadata: { resourceVersion: deployment.metadata?.resourceVersion },
    spec: {
      template: {
        metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: new Date(at).toISOString() } },
        ...(envList.length > 0 && {
          spec: { containers: chosen.map((c) => ({ name: c.name, env: envList })) },
        }),
      },
    },
  };
}

function conflictAsError(what: string): (error: unknown) => never {
  return (error) => {
    if (statusOf(error) === 409) throw new ConflictError(`${what} changed since it was read`);
    throw error;
  };
}
