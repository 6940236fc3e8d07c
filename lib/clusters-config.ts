/**
 * The governed clusters, from either form of the configuration: `clusters: [{name, pools, ...}]`, or the
 * single-cluster `clusterName` + `pools`, which is the one-element list. Problems name their context key,
 * down to the entry and field (`inferenceBudget.clusters[1].pools[0].maxNodes`).
 */
import {
  NodePoolConfigError,
  parseNodePools,
  type NodePoolSetting,
} from '../lambdas/core/nodes/node-pools.js';
import type { Fail } from './config.js';

/** One governed EKS cluster: its pools, budgets, Lambdas, webhook and access entries are its own. */
export interface ClusterConfig {
  /** The EKS cluster's name; also the `cluster` metric label and the ledger's scope for its pools. */
  name: string;
  /** Its GPU node pools; pool names are unique within a cluster, not across clusters. */
  pools: NodePoolSetting[];
  /**
   * The namespaces governed in it (namespaced mode: Roles in each, deploy/rbac/namespace/); empty, the
   * whole cluster (deploy/rbac/cluster/). Unset on the cluster, the top-level `namespaces`.
   */
  namespaces: string[];
  /** An existing Secrets Manager secret holding its webhook path secret; unset, the stack creates one. */
  webhookSecretArn: string | undefined;
  /** Its cluster security group, admitted by its private webhook endpoint; unset, `vpc.clusterSecurityGroupId`. */
  clusterSecurityGroupId: string | undefined;
}

const CLUSTER_FIELDS = ['name', 'pools', 'namespaces', 'webhookSecretArn', 'clusterSecurityGroupId'];
const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const CLUSTER_NAME_RULE =
  'an EKS cluster name (letters, digits, - and _, at most 100, starting with a letter or digit)';

/**
 * `namespaces` is the top-level setting, already checked: a cluster without its own governs those. The
 * single-cluster form's `webhookSecretArn` is its one cluster's; with `clusters` each names its own.
 */
export function parseClusters(
  input: Record<string, unknown>,
  /** The full context key of a field, as problems name it. */
  setting: (field: string) => string,
  namespaces: string[],
  fail: Fail,
  report: (problem: string) => void,
): ClusterConfig[] {
  const secretArn = (field: string, value: unknown): string | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' || !SECRET_ARN.test(value))
      return fail(field, 'must be a Secrets Manager secret ARN');
    return value;
  };
  if (input.clusters === undefined) {
    const name = clusterName(input.clusterName, 'clusterName', fail);
    const pools = parsePools(input.pools, setting('pools'), 'pools', fail, report);
    const webhookSecretArn = secretArn('webhookSecretArn', input.webhookSecretArn);
    if (name === undefined) return [];
    return [{ name, pools, namespaces, webhookSecretArn, clusterSecurityGroupId: undefined }];
  }
  for (const field of ['clusterName', 'pools', 'webhookSecretArn'] as const) {
    // Empty is unset, so `-c inferenceBudget.clusterName=` clears a cdk.json's single-cluster form.
    if (input[field] !== undefined && input[field] !== null && input[field] !== '') {
      fail(field, `cannot be combined with "${setting('clusters')}": set it on each cluster`);
    }
  }
  const value = input.clusters;
  if (!Array.isArray(value) || value.length === 0) {
    fail(
      'clusters',
      'must be a non-empty list of clusters, each {name, pools, namespaces?, webhookSecretArn?}',
    );
    return [];
  }
  const clusters = value.flatMap((entry: unknown, index): ClusterConfig[] => {
    const where = `clusters[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      fail(where, 'must be an object {name, pools, namespaces?, webhookSecretArn?, clusterSecurityGroupId?}');
      return [];
    }
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!CLUSTER_FIELDS.includes(key)) fail(`${where}.${key}`, 'is not a known cluster setting');
    }
    const name = clusterName(record.name, `${where}.name`, fail);
    const pools = parsePools(record.pools, setting(`${where}.pools`), `${where}.pools`, fail, report);
    const own = clusterNamespaces(record.namespaces, `${where}.namespaces`, fail);
    const webhookSecretArn = secretArn(`${where}.webhookSecretArn`, record.webhookSecretArn);
    const group = record.clusterSecurityGroupId;
    if (group !== undefined && (typeof group !== 'string' || !SECURITY_GROUP_ID.test(group))) {
      fail(`${where}.clusterSecurityGroupId`, 'must be a security group id (sg-…)');
    }
    if (name === undefined) return [];
    return [
      {
        name,
        pools,
        namespaces: own ?? namespaces,
        webhookSecretArn,
        clusterSecurityGroupId: typeof group === 'string' ? group : undefined,
      },
    ];
  });
  clusters.forEach((cluster, index) => {
    if (clusters.findIndex((other) => other.name === cluster.name) !== index) {
      fail(`clusters[${index}].name`, `"${cluster.name}" is used by another cluster`);
    }
  });
  const secrets = clusters.map((cluster) => cluster.webhookSecretArn).filter(Boolean);
  if (new Set(secrets).size !== secrets.length) {
    fail('clusters', 'name one webhookSecretArn per cluster: each cluster has a webhook secret of its own');
  }
  return clusters;
}

function clusterName(value: unknown, field: string, fail: Fail): string | undefined {
  if (value === undefined || value === null || value === '') {
    return fail(field, 'is required: the EKS cluster this control plane governs');
  }
  if (typeof value !== 'string' || !EKS_CLUSTER_NAME.test(value))
    return fail(field, `must be ${CLUSTER_NAME_RULE}`);
  return value;
}

function clusterNamespaces(value: unknown, field: string, fail: Fail): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || !DNS_LABEL.test(item))) {
    return fail(field, 'must be a list of Kubernetes namespace names');
  }
  if (new Set(value).size !== value.length) return fail(field, 'lists a namespace more than once');
  return value as string[];
}

/** Checked by the same parser the Lambdas apply to `NODE_POOLS`, so synth refuses what they would. */
function parsePools(
  value: unknown,
  key: string,
  field: string,
  fail: Fail,
  report: (problem: string) => void,
): NodePoolSetting[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail(
      field,
      'is required: a list of GPU node pools, each {name, nodeGroup, gpuMemoryPerNode, minNodes, maxNodes}',
    );
    return [];
  }
  try {
    parseNodePools(JSON.stringify(value), key);
  } catch (error) {
    if (!(error instanceof NodePoolConfigError)) throw error;
    report(`context ${error.message}`);
    return [];
  }
  return value as NodePoolSetting[];
}
