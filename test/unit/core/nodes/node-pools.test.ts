import {
  NodePoolConfigError,
  parseNodePools,
  poolDefinition,
} from '../../../../lambdas/core/nodes/node-pools.js';

const Gi = 2 ** 30;
const a100 = {
  name: 'gpu-a100',
  nodeGroup: 'gpu-a100-ng',
  gpuMemoryPerNode: '320Gi',
  minNodes: 0,
  maxNodes: 4,
};
const json = (value: unknown) => JSON.stringify(value);

describe('parseNodePools (NODE_POOLS)', () => {
  it('reads the pools and gives each its budget: maxNodes x GPU memory per node', () => {
    const [pool] = parseNodePools(json([a100]));
    expect(pool).toEqual({
      name: 'gpu-a100',
      nodeGroup: 'gpu-a100-ng',
      bytesPerNode: 320 * Gi,
      minNodes: 0,
      maxNodes: 4,
    });
    expect(poolDefinition(pool!)).toEqual({
      name: 'gpu-a100',
      nodeGroup: 'gpu-a100-ng',
      bytesPerNode: 320 * Gi,
      totalBytes: 1280 * Gi,
    });
  });

  it('reads the optional instance type and price that showback and the simulator cost node-hours with', () => {
    const [pool] = parseNodePools(json([{ ...a100, instanceType: 'p4d.24xlarge', pricePerNodeHour: 21.5 }]));
    expect(pool).toMatchObject({ instanceType: 'p4d.24xlarge', pricePerNodeHour: 21.5 });
  });

  it('accepts an empty list (no node scaling)', () => {
    expect(parseNodePools('[]')).toEqual([]);
  });

  it.each([
    ['not JSON', '[{', /NODE_POOLS is not JSON/],
    ['not an array', json(a100), /NODE_POOLS must be a JSON array/],
    ['an entry that is not an object', json([42]), /NODE_POOLS\[0\] must be an object/],
    [
      'a missing name',
      json([{ ...a100, name: undefined }]),
      /NODE_POOLS\[0\]\.name must be a non-empty string/,
    ],
    [
      'a bad pool name',
      json([{ ...a100, name: 'GPU pool!' }]),
      /NODE_POOLS\[0\]\.name: pool name "GPU pool!" is not valid/,
    ],
    [
      'a bad node group name',
      json([{ ...a100, nodeGroup: 'ng/1' }]),
      /NODE_POOLS\[0\]\.nodeGroup: .*not a valid EKS node group name/,
    ],
    [
      'a memory that is not a quantity',
      json([{ ...a100, gpuMemoryPerNode: '320GB' }]),
      /NODE_POOLS\[0\]\.gpuMemoryPerNode: "320GB" is not a GPU memory quantity/,
    ],
    [
      'a memory of zero',
      json([{ ...a100, gpuMemoryPerNode: '0Gi' }]),
      /NODE_POOLS\[0\]\.gpuMemoryPerNode must be more than 0/,
    ],
    [
      'a fractional node count',
      json([{ ...a100, maxNodes: 1.5 }]),
      /NODE_POOLS\[0\]\.maxNodes must be a whole number from 0 to 1000, got 1.5/,
    ],
    [
      'a node count given as a string',
      json([{ ...a100, minNodes: '1' }]),
      /NODE_POOLS\[0\]\.minNodes must be a whole number/,
    ],
    [
      'a negative node count',
      json([{ ...a100, minNodes: -1 }]),
      /NODE_POOLS\[0\]\.minNodes must be a whole number/,
    ],
    ['no node at all', json([{ ...a100, maxNodes: 0 }]), /NODE_POOLS\[0\]\.maxNodes must be at least 1/],
    [
      'min above max',
      json([{ ...a100, minNodes: 5 }]),
      /NODE_POOLS\[0\]\.minNodes \(5\) is more than maxNodes \(4\)/,
    ],
    [
      'an unknown field (a typo)',
      json([{ ...a100, maxNode: 3 }]),
      /NODE_POOLS\[0\]\.maxNode is not a node pool field/,
    ],
    [
      'a price given as a string',
      json([{ ...a100, pricePerNodeHour: '$32' }]),
      /NODE_POOLS\[0\]\.pricePerNodeHour must be a number of US dollars from 0 to 10000, got \$32/,
    ],
    [
      'a negative price',
      json([{ ...a100, pricePerNodeHour: -1 }]),
      /NODE_POOLS\[0\]\.pricePerNodeHour must be a number/,
    ],
    [
      'an empty instance type',
      json([{ ...a100, instanceType: '' }]),
      /NODE_POOLS\[0\]\.instanceType must be/,
    ],
    [
      'a budget past 2^53 bytes',
      json([{ ...a100, gpuMemoryPerNode: '9999999Ti', maxNodes: 1000 }]),
      /NODE_POOLS\[0\]/,
    ],
    [
      'two pools of one name',
      json([a100, { ...a100, nodeGroup: 'other' }]),
      /NODE_POOLS\[1\]\.name: "gpu-a100" is used by another pool/,
    ],
    [
      'two pools on one node group',
      json([a100, { ...a100, name: 'other' }]),
      /NODE_POOLS\[1\]\.nodeGroup: "gpu-a100-ng" is used by another pool/,
    ],
  ])('refuses %s, naming the field', (_case, text, message) => {
    expect(() => parseNodePools(text)).toThrow(NodePoolConfigError);
    expect(() => parseNodePools(text)).toThrow(message);
  });
});
