import { NodePoolConfigError, parseNodePools } from '../../../../lambdas/core/nodes/node-pools.js';

const a100 = {
  name: 'gpu-a100',
  nodeGroup: 'gpu-a100-ng',
  gpuMemoryPerNode: '80Gi',
  minNodes: 0,
  maxNodes: 4,
};
const parse = (extra: Record<string, unknown>) => parseNodePools(JSON.stringify([{ ...a100, ...extra }]))[0]!;

describe('NODE_POOLS eviction and queue', () => {
  it('are off unless configured, so existing settings keep their meaning', () => {
    const pool = parse({});
    expect(pool).not.toHaveProperty('eviction');
    expect(pool).not.toHaveProperty('queue');
  });

  it('reads eviction {enabled, minIdle} and queue {default, expireAfter}', () => {
    const pool = parse({
      eviction: { enabled: true, minIdle: '2m' },
      queue: { default: true, expireAfter: '15m' },
    });
    expect(pool.eviction).toEqual({ enabled: true, minIdleMs: 120_000 });
    expect(pool.queue).toEqual({ byDefault: true, expireAfterMs: 900_000 });
  });

  it('fills in minIdle 5m and expireAfter 10m', () => {
    const pool = parse({ eviction: { enabled: true }, queue: {} });
    expect(pool.eviction).toEqual({ enabled: true, minIdleMs: 300_000 });
    expect(pool.queue).toEqual({ byDefault: false, expireAfterMs: 600_000 });
  });

  it.each([
    [{ eviction: true }, 'NODE_POOLS[0].eviction must be an object with enabled, minIdle'],
    [{ eviction: { enabled: 'yes' } }, 'NODE_POOLS[0].eviction.enabled must be true or false, got yes'],
    [{ eviction: { minIdle: 300 } }, 'NODE_POOLS[0].eviction.minIdle must be a duration such as 5m, got 300'],
    [{ eviction: { minIdle: '5 minutes' } }, 'NODE_POOLS[0].eviction.minIdle: "5 minutes" is not a duration'],
    [
      { eviction: { enable: true } },
      'NODE_POOLS[0].eviction.enable is not a field (expected enabled, minIdle)',
    ],
    [{ queue: { expireAfter: '0s' } }, 'NODE_POOLS[0].queue.expireAfter must be more than zero'],
    [{ queue: { default: 1 } }, 'NODE_POOLS[0].queue.default must be true or false, got 1'],
  ])('refuses %j, naming the field', (extra, message) => {
    expect(() => parse(extra)).toThrow(NodePoolConfigError);
    expect(() => parse(extra)).toThrow(message);
  });
});
