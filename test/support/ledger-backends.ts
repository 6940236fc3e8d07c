import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../../lambdas/adapters/dynamodb-ledger.js';
import { harnessEnv } from '../../services/service.js';

/** The real DynamoDB implementations the ledger suite runs against. */
export const ledgerBackends = [
  ['dynalite', 'IBCP_DYNALITE_ENDPOINT'],
  ['moto', 'IBCP_MOTO_ENDPOINT'],
] as const;

export function dynamoClient(endpointEnv: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: harnessEnv(endpointEnv),
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 8,
  });
}

/** A ledger on a table of its own, so tests never see each other's pools. */
export async function freshLedger(
  client: DynamoDBClient,
): Promise<{ ledger: DynamoDbLedger; table: string }> {
  const table = `ledger-${randomUUID()}`;
  await ensureLedgerTable(client, table);
  return { ledger: new DynamoDbLedger(client, table), table };
}
