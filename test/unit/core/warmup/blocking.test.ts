import { chooseBlockingSet, type BlockingCandidate } from '../../../../lambdas/core/warmup/blocking.js';

const Gi = 2 ** 30;
const minute = 60_000;

/** A candidate: `name` holding `gi`, idle `idle` minutes, a cooldown `idle + left` minutes long. */
function c(name: string, gi: number, idle: number, left: number): BlockingCandidate {
  return { holder: `ml/${name}`, bytes: gi * Gi, idleMs: idle * minute, untilIdleOutMs: left * minute };
}

describe('chooseBlockingSet', () => {
  it.each([
    ['nothing needed', 0, [c('a', 8, 1, 1)], [], 0],
    ['one model frees enough', 16, [c('a', 16, 5, 5), c('b', 16, 9, 1)], ['b'], 1],
    ['room soonest, not idlest', 16, [c('idle', 16, 30, 20), c('soon', 16, 2, 1)], ['soon'], 1],
    [
      'fewest models among the soonest',
      40,
      [c('a', 24, 9, 2), c('b', 16, 8, 2), c('big', 48, 1, 2)],
      ['big'],
      2,
    ],
    [
      'minimal: no member is redundant',
      10,
      [c('x', 8, 6, 0), c('y', 5, 5, 0), c('z', 5, 4, 0)],
      ['x', 'y'],
      0,
    ],
    ['listed idlest first', 30, [c('a', 16, 1, 0), c('b', 16, 9, 0)], ['b', 'a'], 0],
    ['ties broken by name, so answers are stable', 8, [c('b', 8, 3, 0), c('a', 8, 3, 0)], ['a'], 0],
  ])('%s', (_case, neededGi, candidates, names, untilRoomMinutes) => {
    const choice = chooseBlockingSet(neededGi * Gi, candidates);
    expect(choice.blocking.map((b) => b.holder.slice(3))).toEqual(names);
    expect(choice.untilRoomMs).toBe(untilRoomMinutes * minute);
  });

  it('when even all of them cannot make room, all are named and no time is promised', () => {
    const choice = chooseBlockingSet(64 * Gi, [c('a', 16, 1, 1), c('b', 16, 5, 1)]);
    expect(choice.blocking.map((b) => b.holder)).toEqual(['ml/b', 'ml/a']);
    expect(choice.untilRoomMs).toBeUndefined();
  });
});
