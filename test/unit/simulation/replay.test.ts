// The replay through the real core in the simulated world, on the default day.
import { defaultDay } from '../../../simulation/economics/default-day.js';
import { simulate } from '../../../simulation/economics/replay/simulate.js';

describe('the default day replayed', () => {
  it('the control plane as configured uses at least 60% fewer GPU node-hours than always-on, with no budget violation', async () => {
    const result = await simulate(defaultDay(), undefined, () => undefined);
    const [alwaysOn, controlPlane, fromScaleUp] = result.policies;
    expect(result.policies.map((p) => p.policy)).toEqual([
      'always-on',
      'control-plane',
      'scale-from-zero',
      'eviction-queue',
    ]);
    expect(controlPlane!.nodeHours).toBeLessThanOrEqual(0.4 * alwaysOn!.nodeHours);
    for (const policy of result.policies) expect(policy.budgetViolations).toBe(0);
    // Counting idle from scale-up restarts busy models far more often than counting from the last request.
    expect(fromScaleUp!.coldStarts).toBeGreaterThan(2 * controlPlane!.coldStarts);
    expect(alwaysOn!.coldStarts).toBe(0);
    expect(controlPlane!.requests).toBe(alwaysOn!.requests);
  });
});
