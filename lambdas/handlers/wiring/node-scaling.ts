import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EKSClient } from '@aws-sdk/client-eks';
import { DynamoDbScaleOutRecords } from '../../adapters/dynamodb-scale-outs.js';
import { EksNodeGroups } from '../../adapters/eks-node-groups.js';
import type { NodeScalingPorts } from '../../core/nodes/ports.js';
import type { RuntimeConfig } from '../../config.js';
import { logger } from '../logger.js';
import { poolNodes, type ClusterAccess } from './cluster-access.js';
import type { LedgerTable } from './ledger-table.js';

/** The node scaler's ports, or a function answering undefined when no node pool is configured. */
export function nodeScaling(
  config: RuntimeConfig,
  table: LedgerTable,
  access: ClusterAccess,
): () => Promise<NodeScalingPorts | undefined> {
  const cluster = config.nodeGroupCluster;
  if (!cluster) return async () => undefined;
  // The SDK reads AWS_ENDPOINT_URL_EKS and AWS_ENDPOINT_URL_AUTO_SCALING itself (tests reach moto so).
  const groups = new EksNodeGroups(new EKSClient({}), new AutoScalingClient({}), cluster);
  const scaleOuts = new DynamoDbScaleOutRecords(table.client, table.name, config.cluster);
  return async () => ({
    pools: config.nodePools,
    groups,
    nodes: await access.client(poolNodes),
    scaleOuts,
    log: logger,
    clock: Date.now,
    stabilisationMs: config.scaleInStabilisationMs,
  });
}
