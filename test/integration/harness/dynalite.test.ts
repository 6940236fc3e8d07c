import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { harnessEnv } from '../../../services/service.js';

describe('harness: dynalite', () => {
  const client = new DynamoDBClient({
    endpoint: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  afterAll(() => client.destroy());

  it('rejects a conditional put whose condition fails', async () => {
    await client.send(
      new CreateTableCommand({
        TableName: 'harness-smoke',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const putIfAbsent = new PutItemCommand({
      TableName: 'harness-smoke',
      Item: { pk: { S: 'pool#a' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    await client.send(putIfAbsent);
    await expect(client.send(putIfAbsent)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });
});
