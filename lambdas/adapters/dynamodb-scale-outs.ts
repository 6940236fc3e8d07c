import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalWrite } from './dynamodb-conditional-write.js';
import type { ClusterScope } from '../core/clusters.js';
import type { ScaleOutRecords, ScaleOutRequest } from '../core/nodes/ports.js';
import { poolPartitionKey } from './dynamodb-ledger.js';

/**
 * A pool's outstanding node scale-out, one item next to its budget in the ledger table
 * (`pk` the pool's partition, `sk = node-scale-out`). A conditional put lets only one of several Lambdas that
 * see the same need ask EKS; the scheduled pass removes the item when the nodes are ready.
 */
export class DynamoDbScaleOutRecords implements ScaleOutRecords {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly scope?: ClusterScope,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async pending(pool: string): Promise<ScaleOutRequest | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(pool), ConsistentRead: true }),
    );
    return Item ? { target: Number(Item.target), requestedAt: Number(Item.requestedAt) } : undefined;
  }

  async record(pool: string, request: ScaleOutRequest, staleBefore: number): Promise<boolean> {
    return conditionalWrite(
      this.documents,
      new PutCommand({
        TableName: this.tableName,
        Item: { ...this.key(pool), target: request.target, requestedAt: request.requestedAt },
        ConditionExpression: 'attribute_not_exists(pk) OR #target < :target OR requestedAt < :staleBefore',
        ExpressionAttributeNames: { '#target': 'target' },
        ExpressionAttributeValues: { ':target': request.target, ':staleBefore': staleBefore },
      }),
    );
  }

  async clear(pool: string, request: ScaleOutRequest): Promise<void> {
    // False when a newer request replaced it: that one stays.
    await conditionalWrite(
      this.documents,
      new DeleteCommand({
        TableName: this.tableName,
        Key: this.key(pool),
        ConditionExpression: '#target = :target AND requestedAt = :requestedAt',
        ExpressionAttributeNames: { '#target': 'target' },
        ExpressionAttributeValues: { ':target': request.target, ':requestedAt': request.requestedAt },
      }),
    );
  }

  private key(pool: string): { pk: string; sk: string } {
    return { pk: poolPartitionKey(this.scope, pool), sk: 'node-scale-out' };
  }
}
