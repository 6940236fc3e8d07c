import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { clusterKeyPrefix, type ClusterScope } from '../core/clusters.js';
import { conditionalWrite } from './dynamodb-conditional-write.js';
import { readPartition } from './dynamodb-partition.js';
import {
  LedgerError,
  type AllocateResult,
  type Allocation,
  type AllocationFence,
  type ClaimResult,
  type Cooldowns,
  type Ledger,
  type PoolDefinition,
  type PoolSnapshot,
  type ReleaseResult,
  type ResizeResult,
} from '../core/ledger/ledger.js';
import { insufficient, notHeld, shrinkError, sizeMismatch } from '../core/ledger/outcomes.js';
import {
  classifyAllocation,
  validateBytes,
  validateFence,
  validateHolder,
  validatePoolDefinition,
  validatePoolName,
  validateTime,
} from '../core/ledger/rules.js';

/**
 * The ledger in one DynamoDB table (see docs/ledger.md). Each pool is one item holding its counters and
 * a map of allocations, so every allocation, resize and release is a single conditional UpdateItem that
 * checks room and holder state; activity lives in small items of its own so per-request writes never
 * contend with allocations.
 */
export class DynamoDbLedger implements Ledger {
  private readonly documents: DynamoDBDocumentClient;

  /** Without a scope, the single-cluster ledger of earlier versions, unchanged (tests and benches). */
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly scope?: ClusterScope,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async definePool(definition: PoolDefinition): Promise<PoolSnapshot> {
    validatePoolDefinition(definition);
    const created = await conditionalWrite(
      this.documents,
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: this.poolKey(definition.name),
          sk: BUDGET_SORT_KEY,
          ...definitionAttributes(definition),
          ...(this.scope && { cluster: this.scope.cluster }),
          allocatedBytes: 0,
          availableBytes: definition.totalBytes,
          allocations: {},
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    if (created) return this.readPool(definition.name);
    return this.retryOnContention(`define pool ${definition.name}`, async () => {
      const item = await this.budgetItem(definition.name);
      this.checkOwner(definition.name, item.cluster);
      // A pool item written before clusters were scoped carries no cluster: this write adopts it for the
      // cluster that keeps the single-cluster keys (docs/ledger.md#clusters), allocations untouched.
      const adopt = this.scope !== undefined && item.cluster === undefined;
      // The scheduled pass defines every configured pool each minute: an unchanged one is not written,
      // so the pool's item (which every allocation contends on) sees no needless update.
      if (
        !adopt &&
        item.totalBytes === definition.totalBytes &&
        item.bytesPerNode === definition.bytesPerNode &&
        item.nodeGroup === definition.nodeGroup
      ) {
        return true;
      }
      const allocated = item.allocatedBytes;
      if (definition.totalBytes < allocated) throw shrinkError(definition, allocated);
      return conditionalWrite(
        this.documents,
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.budgetKey(definition.name),
          UpdateExpression: `SET totalBytes = :total, availableBytes = :available, bytesPerNode = :perNode, nodeGroup = :nodeGroup${this.scope ? ', #cluster = :cluster' : ''}`,
          ConditionExpression: `allocatedBytes = :allocated${this.scope ? ' AND (attribute_not_exists(#cluster) OR #cluster = :cluster)' : ''}`,
          ...(this.scope && { ExpressionAttributeNames: { '#cluster': 'cluster' } }),
          ExpressionAttributeValues: {
            ...(this.scope && { ':cluster': this.scope.cluster }),
            ':total': definition.totalBytes,
            ':perNode': definition.bytesPerNode,
            ':nodeGroup': definition.nodeGroup,
            ':available': definition.totalBytes - allocated,
            ':allocated': allocated,
          },
        }),
      );
    }).then(() => this.readPool(definition.name));
  }

  async allocate(request: {
    pool: string;
    holder: string;
    bytes: number;
    now: number;
    cooldowns?: Cooldowns;
  }): Promise<AllocateResult> {
    validatePoolName(request.pool);
    validateHolder(request.holder);
    validateBytes(request.bytes);
    validateTime(request.now, 'now');
    return this.retryOnContention(`allocate ${request.holder}`, async () => {
      const written = await this.documents
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.budgetKey(request.pool),
            UpdateExpression:
              'SET allocations.#holder = :allocation ADD allocatedBytes :bytes, availableBytes :minusBytes',
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(allocations.#holder) AND availableBytes >= :bytes',
            ExpressionAttributeNames: { '#holder': request.holder },
            ExpressionAttributeValues: {
              ':allocation': { bytes: request.bytes, since: request.now },
              ':bytes': request.bytes,
              ':minusBytes': -request.bytes,
            },
            // The pool as this write left it, in the same call: no read-back. Activity lives in items of
            // its own, which this does not read (as after a claim, lastActivity is left unknown).
            ReturnValues: 'ALL_NEW',
          }),
        )
        .then(
          ({ Attributes }) => Attributes as BudgetItem,
          (error: unknown) => {
            if (error instanceof ConditionalCheckFailedException) return undefined;
            throw error;
          },
        );
      if (written) return { outcome: 'allocated', pool: toSnapshot(written, new Map()) };
      // The condition failed: read what is there and let the shared rule say why.
      const pool = await this.readPool(request.pool);
      switch (classifyAllocation(pool, request.holder, request.bytes)) {
        case 'already-held':
          return { outcome: 'already-held', pool };
        case 'size-mismatch':
          throw sizeMismatch(request.pool, request.holder, pool);
        case 'insufficient':
          return insufficient(pool, request.bytes, request.now, request.cooldowns);
        case 'fits':
          return undefined; // the pool changed between the write and the read: try again
      }
    });
  }

  async resize(request: {
    pool: string;
    holder: string;
    bytes: number;
    now: number;
    cooldowns?: Cooldowns;
  }): Promise<ResizeResult> {
    validatePoolName(request.pool);
    validateHolder(request.holder);
    validateBytes(request.bytes);
    validateTime(request.now, 'now');
    return this.retryOnContention(`resize ${request.holder}`, async () => {
      const pool = await this.readPool(request.pool);
      const held = pool.allocations.find((a) => a.holder === request.holder);
      if (!held) throw notHeld(request.pool, request.holder);
      if (held.bytes === request.bytes) return { outcome: 'unchanged', previousBytes: held.bytes, pool };
      const delta = request.bytes - held.bytes;
      if (delta > pool.availableBytes) return insufficient(pool, delta, request.now, request.cooldowns);
      const written = await conditionalWrite(
        this.documents,
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.budgetKey(request.pool),
          // `since` stays: a resize is not a request, so it must not restart the idle clock.
          UpdateExpression:
            'SET allocations.#holder.bytes = :bytes ADD allocatedBytes :delta, availableBytes :minusDelta',
          ConditionExpression: 'allocations.#holder.bytes = :heldBytes AND availableBytes >= :delta',
          ExpressionAttributeNames: { '#holder': request.holder },
          ExpressionAttributeValues: {
            ':bytes': request.bytes,
            ':heldBytes': held.bytes,
            ':delta': delta,
            ':minusDelta': -delta,
          },
        }),
      );
      if (!written) return undefined;
      return { outcome: 'resized', previousBytes: held.bytes, pool: await this.readPool(request.pool) };
    });
  }

  async release(request: { pool: string; holder: string; fence: AllocationFence }): Promise<ReleaseResult> {
    validatePoolName(request.pool);
    validateHolder(request.holder);
    validateFence(request.fence);
    const { bytes, since } = request.fence;
    // One write, no read: the fence is the condition, so a retry after a lost answer, a concurrent
    // release or a re-claim makes it fail instead of subtracting twice.
    const written = await conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.budgetKey(request.pool),
        UpdateExpression: 'REMOVE allocations.#holder ADD allocatedBytes :minusBytes, availableBytes :bytes',
        ConditionExpression: 'allocations.#holder.bytes = :bytes AND allocations.#holder.since = :since',
        ExpressionAttributeNames: { '#holder': request.holder },
        ExpressionAttributeValues: { ':bytes': bytes, ':minusBytes': -bytes, ':since': since },
      }),
    );
    return written ? { released: true, bytes } : { released: false, bytes: 0 };
  }

  async claim(request: {
    pool: string;
    holder: string;
    fence: AllocationFence;
    now: number;
  }): Promise<ClaimResult> {
    validatePoolName(request.pool);
    validateHolder(request.holder);
    validateFence(request.fence);
    validateTime(request.now, 'now');
    const { bytes, since } = request.fence;
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.budgetKey(request.pool),
          UpdateExpression: 'SET allocations.#holder.since = :now',
          // `since = :now` too: a retried claim whose first answer was lost claims again.
          ConditionExpression:
            'allocations.#holder.bytes = :bytes AND allocations.#holder.since IN (:since, :now)',
          ExpressionAttributeNames: { '#holder': request.holder },
          ExpressionAttributeValues: { ':bytes': bytes, ':since': since, ':now': request.now },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const claimed = (Attributes as { allocations?: Record<string, { since: number }> } | undefined)
        ?.allocations?.[request.holder];
      return {
        claimed: true,
        allocation: {
          holder: request.holder,
          bytes,
          since: Number(claimed?.since ?? request.now),
          lastActivity: undefined,
        },
      };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { claimed: false };
      throw error;
    }
  }

  async recordActivity(request: { pool: string; holder: string; at: number }): Promise<void> {
    validatePoolName(request.pool);
    validateHolder(request.holder);
    validateTime(request.at, 'activity time');
    // An older report arriving late fails the condition and changes nothing, which is what we want.
    await conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: this.poolKey(request.pool), sk: `${ACTIVITY_PREFIX}${request.holder}` },
        UpdateExpression: 'SET lastActivity = :at, expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(lastActivity) OR lastActivity < :at',
        ExpressionAttributeValues: {
          ':at': request.at,
          ':expiresAt': Math.floor(request.at / 1000) + ACTIVITY_TTL_SECONDS,
        },
      }),
    );
  }

  async readPool(pool: string): Promise<PoolSnapshot> {
    validatePoolName(pool);
    const items = await readPartition(this.documents, this.tableName, this.poolKey(pool));
    const budget = items.find((item) => item.sk === BUDGET_SORT_KEY);
    if (!budget) throw unknownPool(pool);
    this.checkOwner(pool, budget.cluster as string | undefined);
    const activity = new Map(
      items
        .filter((item) => String(item.sk).startsWith(ACTIVITY_PREFIX))
        .map((item) => [String(item.sk).slice(ACTIVITY_PREFIX.length), Number(item.lastActivity)]),
    );
    return toSnapshot(budget as unknown as BudgetItem, activity);
  }

  async listPools(): Promise<PoolSnapshot[]> {
    const names: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new ScanCommand({
          TableName: this.tableName,
          ...this.ownPools(),
          ProjectionExpression: '#name',
          ExclusiveStartKey: startKey,
        }),
      );
      names.push(...(page.Items ?? []).map((item) => String(item.name)));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return Promise.all(names.sort().map((name) => this.readPool(name)));
  }

  /**
   * The scan filter for this ledger's budget items: another cluster's carry its name; the single-cluster
   * keys' items not yet adopted carry none, and belong to the cluster that keeps those keys.
   */
  private ownPools() {
    const names = { '#name': 'name' };
    if (!this.scope) {
      return {
        FilterExpression: 'sk = :budget',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':budget': BUDGET_SORT_KEY },
      };
    }
    return {
      FilterExpression: this.scope.legacyKeys
        ? 'sk = :budget AND begins_with(pk, :legacy) AND (attribute_not_exists(#cluster) OR #cluster = :cluster)'
        : 'sk = :budget AND #cluster = :cluster',
      ExpressionAttributeNames: { ...names, '#cluster': 'cluster' },
      ExpressionAttributeValues: {
        ':budget': BUDGET_SORT_KEY,
        ':cluster': this.scope.cluster,
        ...(this.scope.legacyKeys && { ':legacy': POOL_PREFIX }),
      },
    };
  }

  /** A single-cluster-key item another cluster adopted: the clusters were listed in another order. */
  private checkOwner(pool: string, owner: string | undefined): void {
    if (this.scope && owner !== undefined && owner !== this.scope.cluster) {
      throw new LedgerError(
        'cluster_mismatch',
        `node pool "${pool}" under the single-cluster keys belongs to cluster "${owner}", not "${this.scope.cluster}": list "${owner}" first in clusters (docs/ledger.md#clusters)`,
      );
    }
  }

  /** The partition of a pool's items: its budget, its holders' activity (and its node scale-out). */
  private poolKey(pool: string): string {
    return poolPartitionKey(this.scope, pool);
  }

  private budgetKey(pool: string): { pk: string; sk: string } {
    return { pk: this.poolKey(pool), sk: BUDGET_SORT_KEY };
  }

  private async budgetItem(pool: string): Promise<BudgetItem> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: this.budgetKey(pool), ConsistentRead: true }),
    );
    if (!Item) throw unknownPool(pool);
    return Item as BudgetItem;
  }

  /** Repeats read-decide-write until the write's condition holds; `undefined` means "lost a race". */
  private async retryOnContention<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
    for (let tries = 1; tries <= MAX_CONTENTION_RETRIES; tries++) {
      const result = await attempt();
      if (result !== undefined) return result;
      // Full jitter, so racing callers spread out instead of colliding again in lock step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** tries)));
    }
    throw new LedgerError(
      'contention',
      `${what}: the pool kept changing; gave up after ${MAX_CONTENTION_RETRIES} tries`,
    );
  }
}

/** A DynamoDB client whose SDK retries throttling and transient errors with jittered backoff. */
export function ledgerClient(options: { endpoint?: string; region?: string } = {}): DynamoDBClient {
  return new DynamoDBClient({ ...options, maxAttempts: 8, retryMode: 'adaptive' });
}

/**
 * Creates the ledger table with the CDK stack's key schema (pk/sk strings, on-demand), for local mode
 * and tests; an existing table is left as it is. Expiry of old activity items (TTL on expiresAt) is set
 * by the stack: local runs are short-lived and dynalite has no TTL.
 */
export async function ensureLedgerTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // A table answers writes only once ACTIVE; dynalite and DynamoDB both pass through CREATING.
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
}

/** The partition of a pool's items in a cluster's scope (docs/ledger.md#clusters). */
export function poolPartitionKey(scope: ClusterScope | undefined, pool: string): string {
  return `${clusterKeyPrefix(scope)}${POOL_PREFIX}${pool}`;
}

interface BudgetItem {
  name: string;
  /** Unset on items written before clusters were scoped (docs/ledger.md#clusters). */
  cluster?: string;
  totalBytes: number;
  bytesPerNode: number;
  nodeGroup: string;
  allocatedBytes: number;
  availableBytes: number;
  allocations: Record<string, { bytes: number; since: number }>;
}

const BUDGET_SORT_KEY = 'budget';
const POOL_PREFIX = 'pool#';
const ACTIVITY_PREFIX = 'activity#';
const ACTIVITY_TTL_SECONDS = 30 * 24 * 3600;
const MAX_CONTENTION_RETRIES = 50;

function definitionAttributes(definition: PoolDefinition) {
  return {
    name: definition.name,
    totalBytes: definition.totalBytes,
    bytesPerNode: definition.bytesPerNode,
    nodeGroup: definition.nodeGroup,
  };
}

function unknownPool(pool: string): LedgerError {
  return new LedgerError('unknown_pool', `node pool "${pool}" is not defined in the ledger`);
}

function toSnapshot(item: BudgetItem, activity: Map<string, number>): PoolSnapshot {
  const allocations: Allocation[] = Object.entries(item.allocations)
    .map(([holder, { bytes, since }]) => {
      const seen = activity.get(holder);
      // Activity from before this allocation belongs to an earlier life of the holder.
      return { holder, bytes, since, lastActivity: seen !== undefined && seen >= since ? seen : undefined };
    })
    .sort((a, b) => (a.holder < b.holder ? -1 : 1));
  return {
    name: item.name,
    totalBytes: item.totalBytes,
    bytesPerNode: item.bytesPerNode,
    nodeGroup: item.nodeGroup,
    allocatedBytes: item.allocatedBytes,
    availableBytes: item.availableBytes,
    allocations,
  };
}
