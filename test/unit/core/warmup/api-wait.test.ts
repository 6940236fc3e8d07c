import { MAX_WAIT_SECONDS } from '../../../../lambdas/core/api/routes.js';
import { WARM_UP_TIMEOUT_SECONDS } from '../../../../lib/control-plane-functions.js';
import { ANSWER_RESERVE_MS, boundedWaitSeconds } from '../../../../lambdas/core/warmup/api.js';

describe('warm-up ?wait', () => {
  it('is cut to the time the invocation has left, keeping the reserve for the answer', () => {
    expect(boundedWaitSeconds(25, 28_000)).toBe(25);
    expect(boundedWaitSeconds(25, 10_500)).toBe(7);
    expect(boundedWaitSeconds(25, 2_000)).toBe(0);
    expect(boundedWaitSeconds(5, 28_000)).toBe(5);
  });

  it('fits the longest wait and its reserve into the Lambda timeout, which is below API Gateway’s 29 s', () => {
    expect(WARM_UP_TIMEOUT_SECONDS).toBeLessThan(29);
    expect(boundedWaitSeconds(MAX_WAIT_SECONDS, WARM_UP_TIMEOUT_SECONDS * 1000)).toBe(MAX_WAIT_SECONDS);
    expect(MAX_WAIT_SECONDS * 1000 + ANSWER_RESERVE_MS).toBeLessThanOrEqual(WARM_UP_TIMEOUT_SECONDS * 1000);
  });
});
