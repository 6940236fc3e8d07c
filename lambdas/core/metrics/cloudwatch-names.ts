/**
 * The names under which the control plane's operational metrics reach CloudWatch (as EMF). The EMF
 * adapter writes them and the CDK alarms and dashboard read them, so both sides share these constants.
 */
export const CLOUDWATCH_NAMESPACE = 'InferenceBudgetControlPlane';

/** Powertools Metrics adds a `service` dimension to every metric; alarms must name it too. */
export const CLOUDWATCH_SERVICE = 'inference-budget-control-plane';

/** The governed cluster, next to `service` on every metric (pool names repeat across clusters). */
export const CLUSTER_DIMENSION = 'cluster';

/** The per-pool dimension, next to `service` and `cluster`. */
export const POOL_DIMENSION = 'node_pool';

export const CLOUDWATCH_METRICS = {
  reconcileDuration: 'ReconcileDuration',
  reconcileErrors: 'ReconcileErrors',
  reconcileSucceeded: 'ReconcileSucceeded',
  warmUpRejections: 'WarmUpRejections',
  budgetTotal: 'BudgetTotalBytes',
  budgetAllocated: 'BudgetAllocatedBytes',
  budgetAvailable: 'BudgetAvailableBytes',
  budgetUtilization: 'BudgetUtilizationPercent',
  desiredNodes: 'DesiredNodes',
  readyNodes: 'ReadyNodes',
  neededNodes: 'NeededNodes',
  budgetAvailableOnRunningNodes: 'BudgetAvailableOnRunningNodesBytes',
  nodesScaledIn: 'NodesScaledIn',
  nodeScaleOutSeconds: 'NodeScaleOutSeconds',
  heldByteSeconds: 'HeldGpuMemoryByteSeconds',
} as const;
