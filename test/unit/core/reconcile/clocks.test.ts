import { idleMsOf, untilIdleOutMs } from '../../../../lambdas/core/reconcile/clocks.js';

const at = (hms: string) => Date.parse(`2026-01-05T${hms}Z`);
const allocation = (since: string, lastActivity?: string) => ({
  holder: 'ml/mixtral',
  bytes: 1,
  since: at(since),
  lastActivity: lastActivity === undefined ? undefined : at(lastActivity),
});
const COOLDOWN = 180_000;

describe('the idle clock', () => {
  it.each([
    {
      case: 'counts from the allocation when nothing else happened',
      held: allocation('00:00:00'),
      ready: undefined,
      now: '00:02:00',
      idle: 120_000,
      untilIdleOut: 60_000,
    },
    {
      case: 'counts from the last request when it is later',
      held: allocation('00:00:00', '00:01:30'),
      ready: at('00:01:00'),
      now: '00:02:00',
      idle: 30_000,
      untilIdleOut: 150_000,
    },
    {
      // The status keeps whole seconds and readyAt rounds up: Ready can lie just ahead of now.
      case: 'waits for a Ready time that lies ahead of now',
      held: allocation('00:00:00'),
      ready: at('00:02:00'),
      now: '00:01:59.535',
      idle: 0,
      untilIdleOut: 180_465,
    },
    {
      case: 'is past its cooldown: nothing left to wait',
      held: allocation('00:00:00'),
      ready: at('00:00:10'),
      now: '00:10:00',
      idle: 590_000,
      untilIdleOut: 0,
    },
  ])('$case', ({ held, ready, now, idle, untilIdleOut }) => {
    expect(idleMsOf(held, ready, at(now))).toBe(idle);
    expect(untilIdleOutMs(held, ready, COOLDOWN, at(now))).toBe(untilIdleOut);
  });
});
