import type { PoolSnapshot } from '../../../../lambdas/core/ledger/ledger.js';
import {
  checkInvariants,
  classifyAllocation,
  findBlocking,
  validateHolder,
  validatePoolName,
} from '../../../../lambdas/core/ledger/rules.js';
import { allocation, poolSnapshot } from '../../../support/builders.js';

const Gi = 2 ** 30;
const minute = 60_000;
const now = 1_700_000_000_000;

function pool(totalGi: number, allocations: { holder: string; gi: number; idleMin: number }[]): PoolSnapshot {
  return poolSnapshot(
    { name: 'gpu-a100', totalBytes: totalGi * Gi },
    allocations.map((a) => allocation(a.holder, a.gi * Gi, now - 60 * minute, now - a.idleMin * minute)),
  );
}

describe('classifyAllocation', () => {
  const p = pool(80, [{ holder: 'ml/llama', gi: 48, idleMin: 1 }]);
  it.each([
    ['fits', 'ml/codellama', 32],
    ['insufficient', 'ml/codellama', 33],
    ['already-held', 'ml/llama', 48],
    ['size-mismatch', 'ml/llama', 40],
  ])('%s: %s asking %dGi', (expected, holder, gi) =>
    expect(classifyAllocation(p, holder, gi * Gi)).toBe(expected),
  );
});

describe('findBlocking', () => {
  it('names the idlest holders until their release makes room, with idle times and retry-after', () => {
    const p = pool(160, [
      { holder: 'ml/busy', gi: 48, idleMin: 1 },
      { holder: 'ml/idle', gi: 48, idleMin: 8 },
      { holder: 'ml/idler', gi: 32, idleMin: 9 },
      { holder: 'ml/mid', gi: 16, idleMin: 3 },
    ]);
    // 16Gi free, 80Gi wanted: 64Gi must go; idlest first: idler (32) then idle (48).
    const report = findBlocking(p, 80 * Gi, now, {
      defaultMs: 10 * minute,
      byHolder: { 'ml/idle': 5 * minute },
    });
    expect(report.blocking).toEqual([
      { holder: 'ml/idler', bytes: 32 * Gi, idleMs: 9 * minute },
      { holder: 'ml/idle', bytes: 48 * Gi, idleMs: 8 * minute },
    ]);
    // idle has a 5m cooldown and is already past it.
    expect(report.retryAfterSeconds).toBe(0);
  });

  it('retry-after is the time until the soonest blocker reaches its cooldown', () => {
    const p = pool(80, [{ holder: 'ml/a', gi: 80, idleMin: 4.5 }]);
    expect(findBlocking(p, 10 * Gi, now, { defaultMs: 10 * minute }).retryAfterSeconds).toBe(330);
  });

  it('idle time counts from the allocation when no request came since', () => {
    const p = pool(80, [{ holder: 'ml/a', gi: 80, idleMin: 0 }]);
    const fresh = {
      ...p,
      allocations: [{ ...p.allocations[0]!, since: now - minute, lastActivity: undefined }],
    };
    expect(findBlocking(fresh, Gi, now).blocking[0]?.idleMs).toBe(minute);
  });

  it('never names a workload replica: no cooldown releases it', () => {
    const p = pool(160, [
      { holder: 'lab/moe-inference#0', gi: 80, idleMin: 60 },
      { holder: 'ml/a', gi: 40, idleMin: 2 },
      { holder: 'ml/b', gi: 24, idleMin: 1 },
    ]);
    // 16Gi free, 48Gi wanted: ml/a makes room; the replica, idlest by far, is passed over.
    expect(findBlocking(p, 48 * Gi, now, { defaultMs: 10 * minute })).toEqual({
      blocking: [{ holder: 'ml/a', bytes: 40 * Gi, idleMs: 2 * minute }],
      retryAfterSeconds: 480,
    });
    // 100Gi wanted: even both models would free only 80Gi, so no retry time is promised.
    expect(findBlocking(p, 100 * Gi, now, { defaultMs: 10 * minute })).toEqual({
      blocking: [
        { holder: 'ml/a', bytes: 40 * Gi, idleMs: 2 * minute },
        { holder: 'ml/b', bytes: 24 * Gi, idleMs: minute },
      ],
      retryAfterSeconds: undefined,
    });
  });

  it('nothing blocks a request that fits or one larger than the whole pool', () => {
    const p = pool(80, [{ holder: 'ml/a', gi: 40, idleMin: 1 }]);
    expect(findBlocking(p, 40 * Gi, now).blocking).toEqual([]);
    expect(findBlocking(p, 81 * Gi, now)).toEqual({ blocking: [], retryAfterSeconds: undefined });
  });
});

describe('names', () => {
  it.each(['ml/llama-2-7b', 'default/a', 'ml/moe-inference#2', 'a-b/c.d'])('accepts holder %s', (h) =>
    expect(() => validateHolder(h)).not.toThrow(),
  );
  it.each([
    '',
    'llama',
    '/x',
    'ml/',
    'ML/x',
    'ml/x#',
    'ml/x#01',
    'ml/x/y',
    'ml/ｌlama',
    'ml/x\u0000',
    'a'.repeat(64) + '/x',
  ])('rejects holder %j', (h) => expect(() => validateHolder(h)).toThrow(/not valid/));
  it.each(['', '-a', 'a'.repeat(64), 'pool one', 'pöol'])('rejects pool name %j', (p) =>
    expect(() => validatePoolName(p)).toThrow(/not valid/),
  );
});

describe('checkInvariants', () => {
  it('flags counters that disagree with the allocations', () => {
    const p = pool(80, [{ holder: 'ml/a', gi: 40, idleMin: 1 }]);
    expect(checkInvariants(p)).toEqual([]);
    expect(checkInvariants({ ...p, allocatedBytes: 0 })).toHaveLength(2);
  });
});
