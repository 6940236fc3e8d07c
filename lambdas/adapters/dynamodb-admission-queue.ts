import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { clusterKeyPrefix, type ClusterScope } from '../core/clusters.js';
import { validateHolder, validatePoolName, validateTime } from '../core/ledger/rules.js';
import {
  queueOrder,
  type AdmissionQueue,
  type EnqueueRequest,
  type QueueEntry,
} from '../core/queue/model.js';
import { conditionalWrite } from './dynamodb-conditional-write.js';
import { readPartition } from './dynamodb-partition.js';

/**
 * The admission queues in the ledger table (docs/ledger.md): one item per waiting model under a
 * partition of its own per pool, so joining the line never contends with the pool's budget item. A
 * cluster's queues follow its pools' keys (docs/ledger.md#clusters): `queue#<pool>` for the cluster that
 * keeps the single-cluster keys, `cluster#<cluster>#queue#<pool>` for every other.
 */
export class DynamoDbAdmissionQueue implements AdmissionQueue {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly scope?: ClusterScope,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async enqueue(request: EnqueueRequest): Promise<QueueEntry> {
    validatePoolName(request.pool);
    validateHolder(request.holder);
    validateTime(request.at, 'enqueue time');
    // One write: the first enqueue sets the place, later ones (and retries) only note the request.
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: this.queueKey(request.pool), sk: request.holder },
        UpdateExpression:
          'SET enqueuedAt = if_not_exists(enqueuedAt, :at), lastRequestAt = :at, priority = :priority, #bytes = :bytes',
        ExpressionAttributeNames: { '#bytes': 'bytes' },
        ExpressionAttributeValues: {
          ':at': request.at,
          ':priority': request.priority,
          ':bytes': request.bytes,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toEntry(request.pool, Attributes as QueueItem);
  }

  async list(pool: string): Promise<QueueEntry[]> {
    validatePoolName(pool);
    const items = await readPartition(this.documents, this.tableName, this.queueKey(pool));
    return queueOrder(items.map((item) => toEntry(pool, item as unknown as QueueItem)));
  }

  async remove(request: { pool: string; holder: string; enqueuedAt: number }): Promise<boolean> {
    validatePoolName(request.pool);
    validateHolder(request.holder);
    return conditionalWrite(
      this.documents,
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: this.queueKey(request.pool), sk: request.holder },
        ConditionExpression: 'enqueuedAt = :enqueuedAt',
        ExpressionAttributeValues: { ':enqueuedAt': request.enqueuedAt },
      }),
    );
  }

  private queueKey(pool: string): string {
    return `${clusterKeyPrefix(this.scope)}queue#${pool}`;
  }
}

interface QueueItem {
  sk: string;
  priority: number;
  bytes: number;
  enqueuedAt: number;
  lastRequestAt: number;
}

function toEntry(pool: string, item: QueueItem): QueueEntry {
  return {
    pool,
    holder: item.sk,
    priority: Number(item.priority),
    bytes: Number(item.bytes),
    enqueuedAt: Number(item.enqueuedAt),
    lastRequestAt: Number(item.lastRequestAt),
  };
}
