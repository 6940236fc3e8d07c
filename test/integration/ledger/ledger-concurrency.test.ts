import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { checkInvariants } from '../../../lambdas/core/ledger/rules.js';
import { dynamoClient, freshLedger, ledgerBackends } from '../../support/ledger-backends.js';

const Gi = 2 ** 30;
const TOTAL = 200 * Gi;
const CLIENTS = 16;
const OPERATIONS = 400;
const HOLDERS = 40;

// Only dynalite serializes conditional writes to one item as DynamoDB does. moto checks a condition and
// applies the update without a lock, so two racing releases can both pass their condition there: a race
// test on moto would test moto, not the ledger.
const serializingBackends = ledgerBackends.filter(([backend]) => backend === 'dynalite');

describe.each(serializingBackends)('ledger under concurrency on %s', (_backend, endpointEnv) => {
  const clients: DynamoDBClient[] = [];
  afterAll(() => clients.forEach((c) => c.destroy()));

  /** A ledger on a client and table of its own, with one pool defined. */
  async function ledgerWithPool(pool: string, totalBytes: number): Promise<DynamoDbLedger> {
    const client = dynamoClient(endpointEnv);
    clients.push(client);
    const { ledger } = await freshLedger(client);
    await ledger.definePool({ name: pool, totalBytes, bytesPerNode: 80 * Gi, nodeGroup: 'ng' });
    return ledger;
  }

  it(`${OPERATIONS} racing allocate/release calls from ${CLIENTS} clients never over-allocate or lose budget`, async () => {
    // Separate SDK clients stand in for separate Lambda instances.
    clients.push(...Array.from({ length: CLIENTS }, () => dynamoClient(endpointEnv)));
    const { ledger: setup, table } = await freshLedger(clients[0]!);
    await setup.definePool({ name: 'race', totalBytes: TOTAL, bytesPerNode: 80 * Gi, nodeGroup: 'race-ng' });
    const ledgers = clients.map((c) => new DynamoDbLedger(c, table));
    const observer = ledgers[0]!;
    const random = seededRandom(42);
    const violations: string[] = [];

    const operations = Array.from({ length: OPERATIONS }, (_, i) => {
      const ledger = ledgers[i % CLIENTS]!;
      const holder = `race/model-${Math.floor(random() * HOLDERS)}`;
      const bytes = (1 + Math.floor(random() * 60)) * Gi;
      const release = random() < 0.45;
      return async () => {
        if (release) {
          // A caller fences to the allocation it read; a race lost in between frees nothing.
          const held = (await ledger.readPool('race')).allocations.find((a) => a.holder === holder);
          if (held) await ledger.release({ pool: 'race', holder, fence: held });
        } else {
          await ledger
            .allocate({ pool: 'race', holder, bytes, now: Date.now() })
            // A holder that already holds another size is refused: part of the race, not a failure.
            .catch((error: { code?: string }) => {
              if (error.code !== 'holder_size_mismatch') throw error;
            });
        }
        // Check after each step, while the others are still racing.
        const snapshot = await observer.readPool('race');
        violations.push(...checkInvariants(snapshot));
      };
    });

    await runWithConcurrency(operations, CLIENTS * 2);

    const final = await observer.readPool('race');
    expect(violations).toEqual([]);
    expect(checkInvariants(final)).toEqual([]);
    expect(final.allocatedBytes).toBe(final.allocations.reduce((sum, a) => sum + a.bytes, 0));
    expect(final.allocatedBytes).toBeLessThanOrEqual(TOTAL);
    // Everything can still be released, and then the whole pool is free again.
    await Promise.all(
      final.allocations.map((a) => observer.release({ pool: 'race', holder: a.holder, fence: a })),
    );
    await expect(observer.readPool('race')).resolves.toMatchObject({
      allocatedBytes: 0,
      availableBytes: TOTAL,
    });
  });

  it('concurrent releases of one holder free its bytes exactly once', async () => {
    const ledger = await ledgerWithPool('release', 160 * Gi);
    const now = Date.now();
    await ledger.allocate({ pool: 'release', holder: 'ml/llama', bytes: 48 * Gi, now });
    await ledger.allocate({ pool: 'release', holder: 'ml/other', bytes: 16 * Gi, now });
    const held = { bytes: 48 * Gi, since: now };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => ledger.release({ pool: 'release', holder: 'ml/llama', fence: held })),
    );
    expect(results.filter((r) => r.released)).toHaveLength(1);
    await expect(ledger.readPool('release')).resolves.toMatchObject({ allocatedBytes: 16 * Gi });
  });

  it('concurrent allocations of one last slot admit exactly one', async () => {
    const ledger = await ledgerWithPool('last-slot', 80 * Gi);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        ledger.allocate({ pool: 'last-slot', holder: `ml/model-${i}`, bytes: 80 * Gi, now: Date.now() }),
      ),
    );
    expect(results.filter((r) => r.outcome === 'allocated')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'insufficient')).toHaveLength(11);
  });
});

async function runWithConcurrency(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

/** A small deterministic generator, so a failing interleaving's inputs can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}
