import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDbAdmissionQueue } from '../../adapters/dynamodb-admission-queue.js';
import { DynamoDbLedger } from '../../adapters/dynamodb-ledger.js';
import { DynamoDbUsageStore } from '../../adapters/dynamodb-usage.js';
import { EventBridgeReconcileRequests } from '../../adapters/eventbridge-reconcile-requests.js';
import type { RuntimeConfig } from '../../config.js';
import type { Fleet, UsageSources } from '../../core/warmup/api.js';
import type { WarmUpPorts } from '../../core/warmup/warm-up.js';
import { ClusterAccess } from './cluster-access.js';
import { ledgerTable } from './ledger-table.js';
import { metricsPorts } from './metrics.js';
import { nodeScaling } from './node-scaling.js';

/** The warm-up API's ports on the cluster's current credentials; adapters are built once. */
export function warmUpPorts(config: RuntimeConfig): () => Promise<WarmUpPorts> {
  const table = ledgerTable(config);
  const access = new ClusterAccess(config);
  const scaling = nodeScaling(config, table, access);
  const metrics = metricsPorts(config, table);
  // The SDK reads AWS_ENDPOINT_URL_EVENTBRIDGE itself, which is how local mode and tests reach moto.
  const reconcileRequests = new EventBridgeReconcileRequests(new EventBridgeClient({}), config.eventBusName);
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return async () => ({
    ...(await access.reconcilePorts(table)),
    reconcileRequests,
    reconcileIntervalMs: config.reconcileIntervalMs,
    metrics,
    sleep,
    nodeScaling: await scaling(),
  });
}

/**
 * The governed clusters for `GET /v1/pools`: the other clusters' pools and queues are read from the
 * shared ledger table, each under its own keys.
 */
export function fleet(config: RuntimeConfig): Fleet {
  const own = config.cluster?.cluster;
  const others = config.governedClusters.filter((scope) => scope.cluster !== own);
  if (others.length === 0) return { own, others: [] };
  const table = ledgerTable(config);
  return {
    own,
    others: others.map((scope) => ({
      name: scope.cluster,
      ledger: new DynamoDbLedger(table.client, table.name, scope),
      queue: new DynamoDbAdmissionQueue(table.client, table.name, scope),
    })),
  };
}

/** Showback's sources: the ledger table alone (this cluster's usage). */
export function usageSources(config: RuntimeConfig): UsageSources {
  const table = ledgerTable(config);
  return {
    cluster: config.cluster?.cluster,
    usage: new DynamoDbUsageStore(table.client, table.name, config.cluster),
    ledger: table.ledger,
    nodePools: config.nodePools,
  };
}
