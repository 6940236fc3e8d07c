import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { LedgerError } from '../../../lambdas/core/ledger/ledger.js';
import { dynamoClient, freshLedger, ledgerBackends } from '../../support/ledger-backends.js';

const Gi = 2 ** 30;
const now = 1_700_000_000_000;
const minute = 60_000;
const a100 = { name: 'gpu-a100', totalBytes: 160 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'gpu-a100-ng' };

describe.each(ledgerBackends)('DynamoDbLedger on %s', (_backend, endpointEnv) => {
  let client: DynamoDBClient;
  let ledger: DynamoDbLedger;

  beforeAll(() => {
    client = dynamoClient(endpointEnv);
  });
  afterAll(() => client.destroy());
  beforeEach(async () => {
    ({ ledger } = await freshLedger(client));
    await ledger.definePool(a100);
  });

  describe('pools', () => {
    it('defines a pool with all of it available', async () => {
      await expect(ledger.readPool('gpu-a100')).resolves.toEqual({
        ...a100,
        allocatedBytes: 0,
        availableBytes: 160 * Gi,
        allocations: [],
      });
    });

    it('resizes a pool, keeping allocations and moving only what is available', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      const grown = await ledger.definePool({ ...a100, totalBytes: 240 * Gi, bytesPerNode: 80 * Gi });
      expect(grown).toMatchObject({
        totalBytes: 240 * Gi,
        allocatedBytes: 48 * Gi,
        availableBytes: 192 * Gi,
      });
      const shrunk = await ledger.definePool({ ...a100, totalBytes: 48 * Gi });
      expect(shrunk).toMatchObject({ totalBytes: 48 * Gi, allocatedBytes: 48 * Gi, availableBytes: 0 });
    });

    it('refuses to shrink a pool below what is allocated, and loses nothing', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      const before = await ledger.readPool('gpu-a100');
      await expect(ledger.definePool({ ...a100, totalBytes: 40 * Gi })).rejects.toThrow(
        'cannot set pool gpu-a100 to 40Gi: 48Gi is allocated',
      );
      await expect(ledger.readPool('gpu-a100')).resolves.toEqual(before);
    });

    it('lists every pool', async () => {
      await ledger.definePool({ ...a100, name: 'gpu-h100', nodeGroup: 'gpu-h100-ng' });
      const pools = await ledger.listPools();
      expect(pools.map((p) => p.name)).toEqual(['gpu-a100', 'gpu-h100']);
    });
  });

  describe('allocate', () => {
    it('allocates while there is room, and counts a repeated allocation once', async () => {
      const first = await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      expect(first.outcome).toBe('allocated');
      const replay = await ledger.allocate({
        pool: 'gpu-a100',
        holder: 'ml/llama',
        bytes: 48 * Gi,
        now: now + 5,
      });
      expect(replay.outcome).toBe('already-held');
      expect(replay.pool).toMatchObject({ allocatedBytes: 48 * Gi, availableBytes: 112 * Gi });
      expect(replay.pool.allocations).toEqual([
        { holder: 'ml/llama', bytes: 48 * Gi, since: now, lastActivity: undefined },
      ]);
    });

    it('allows exactly the total, and not a byte more', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/a', bytes: 80 * Gi, now });
      expect((await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/b', bytes: 80 * Gi, now })).outcome).toBe(
        'allocated',
      );
      const refused = await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/c', bytes: 1, now });
      expect(refused).toMatchObject({ outcome: 'insufficient', requestedBytes: 1, availableBytes: 0 });
    });

    it('answers a request that does not fit with the blocking holders, idlest first', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/codellama', bytes: 48 * Gi, now });
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 80 * Gi, now });
      await ledger.recordActivity({ pool: 'gpu-a100', holder: 'ml/llama', at: now + 4 * minute });
      const result = await ledger.allocate({
        pool: 'gpu-a100',
        holder: 'ml/llama-70b',
        bytes: 80 * Gi,
        now: now + 5.5 * minute,
        cooldowns: { defaultMs: 10 * minute },
      });
      expect(result).toMatchObject({
        outcome: 'insufficient',
        availableBytes: 32 * Gi,
        blocking: [{ holder: 'ml/codellama', bytes: 48 * Gi, idleMs: 5.5 * minute }],
        retryAfterSeconds: 270,
      });
      expect((await ledger.readPool('gpu-a100')).allocatedBytes).toBe(128 * Gi);
    });

    it('refuses a different size for a holder: that is a resize', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      await expect(
        ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 40 * Gi, now }),
      ).rejects.toThrow('ml/llama already holds 48Gi in pool gpu-a100; change its size with resize');
    });
  });

  describe('resize', () => {
    beforeEach(() => ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now }));

    it('grows and shrinks a holder within the pool', async () => {
      const grown = await ledger.resize({
        pool: 'gpu-a100',
        holder: 'ml/llama',
        bytes: 80 * Gi,
        now: now + 1,
      });
      expect(grown).toMatchObject({
        outcome: 'resized',
        previousBytes: 48 * Gi,
        pool: { allocatedBytes: 80 * Gi },
      });
      const again = await ledger.resize({
        pool: 'gpu-a100',
        holder: 'ml/llama',
        bytes: 80 * Gi,
        now: now + 2,
      });
      expect(again.outcome).toBe('unchanged');
      const shrunk = await ledger.resize({
        pool: 'gpu-a100',
        holder: 'ml/llama',
        bytes: 16 * Gi,
        now: now + 3,
      });
      expect(shrunk).toMatchObject({
        outcome: 'resized',
        pool: { allocatedBytes: 16 * Gi, availableBytes: 144 * Gi },
      });
    });

    it('does not grow past the total', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/other', bytes: 100 * Gi, now });
      const result = await ledger.resize({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 61 * Gi, now });
      expect(result).toMatchObject({
        outcome: 'insufficient',
        requestedBytes: 13 * Gi,
        availableBytes: 12 * Gi,
      });
      expect((await ledger.readPool('gpu-a100')).allocatedBytes).toBe(148 * Gi);
    });

    it('refuses to resize what is not held', async () => {
      await expect(
        ledger.resize({ pool: 'gpu-a100', holder: 'ml/ghost', bytes: Gi, now }),
      ).rejects.toMatchObject({
        code: 'not_held',
      });
    });
  });

  describe('release', () => {
    it('releases once: a second release frees nothing', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      const fence = { bytes: 48 * Gi, since: now };
      await expect(ledger.release({ pool: 'gpu-a100', holder: 'ml/llama', fence })).resolves.toEqual({
        released: true,
        bytes: 48 * Gi,
      });
      await expect(ledger.release({ pool: 'gpu-a100', holder: 'ml/llama', fence })).resolves.toEqual({
        released: false,
        bytes: 0,
      });
      await expect(ledger.readPool('gpu-a100')).resolves.toMatchObject({
        allocatedBytes: 0,
        availableBytes: 160 * Gi,
      });
    });

    it('is fenced: an allocation re-claimed or resized since it was read is not released', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      const read = { bytes: 48 * Gi, since: now };
      await expect(
        ledger.claim({ pool: 'gpu-a100', holder: 'ml/llama', fence: read, now: now + minute }),
      ).resolves.toMatchObject({ claimed: true, allocation: { since: now + minute, bytes: 48 * Gi } });
      // The scale-down that read the allocation before the warm-up claimed it frees nothing.
      await expect(ledger.release({ pool: 'gpu-a100', holder: 'ml/llama', fence: read })).resolves.toEqual({
        released: false,
        bytes: 0,
      });
      await ledger.resize({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 64 * Gi, now: now + 2 * minute });
      const claimed = { bytes: 48 * Gi, since: now + minute };
      await expect(ledger.release({ pool: 'gpu-a100', holder: 'ml/llama', fence: claimed })).resolves.toEqual(
        { released: false, bytes: 0 },
      );
      const pool = await ledger.readPool('gpu-a100');
      // A resize keeps `since`: it is not a request, so the idle clock does not restart.
      expect(pool.allocations).toEqual([
        { holder: 'ml/llama', bytes: 64 * Gi, since: now + minute, lastActivity: undefined },
      ]);
      expect(pool.allocatedBytes).toBe(64 * Gi);
    });

    it('claims idempotently: a retry after a lost answer claims again, a stale fence does not', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      const read = { bytes: 48 * Gi, since: now };
      const claim = { pool: 'gpu-a100', holder: 'ml/llama', fence: read, now: now + minute };
      await expect(ledger.claim(claim)).resolves.toMatchObject({ claimed: true });
      await expect(ledger.claim(claim)).resolves.toMatchObject({ claimed: true });
      await expect(ledger.claim({ ...claim, now: now + 2 * minute })).resolves.toEqual({ claimed: false });
      await expect(ledger.claim({ ...claim, holder: 'ml/ghost', now: now + 2 * minute })).resolves.toEqual({
        claimed: false,
      });
    });
  });

  describe('activity', () => {
    it('keeps the newest request time; a late, older report changes nothing', async () => {
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      await ledger.recordActivity({ pool: 'gpu-a100', holder: 'ml/llama', at: now + 2 * minute });
      await ledger.recordActivity({ pool: 'gpu-a100', holder: 'ml/llama', at: now + minute });
      const pool = await ledger.readPool('gpu-a100');
      expect(pool.allocations[0]?.lastActivity).toBe(now + 2 * minute);
    });

    it('ignores activity from before the current allocation', async () => {
      await ledger.recordActivity({ pool: 'gpu-a100', holder: 'ml/llama', at: now - minute });
      await ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
      expect((await ledger.readPool('gpu-a100')).allocations[0]?.lastActivity).toBeUndefined();
    });
  });

  describe('bad input is refused before any write', () => {
    it.each([
      ['unknown pool', { pool: 'gpu-none', holder: 'ml/a', bytes: Gi }, 'unknown_pool'],
      ['bad pool name', { pool: 'gpu a100', holder: 'ml/a', bytes: Gi }, 'invalid_input'],
      ['empty holder', { pool: 'gpu-a100', holder: '', bytes: Gi }, 'invalid_input'],
      ['odd unicode holder', { pool: 'gpu-a100', holder: 'ml/ⅼlama', bytes: Gi }, 'invalid_input'],
      ['negative size', { pool: 'gpu-a100', holder: 'ml/a', bytes: -Gi }, 'invalid_input'],
      ['zero size', { pool: 'gpu-a100', holder: 'ml/a', bytes: 0 }, 'invalid_input'],
      ['fractional size', { pool: 'gpu-a100', holder: 'ml/a', bytes: 1.5 }, 'invalid_input'],
      ['huge size', { pool: 'gpu-a100', holder: 'ml/a', bytes: 2 ** 60 }, 'invalid_input'],
    ])('%s', async (_case, request, code) => {
      const before = await ledger.readPool('gpu-a100');
      const error = await ledger.allocate({ ...request, now }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LedgerError);
      expect(error).toMatchObject({ code });
      await expect(ledger.readPool('gpu-a100')).resolves.toEqual(before);
    });

    it.each([
      ['negative total', { ...a100, totalBytes: -1 }],
      ['zero GPU memory per node', { ...a100, bytesPerNode: 0 }],
      ['bad node group', { ...a100, nodeGroup: 'no spaces' }],
      ['bad name', { ...a100, name: '' }],
    ])('pool with %s', async (_case, definition) => {
      await expect(ledger.definePool(definition)).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(ledger.readPool('gpu-a100')).resolves.toMatchObject(a100);
    });

    it('release and activity on an unknown or invalid pool', async () => {
      const fence = { bytes: Gi, since: now };
      await expect(ledger.release({ pool: 'gpu-none', holder: 'ml/a', fence })).resolves.toEqual({
        released: false,
        bytes: 0,
      });
      await expect(ledger.release({ pool: '../x', holder: 'ml/a', fence })).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(ledger.recordActivity({ pool: '../x', holder: 'ml/a', at: now })).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(ledger.recordActivity({ pool: 'gpu-a100', holder: 'ml/a', at: -1 })).rejects.toMatchObject(
        {
          code: 'invalid_input',
        },
      );
    });
  });
});
