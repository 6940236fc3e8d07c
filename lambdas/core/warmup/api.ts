import type { ParsedRequest } from '../api/routes.js';
import type { UsageStore } from '../economics/metering.js';
import { pricePerNodeHour } from '../economics/prices.js';
import { usageReport, usageSince } from '../economics/usage.js';
import type { Ledger, PoolSnapshot } from '../ledger/ledger.js';
import type { NodePoolConfig } from '../nodes/node-pools.js';
import { readNodeCapacity, type NodeCapacity } from '../nodes/scaler.js';
import { holderOf, poolOf, type InferenceModel, type ModelRef } from '../inference-model.js';
import type { AdmissionQueue } from '../queue/model.js';
import { ApiError } from '../api/errors.js';
import { allocationOf, modelView, poolView, queueView } from './views.js';
import { findModel, recordActivity, warmUp, type WarmUpPorts } from './warm-up.js';

/** What the warm-up API answers (docs/warmup-api.md): a JSON body, or none (204). */
export interface ApiAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Time kept back from `?wait` for the answer after the last poll (reads of the deployment and the pool),
 * so the invocation ends with a 503 of its own, never with a Lambda or gateway timeout.
 */
export const ANSWER_RESERVE_MS = 3_000;

/** The wait a request asked for, cut to what the invocation has left before its timeout. */
export function boundedWaitSeconds(requested: number, remainingMs: number): number {
  return Math.max(0, Math.min(requested, Math.floor((remainingMs - ANSWER_RESERVE_MS) / 1000)));
}

/** The routes that read the cluster; usage needs only the ledger table. */
export type ClusterRequest = ParsedRequest & { operation: Exclude<ParsedRequest['operation'], 'getUsage'> };

/** Activity reports come per request: the model's pool is cached so most cost one ledger write. */
const MODEL_CACHE_MS = 60_000;

export class ModelCache {
  private readonly models = new Map<string, { model: InferenceModel; until: number }>();

  async get(ports: WarmUpPorts, ref: ModelRef, now: number): Promise<InferenceModel> {
    const key = holderOf(ref);
    const hit = this.models.get(key);
    if (hit && hit.until > now) return hit.model;
    const model = await findModel(ports, ref);
    this.models.set(key, { model, until: now + MODEL_CACHE_MS });
    return model;
  }
}

/**
 * The governed clusters as the warm-up Lambda of one of them sees them (docs/warmup-api.md#clusters):
 * its own, which it reads in full, and the others' pools, read from the shared ledger alone.
 */
export interface Fleet {
  /** This Lambda's cluster; unset, an unscoped single-cluster deployment. */
  own: string | undefined;
  others: readonly ClusterPools[];
}

export interface ClusterPools {
  name: string;
  ledger: Pick<Ledger, 'listPools'>;
  queue: Pick<AdmissionQueue, 'list'>;
}

/** A route by cluster is answered only by that cluster's Lambda: any other name is a 404. */
export function checkServedCluster(asked: string | undefined, fleet: Fleet): void {
  if (asked !== undefined && asked !== fleet.own) {
    throw new ApiError('not_found', `Cluster "${asked}" is not governed by this control plane`);
  }
}

/** The answer to a route that reads the cluster: warm-up, activity, and the model and pool views. */
export async function answerClusterRequest(
  ports: WarmUpPorts,
  request: ClusterRequest,
  models: ModelCache,
  fleet: Fleet = { own: undefined, others: [] },
): Promise<ApiAnswer> {
  const now = ports.clock();
  switch (request.operation) {
    case 'warmUp': {
      const result = await warmUp(ports, request.model!, request.waitSeconds, request.queue);
      // Asked by cluster, the model is polled by cluster too.
      const location =
        result.status === 202 && request.cluster !== undefined
          ? result.location.replace(/^\/v1/, `/v1/clusters/${request.cluster}`)
          : result.status === 202
            ? result.location
            : undefined;
      return { status: result.status, body: result.body, headers: location ? { Location: location } : {} };
    }
    case 'recordActivity': {
      await recordActivity(ports, await models.get(ports, request.model!, now));
      return { status: 204 };
    }
    case 'getModel': {
      const model = await findModel(ports, request.model!);
      const [deployment, pool] = await Promise.all([
        ports.cluster.getManagedDeployment(model),
        ports.ledger.readPool(poolOf(model)).catch(() => undefined),
      ]);
      return { status: 200, body: modelView(model, deployment, allocationOf(pool, model), now) };
    }
    case 'listModels': {
      const [listed, deployments, pools] = await Promise.all([
        ports.cluster.listModels(),
        ports.cluster.listManagedDeployments(),
        ports.ledger.listPools(),
      ]);
      const byHolder = new Map(deployments.map((d) => [holderOf(d), d]));
      const byPool = new Map(pools.map((p) => [p.name, p]));
      const views = listed.map((m) =>
        modelView(m, byHolder.get(holderOf(m)), allocationOf(byPool.get(poolOf(m)), m), now),
      );
      return { status: 200, body: { models: views } };
    }
    case 'listPools': {
      const pools = await ports.ledger.listPools();
      const [capacities, queues] = await Promise.all([
        Promise.all(pools.map((pool) => nodeCapacity(ports, pool))),
        Promise.all(pools.map((pool) => ports.queue?.list(pool.name) ?? [])),
      ]);
      const views = pools.map((pool, i) => ({
        ...poolView(pool, now, capacities[i]),
        queue: queueView(queues[i]!, now),
      }));
      return { status: 200, body: await poolsByCluster(views, fleet, now) };
    }
  }
}

type PoolEntry = ReturnType<typeof poolView> & { queue: ReturnType<typeof queueView> };

/**
 * `GET /v1/pools` of a deployment that names its clusters: every governed cluster's pools grouped by
 * cluster, and all of them in `pools` each with its `cluster` (the single-cluster answer, with one field
 * more). The other clusters' nodes are theirs to report: their pools carry the budget and queue only.
 */
async function poolsByCluster(own: PoolEntry[], fleet: Fleet, now: number) {
  if (fleet.own === undefined) return { pools: own };
  const others = await Promise.all(
    fleet.others.map(async ({ name, ledger, queue }) => {
      const pools = await ledger.listPools();
      const queues = await Promise.all(pools.map((pool) => queue.list(pool.name)));
      return {
        name,
        pools: pools.map((pool, i) => ({ ...poolView(pool, now), queue: queueView(queues[i]!, now) })),
      };
    }),
  );
  const clusters = [{ name: fleet.own, pools: own }, ...others];
  return {
    clusters,
    pools: clusters.flatMap(({ name, pools }) => pools.map((pool) => ({ cluster: name, ...pool }))),
  };
}

/** A pool's nodes for the pools view; the budget alone is still worth answering when AWS is not. */
async function nodeCapacity(ports: WarmUpPorts, pool: PoolSnapshot): Promise<NodeCapacity | undefined> {
  if (!ports.nodeScaling) return undefined;
  return readNodeCapacity(ports.nodeScaling, pool).catch((error: unknown) => {
    ports.log.warn('Could not read the node pool', { nodePool: pool.name, error: String(error) });
    return undefined;
  });
}

/** What showback reads: the ledger table only, not the cluster. */
export interface UsageSources {
  /** The cluster whose usage this is (its `CLUSTER_NAME`); unset, an unscoped single-cluster deployment. */
  cluster: string | undefined;
  usage: Pick<UsageStore, 'read'>;
  ledger: Pick<Ledger, 'listPools'>;
  nodePools: readonly NodePoolConfig[];
}

/**
 * Showback: the GPU memory each namespace held since `since`, as node-hours and cost with the simulator's
 * cost model (docs/warmup-api.md). A bad `since` is refused before the sources are built.
 */
export async function answerUsage(
  sourcesNow: () => UsageSources,
  since: string | undefined,
  now: number,
): Promise<ApiAnswer> {
  const sinceMs = usageSince(since, now);
  const sources = sourcesNow();
  const [records, pools] = await Promise.all([sources.usage.read(sinceMs), sources.ledger.listPools()]);
  const configured = new Map(sources.nodePools.map((p) => [p.name, p]));
  const pricing = pools.map((pool) => {
    const pricedBy = configured.get(pool.name);
    return {
      name: pool.name,
      bytesPerNode: pool.bytesPerNode,
      pricePerNodeHour: pricedBy ? pricePerNodeHour(pricedBy) : undefined,
    };
  });
  const report = usageReport(records, pricing, sinceMs, now);
  return {
    status: 200,
    body: sources.cluster === undefined ? report : { cluster: sources.cluster, ...report },
  };
}
