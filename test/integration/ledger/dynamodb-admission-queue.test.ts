// The admission queue's DynamoDB adapter against the in-memory reference, on the same calls: the
// place kept by a repeated enqueue, the order, the fenced removal, and items that stay out of the
// pool's budget reads.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAdmissionQueue } from '../../../lambdas/adapters/dynamodb-admission-queue.js';
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { InMemoryAdmissionQueue } from '../../../lambdas/core/queue/in-memory-queue.js';
import type { AdmissionQueue } from '../../../lambdas/core/queue/model.js';
import { dynamoClient, freshLedger, ledgerBackends } from '../../support/ledger-backends.js';

const Gi = 2 ** 30;
const t = 1_700_000_000_000;

/** The same story told to a queue; what it answered along the way. */
async function story(queue: AdmissionQueue) {
  const join = (holder: string, priority: number, at: number) =>
    queue.enqueue({ pool: 'gpu-a100', holder, priority, bytes: 48 * Gi, at });
  const first = await join('ml/a', 0, t);
  await join('ml/b', 0, t + 1);
  await join('ml/c', 5, t + 2);
  const again = await join('ml/a', 0, t + 3); // a retry or a poll keeps the place and notes the request
  const ordered = (await queue.list('gpu-a100')).map((e) => e.holder);
  const staleRemove = await queue.remove({ pool: 'gpu-a100', holder: 'ml/a', enqueuedAt: t + 3 });
  const remove = await queue.remove({ pool: 'gpu-a100', holder: 'ml/a', enqueuedAt: first.enqueuedAt });
  const removeAgain = await queue.remove({ pool: 'gpu-a100', holder: 'ml/a', enqueuedAt: first.enqueuedAt });
  const rejoined = await join('ml/a', 0, t + 4);
  return {
    first,
    again,
    ordered,
    staleRemove,
    remove,
    removeAgain,
    rejoined,
    after: await queue.list('gpu-a100'),
    otherPool: await queue.list('gpu-l4'),
  };
}

describe.each(ledgerBackends)('DynamoDbAdmissionQueue on %s', (_backend, endpointEnv) => {
  let client: DynamoDBClient;
  let ledger: DynamoDbLedger;
  let queue: DynamoDbAdmissionQueue;

  beforeAll(() => {
    client = dynamoClient(endpointEnv);
  });
  afterAll(() => client.destroy());
  beforeEach(async () => {
    const fresh = await freshLedger(client);
    ledger = fresh.ledger;
    queue = new DynamoDbAdmissionQueue(client, fresh.table);
    await ledger.definePool({
      name: 'gpu-a100',
      totalBytes: 80 * Gi,
      bytesPerNode: 80 * Gi,
      nodeGroup: 'ng',
    });
  });

  it('answers exactly as the in-memory reference does', async () => {
    const expected = await story(new InMemoryAdmissionQueue());
    expect(expected.ordered).toEqual(['ml/c', 'ml/a', 'ml/b']);
    expect(expected.again).toMatchObject({ enqueuedAt: t, lastRequestAt: t + 3 });
    expect([expected.staleRemove, expected.remove, expected.removeAgain]).toEqual([false, true, false]);
    expect(expected.rejoined.enqueuedAt).toBe(t + 4); // a new place, at the back
    await expect(story(queue)).resolves.toEqual(expected);
  });

  it('keeps its items out of the pool budget and the pool list', async () => {
    await queue.enqueue({ pool: 'gpu-a100', holder: 'ml/a', priority: 0, bytes: Gi, at: t });
    const pool = await ledger.readPool('gpu-a100');
    expect(pool.allocations).toEqual([]);
    expect((await ledger.listPools()).map((p) => p.name)).toEqual(['gpu-a100']);
  });
});
