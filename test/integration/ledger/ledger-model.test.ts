import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { InMemoryLedger } from '../../../lambdas/core/ledger/in-memory-ledger.js';
import type { Ledger } from '../../../lambdas/core/ledger/ledger.js';
import { dynamoClient, freshLedger, ledgerBackends } from '../../support/ledger-backends.js';

const Gi = 2 ** 30;
const pools = ['p1', 'p2'] as const;
const holders = ['ml/a', 'ml/b', 'ml/c', 'team/d'] as const;

type Operation =
  | { kind: 'allocate' | 'resize'; pool: string; holder: string; gi: number }
  | { kind: 'release' | 'claim'; pool: string; holder: string; fence: 'as-read' | 'stale' }
  | { kind: 'activity'; pool: string; holder: string }
  | { kind: 'definePool'; pool: string; totalGi: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('allocate' as const, 'resize' as const),
    pool: fc.constantFrom(...pools, 'missing'),
    holder: fc.constantFrom(...holders),
    gi: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    kind: fc.constantFrom('release' as const, 'claim' as const),
    pool: fc.constantFrom(...pools, 'missing'),
    holder: fc.constantFrom(...holders),
    fence: fc.constantFrom('as-read' as const, 'stale' as const),
  }),
  fc.record({
    kind: fc.constant('activity' as const),
    pool: fc.constantFrom(...pools),
    holder: fc.constantFrom(...holders),
  }),
  fc.record({
    kind: fc.constant('definePool' as const),
    pool: fc.constantFrom(...pools),
    totalGi: fc.integer({ min: 0, max: 200 }),
  }),
);

/**
 * The fence a caller would send: the allocation as the reference model holds it now, or one read before
 * something changed it (a retry after a lost answer, a decision on an old snapshot).
 */
async function fenceFor(model: Ledger, op: { pool: string; holder: string; fence: 'as-read' | 'stale' }) {
  const held = (await model.readPool(op.pool).catch(() => undefined))?.allocations.find(
    (a) => a.holder === op.holder,
  );
  const read = held ?? { bytes: Gi, since: 1 };
  return op.fence === 'as-read'
    ? { bytes: read.bytes, since: read.since }
    : { bytes: read.bytes, since: read.since - 1 };
}

/** Runs one operation and reduces its answer to what both ledgers must agree on. */
async function apply(
  ledger: Ledger,
  op: Operation,
  now: number,
  fence: { bytes: number; since: number },
): Promise<unknown> {
  try {
    switch (op.kind) {
      case 'allocate':
      case 'resize': {
        const result = await ledger[op.kind]({ pool: op.pool, holder: op.holder, bytes: op.gi * Gi, now });
        return { ...result, pool: undefined };
      }
      case 'release':
        return await ledger.release({ pool: op.pool, holder: op.holder, fence });
      case 'claim':
        return await ledger.claim({ pool: op.pool, holder: op.holder, fence, now });
      case 'activity':
        return await ledger.recordActivity({ pool: op.pool, holder: op.holder, at: now });
      case 'definePool':
        return await ledger.definePool({
          name: op.pool,
          totalBytes: op.totalGi * Gi,
          bytesPerNode: 80 * Gi,
          nodeGroup: 'ng',
        });
    }
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error) };
  }
}

describe.each(ledgerBackends)(
  'DynamoDB ledger matches the in-memory model on %s',
  (_backend, endpointEnv) => {
    let client: DynamoDBClient;
    beforeAll(() => {
      client = dynamoClient(endpointEnv);
    });
    afterAll(() => client.destroy());

    it('for random sequences of operations', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (operations) => {
          const { ledger: dynamo } = await freshLedger(client);
          const model = new InMemoryLedger();
          for (const ledger of [dynamo, model]) {
            for (const name of pools)
              await ledger.definePool({ name, totalBytes: 120 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng' });
          }
          let now = 1_700_000_000_000;
          for (const op of operations) {
            now += 1_000;
            const fence = 'fence' in op ? await fenceFor(model, op) : { bytes: Gi, since: 1 };
            expect(await apply(dynamo, op, now, fence)).toEqual(await apply(model, op, now, fence));
          }
          expect(await dynamo.listPools()).toEqual(await model.listPools());
        }),
        { numRuns: 40 },
      );
    });
  },
);
