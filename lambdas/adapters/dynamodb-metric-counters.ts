import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { bucketIndex } from '../core/metrics/catalog.js';
import type { HistogramState, MetricCounters } from '../core/metrics/series.js';

/**
 * Counters and histograms as items of the ledger table (`pk = metrics`), one atomic ADD per update, so
 * racing Lambdas never lose an increment and the totals they report only grow.
 */
export class DynamoDbMetricCounters implements MetricCounters {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async increment(metric: string, labels: Readonly<Record<string, string>>, by: number): Promise<number> {
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: 'metrics', sk: seriesKey(metric, labels) },
        UpdateExpression: 'ADD #total :by',
        ExpressionAttributeNames: { '#total': 'total' },
        ExpressionAttributeValues: { ':by': by },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.total ?? 0);
  }

  async observe(
    metric: string,
    labels: Readonly<Record<string, string>>,
    buckets: readonly number[],
    value: number,
  ): Promise<HistogramState> {
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: 'metrics', sk: seriesKey(metric, labels) },
        UpdateExpression: 'ADD #bucket :one, #sum :value, #count :one',
        ExpressionAttributeNames: {
          '#bucket': `b${bucketIndex(buckets, value)}`,
          '#sum': 'sum',
          '#count': 'count',
        },
        ExpressionAttributeValues: { ':one': 1, ':value': value },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = Attributes ?? {};
    return {
      buckets,
      counts: buckets.map((_, i) => Number(item[`b${i}`] ?? 0)),
      sum: Number(item.sum ?? 0),
      count: Number(item.count ?? 0),
    };
  }
}

/** One item per series: the metric and its labels in a stable order. */
function seriesKey(metric: string, labels: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`);
  return `${metric}{${sorted.join(',')}}`;
}
