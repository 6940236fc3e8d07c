/**
 * Which governed cluster a Lambda (or local mode's set of handlers) serves, and where that cluster's
 * pools live in the shared ledger table (docs/ledger.md#clusters). Pool names repeat across clusters,
 * so each cluster's pool items have keys of their own, `cluster#<cluster>#pool#<pool>`, except those of
 * the cluster that keeps the single-cluster keys, `pool#<pool>`: an existing ledger's budgets and
 * allocations stay where they are, with no copy to make.
 */
export interface ClusterScope {
  cluster: string;
  /** The single-cluster keys: the one cluster of the single-cluster form, or the first of `clusters`. */
  legacyKeys: boolean;
}

/** An EKS cluster name: also the `cluster` label, the route segment and part of the ledger's keys. */
export const CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** The partition prefix of a pool's items (budget, activity, scale-out) and of its admission queue. */
export function clusterKeyPrefix(scope: ClusterScope | undefined): string {
  return !scope || scope.legacyKeys ? '' : `cluster#${scope.cluster}#`;
}
