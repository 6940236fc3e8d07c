import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAdmissionQueue } from '../../adapters/dynamodb-admission-queue.js';
import { DynamoDbLedger, ledgerClient } from '../../adapters/dynamodb-ledger.js';
import type { RuntimeConfig } from '../../config.js';

/** The ledger table: one client shared by every adapter that keeps its items there, and the ledger on it. */
export interface LedgerTable {
  readonly client: DynamoDBClient;
  readonly name: string;
  readonly ledger: DynamoDbLedger;
  /** The pools' admission queues, in items of their own in the same table. */
  readonly queue: DynamoDbAdmissionQueue;
}

export function ledgerTable(config: RuntimeConfig): LedgerTable {
  const client = ledgerClient(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {});
  return {
    client,
    name: config.ledgerTable,
    ledger: new DynamoDbLedger(client, config.ledgerTable, config.cluster),
    queue: new DynamoDbAdmissionQueue(client, config.ledgerTable, config.cluster),
  };
}
