import { paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Every item of one partition, read consistently, page by page: a pool's budget and activity, a queue. */
export async function readPartition(
  documents: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const pages = paginateQuery(
    { client: documents },
    {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}
