import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ApiError } from '../core/api/errors.js';
import { parseRequest, type ParsedRequest } from '../core/api/routes.js';
import type { PoolSnapshot } from '../core/ledger/model.js';
import { readNodeCapacity, type NodeCapacity } from '../core/nodes/scaler.js';
import { holderOf, poolOf, type InferenceModel, type ModelRef } from '../core/reconcile/model.js';
import { allocationOf, modelView, poolView } from '../core/warmup/views.js';
import { findModel, recordActivity, warmUp, type WarmUpPorts } from '../core/warmup/warm-up.js';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeReconcileRequests } from '../adapters/eventbridge-reconcile-requests.js';
import { DynamoDbUsageStore } from '../adapters/dynamodb-usage.js';
import { pricePerNodeHour } from '../core/economics/prices.js';
import { usageReport, usageSince } from '../core/economics/usage.js';
import { runtimeConfig, type RuntimeConfig } from '../config.js';
import { logger } from './logger.js';
import { ClusterAccess } from './wiring/cluster-access.js';
import { ledgerTable, type LedgerTable } from './wiring/ledger-table.js';
import { metricsPorts } from './wiring/metrics.js';
import { nodeScaling } from './wiring/node-scaling.js';

let ports: (() => Promise<WarmUpPorts>) | undefined;

function wire(): () => Promise<WarmUpPorts> {
  const config = runtimeConfig();
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

/** Activity reports come per request: the model's pool is cached so most cost one ledger write. */
const MODEL_CACHE_MS = 60_000;
const modelCache = new Map<string, { model: InferenceModel; until: number }>();

/**
 * Time kept back from `?wait` for the answer after the last poll (reads of the deployment and the pool),
 * so the invocation ends with a 503 of its own, never with a Lambda or gateway timeout.
 */
export const ANSWER_RESERVE_MS = 3_000;

/** The wait a request asked for, cut to what the invocation has left before its timeout. */
export function boundedWaitSeconds(requested: number, remainingMs: number): number {
  return Math.max(0, Math.min(requested, Math.floor((remainingMs - ANSWER_RESERVE_MS) / 1000)));
}

/** The warm-up API behind API Gateway (REST proxy integration, IAM auth). */
export const handler = middy(
  async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    try {
      const request = parseRequest({
        method: event.httpMethod,
        path: event.path,
        query: event.queryStringParameters,
        body:
          event.isBase64Encoded && event.body
            ? Buffer.from(event.body, 'base64').toString('utf8')
            : event.body,
      });
      if (request.operation === 'getUsage') return await usage(request.since);
      const waitSeconds = boundedWaitSeconds(request.waitSeconds, context.getRemainingTimeInMillis());
      ports ??= wire();
      return await answer(await ports(), { ...request, operation: request.operation, waitSeconds });
    } catch (error) {
      if (error instanceof ApiError) return json(error.status, error.body, error.headers);
      logger.error('Warm-up API request failed', { path: event.path, error: String(error) });
      const failure = new ApiError('internal_error', 'The control plane failed to answer; retry later');
      return json(failure.status, failure.body);
    }
  },
).use(injectLambdaContext(logger));

/** The routes that read the cluster; usage needs only the ledger table. */
type ClusterRequest = ParsedRequest & { operation: Exclude<ParsedRequest['operation'], 'getUsage'> };

let usageSources: { config: RuntimeConfig; table: LedgerTable; store: DynamoDbUsageStore } | undefined;

/**
 * Showback: the GPU memory each namespace held since `since`, as node-hours and cost with the simulator's
 * cost model (docs/warmup-api.md). Needs only the ledger table, not the cluster.
 */
async function usage(since: string | undefined): Promise<APIGatewayProxyResult> {
  const now = Date.now();
  const sinceMs = usageSince(since, now);
  if (!usageSources) {
    const config = runtimeConfig();
    const table = ledgerTable(config);
    usageSources = { config, table, store: new DynamoDbUsageStore(table.client, table.name) };
  }
  const { config, table, store } = usageSources;
  const [records, pools] = await Promise.all([store.read(sinceMs), table.ledger.listPools()]);
  const configured = new Map(config.nodePools.map((p) => [p.name, p]));
  const pricing = pools.map((pool) => {
    const pricedBy = configured.get(pool.name);
    return {
      name: pool.name,
      bytesPerNode: pool.bytesPerNode,
      pricePerNodeHour: pricedBy ? pricePerNodeHour(pricedBy) : undefined,
    };
  });
  return json(200, usageReport(records, pricing, sinceMs, now));
}

async function answer(ports: WarmUpPorts, request: ClusterRequest): Promise<APIGatewayProxyResult> {
  const now = ports.clock();
  switch (request.operation) {
    case 'warmUp': {
      const result = await warmUp(ports, request.model!, request.waitSeconds);
      return json(result.status, result.body, result.status === 202 ? { Location: result.location } : {});
    }
    case 'recordActivity': {
      await recordActivity(ports, await cachedModel(ports, request.model!, now));
      return { statusCode: 204, headers: {}, body: '' };
    }
    case 'getModel': {
      const model = await findModel(ports, request.model!);
      const [deployment, pool] = await Promise.all([
        ports.cluster.getManagedDeployment(model),
        ports.ledger.readPool(poolOf(model)).catch(() => undefined),
      ]);
      return json(200, modelView(model, deployment, allocationOf(pool, model), now));
    }
    case 'listModels': {
      const [models, deployments, pools] = await Promise.all([
        ports.cluster.listModels(),
        ports.cluster.listManagedDeployments(),
        ports.ledger.listPools(),
      ]);
      const byHolder = new Map(deployments.map((d) => [holderOf(d), d]));
      const byPool = new Map(pools.map((p) => [p.name, p]));
      return json(200, {
        models: models.map((m) =>
          modelView(m, byHolder.get(holderOf(m)), allocationOf(byPool.get(poolOf(m)), m), now),
        ),
      });
    }
    case 'listPools': {
      const pools = await ports.ledger.listPools();
      const capacities = await Promise.all(pools.map((pool) => nodeCapacity(ports, pool)));
      return json(200, { pools: pools.map((pool, i) => poolView(pool, now, capacities[i])) });
    }
  }
}

/** A pool's nodes for the pools view; the budget alone is still worth answering when AWS is not. */
async function nodeCapacity(ports: WarmUpPorts, pool: PoolSnapshot): Promise<NodeCapacity | undefined> {
  if (!ports.nodeScaling) return undefined;
  return readNodeCapacity(ports.nodeScaling, pool).catch((error: unknown) => {
    logger.warn('Could not read the node pool', { nodePool: pool.name, error: String(error) });
    return undefined;
  });
}

async function cachedModel(ports: WarmUpPorts, ref: ModelRef, now: number): Promise<InferenceModel> {
  const key = holderOf(ref);
  const hit = modelCache.get(key);
  if (hit && hit.until > now) return hit.model;
  const model = await findModel(ports, ref);
  modelCache.set(key, { model, until: now + MODEL_CACHE_MS });
  return model;
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
