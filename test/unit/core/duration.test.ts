import { DurationError, formatDuration, parseDuration } from '../../../lambdas/core/duration.js';

describe('parseDuration', () => {
  it.each([
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['1h0m0s', 3_600_000],
    ['5m30s', 330_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', '10x', '-5m', '1.5h', 'm', '30s10m', '9999h'])('rejects %j', (text) =>
    expect(() => parseDuration(text)).toThrow(DurationError),
  );
});

describe('formatDuration', () => {
  it.each([
    [330_000, '5m30s'],
    [45_900, '45s'],
    [5_400_000, '1h30m0s'],
    [0, '0s'],
    [-10, '0s'],
  ])('%d ms prints as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
