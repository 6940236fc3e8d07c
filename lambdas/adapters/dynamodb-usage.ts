import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { HeldMemory } from '../core/economics/held-memory.js';
import type { UsageStore } from '../core/economics/metering.js';
import { MAX_USAGE_WINDOW_MS } from '../core/economics/usage.js';
import { clusterKeyPrefix, type ClusterScope } from '../core/clusters.js';
import { conditionalWrite } from './dynamodb-conditional-write.js';

const PARTITION = 'usage';
const METER = 'meter';
const HOUR_PREFIX = 'hour#';
/** Parallel increments per pass: enough for hundreds of models in a second, far from any throttle. */
const WRITE_CONCURRENCY = 16;

/**
 * Held GPU memory in the ledger table (`pk = usage`): one item per clock hour, pool and model, added to
 * with atomic ADDs and expired by the table's TTL a day after `GET /v1/usage` can no longer reach it;
 * and the meter (`sk = meter`), moved with a conditional write so an interval is counted at most once.
 * Each governed cluster meters its own (docs/ledger.md#clusters): the cluster that keeps the
 * single-cluster keys under `usage`, every other under `cluster#<cluster>#usage`, its items naming it.
 */
export class DynamoDbUsageStore implements UsageStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly partition: string;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly scope?: ClusterScope,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
    this.partition = `${clusterKeyPrefix(scope)}${PARTITION}`;
  }

  private get meterKey() {
    return { pk: this.partition, sk: METER };
  }

  async meteredUntil(): Promise<number | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: this.meterKey, ConsistentRead: true }),
    );
    return Item?.until === undefined ? undefined : Number(Item.until);
  }

  advanceMeter(from: number | undefined, to: number): Promise<boolean> {
    return conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.meterKey,
        UpdateExpression: 'SET #until = :to',
        ConditionExpression: from === undefined ? 'attribute_not_exists(#until)' : '#until = :from',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':to': to, ...(from !== undefined && { ':from': from }) },
      }),
    );
  }

  async add(records: readonly HeldMemory[]): Promise<void> {
    for (let i = 0; i < records.length; i += WRITE_CONCURRENCY) {
      await Promise.all(records.slice(i, i + WRITE_CONCURRENCY).map((record) => this.addOne(record)));
    }
  }

  async read(sinceMs: number): Promise<HeldMemory[]> {
    const records: HeldMemory[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': this.partition,
            ':from': `${HOUR_PREFIX}${new Date(sinceMs).toISOString()}`,
            ':to': `${HOUR_PREFIX}\uffff`,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        records.push({
          hourStartMs: Number(item.hourStartMs),
          pool: String(item.pool),
          namespace: String(item.namespace),
          model: String(item.model),
          byteSeconds: Number(item.byteSeconds),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }

  private async addOne(record: HeldMemory): Promise<void> {
    const hour = new Date(record.hourStartMs).toISOString();
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: {
          pk: this.partition,
          sk: `${HOUR_PREFIX}${hour}#${record.pool}#${record.namespace}/${record.model}`,
        },
        UpdateExpression: `ADD byteSeconds :held SET hourStartMs = :hour, #pool = :pool, #namespace = :namespace, model = :model, expiresAt = :expires${this.scope ? ', #cluster = :cluster' : ''}`,
        ExpressionAttributeNames: {
          '#pool': 'pool',
          '#namespace': 'namespace',
          ...(this.scope && { '#cluster': 'cluster' }),
        },
        ExpressionAttributeValues: {
          ...(this.scope && { ':cluster': this.scope.cluster }),
          ':held': record.byteSeconds,
          ':hour': record.hourStartMs,
          ':pool': record.pool,
          ':namespace': record.namespace,
          ':model': record.model,
          ':expires': Math.floor((record.hourStartMs + MAX_USAGE_WINDOW_MS) / 1000) + 86_400,
        },
      }),
    );
  }
}
