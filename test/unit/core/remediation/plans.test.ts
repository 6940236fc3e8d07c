import fc from 'fast-check';
import {
  checkpointToRestartFrom,
  planCapacityFactor,
  planGpuMemoryRelief,
  planLoadBalanceCoef,
} from '../../../../lambdas/core/remediation/plans.js';

describe('planGpuMemoryRelief', () => {
  it.each([
    [
      { batch_size: '32', gradient_accumulation_steps: '4', gradient_checkpointing: 'false' },
      1,
      { batch_size: '16', gradient_accumulation_steps: '8', gradient_checkpointing: 'true' },
    ],
    [
      { batch_size: '32' },
      1,
      { batch_size: '16', gradient_accumulation_steps: '2', gradient_checkpointing: 'true' },
    ],
    [
      { batch_size: '12', gradient_accumulation_steps: '2', gradient_checkpointing: 'true' },
      8,
      { batch_size: '8', gradient_accumulation_steps: '3' },
    ],
    [
      { batch_size: '5', gradient_accumulation_steps: '1', gradient_checkpointing: 'true' },
      1,
      { batch_size: '2', gradient_accumulation_steps: '3' },
    ],
    [{ batch_size: '8', gradient_checkpointing: 'false' }, 8, { gradient_checkpointing: 'true' }],
  ])('%j with floor %i changes %j', (data, floor, after) => {
    const plan = planGpuMemoryRelief(data, floor);
    expect(plan.problem).toBeUndefined();
    expect(Object.fromEntries(plan.changes.map((c) => [c.key, c.after]))).toEqual(after);
  });

  it.each([
    [
      { batch_size: '8', gradient_checkpointing: 'true' },
      8,
      'batch_size is already at its floor (8) and gradient_checkpointing is on',
    ],
    [{}, 1, 'batch_size is missing, not a whole number'],
    [{ batch_size: 'sixteen' }, 1, 'batch_size is "sixteen", not a whole number'],
    [
      { batch_size: '16', gradient_accumulation_steps: '-1' },
      1,
      'gradient_accumulation_steps is "-1", not a whole number',
    ],
  ])('%j with floor %i changes nothing: %s', (data, floor, problem) => {
    expect(planGpuMemoryRelief(data, floor)).toEqual({
      changes: [],
      problem: expect.stringContaining(problem),
    });
  });

  it('never lowers the effective batch, nor the batch below its floor', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4096 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        (batch, steps, floor) => {
          const plan = planGpuMemoryRelief(
            { batch_size: String(batch), gradient_accumulation_steps: String(steps) },
            floor,
          );
          const after = Object.fromEntries(plan.changes.map((c) => [c.key, Number(c.after)]));
          const newBatch = after.batch_size ?? batch;
          const newSteps = after.gradient_accumulation_steps ?? steps;
          expect(newBatch).toBeLessThanOrEqual(batch);
          expect(newBatch >= floor || newBatch === batch).toBe(true);
          expect(newBatch * newSteps).toBeGreaterThanOrEqual(batch * steps);
        },
      ),
    );
  });
});

describe('ExpertLoadImbalance plans', () => {
  it.each([
    [{ load_balance_loss_coef: '0.01' }, 0.1, '0.02'],
    [{}, 0.1, '0.02'],
    [{ load_balance_loss_coef: '0.04' }, 0.05, '0.05'],
    [{ load_balance_loss_coef: '0.05' }, 0.05, undefined],
  ])('load_balance_loss_coef of %j with cap %d becomes %s', (data, cap, after) => {
    expect(planLoadBalanceCoef(data, cap).changes[0]?.after).toBe(after);
  });

  it.each([
    [{ expert_capacity_factor: '1.25' }, '1.5'],
    [{}, '1.5'],
    [{ expert_capacity_factor: '2' }, undefined],
  ])('expert_capacity_factor of %j becomes %s (never lowered)', (data, after) => {
    expect(planCapacityFactor(data).changes[0]?.after).toBe(after);
  });

  it('refuses values that are not numbers', () => {
    expect(planLoadBalanceCoef({ load_balance_loss_coef: 'high' }, 0.1).problem).toBe(
      'load_balance_loss_coef is "high", not a positive number',
    );
    expect(planCapacityFactor({ expert_capacity_factor: '' }).problem).toBe(
      'expert_capacity_factor is "", not a number',
    );
  });
});

describe('checkpointToRestartFrom', () => {
  it.each([
    ['/storage/checkpoints/step-1200', '/storage/checkpoints', '/storage/checkpoints/step-1200', undefined],
    ['/storage/checkpoints/step-1200', '/storage/checkpoints/', '/storage/checkpoints/step-1200', undefined],
    [undefined, '/storage/checkpoints', undefined, 'the trainer has reported no checkpoint'],
    [
      '/storage/checkpoints/../secrets',
      '/storage/checkpoints',
      undefined,
      'is not /storage/checkpoints/step-<N>',
    ],
    ['/tmp/step-1', '/storage/checkpoints', undefined, 'is not /storage/checkpoints/step-<N>'],
    [
      '/storage/checkpointsX/step-1',
      '/storage/checkpoints',
      undefined,
      'is not /storage/checkpoints/step-<N>',
    ],
  ])('%s in %s -> %s', (reported, location, path, problem) => {
    const result = checkpointToRestartFrom(reported, location);
    expect(result.path).toBe(path);
    if (problem) expect(result.problem).toContain(problem);
  });
});
