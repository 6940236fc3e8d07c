import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localPools } from '../../../local/pools.js';

const Gi = 2 ** 30;

describe('localPools (LOCAL_POOLS)', () => {
  it('defaults to the two pools examples/ uses: 2 A100 nodes and 1 L4 node of 4 GPUs each', () => {
    expect(localPools({})).toEqual([
      {
        name: 'gpu-a100',
        nodeGroup: 'gpu-a100',
        bytesPerNode: 320 * Gi,
        minNodes: 2,
        maxNodes: 2,
        gpusPerNode: 4,
        gpuProduct: 'NVIDIA-A100-SXM4-80GB',
      },
      {
        name: 'default',
        nodeGroup: 'default',
        bytesPerNode: 96 * Gi,
        minNodes: 1,
        maxNodes: 1,
        gpusPerNode: 4,
        gpuProduct: 'NVIDIA-L4',
      },
    ]);
  });

  it("takes cdk.json's `pools` list as it is: one GPU per node unless gpusPerNode says otherwise", () => {
    const pools = [
      { name: 'gpu-a100', nodeGroup: 'gpu-a100-nodes', gpuMemoryPerNode: '320Gi', minNodes: 1, maxNodes: 4 },
      {
        name: 'default',
        nodeGroup: 'gpu-l4-nodes',
        gpuMemoryPerNode: '96Gi',
        minNodes: 0,
        maxNodes: 6,
        instanceType: 'g6.12xlarge',
        gpusPerNode: 4,
        gpuProduct: 'NVIDIA-L4',
      },
    ];
    expect(localPools({ LOCAL_POOLS: JSON.stringify(pools) })).toEqual([
      {
        name: 'gpu-a100',
        nodeGroup: 'gpu-a100-nodes',
        bytesPerNode: 320 * Gi,
        minNodes: 1,
        maxNodes: 4,
        gpusPerNode: 1,
        gpuProduct: 'NVIDIA-GPU',
      },
      {
        name: 'default',
        nodeGroup: 'gpu-l4-nodes',
        bytesPerNode: 96 * Gi,
        minNodes: 0,
        maxNodes: 6,
        instanceType: 'g6.12xlarge',
        gpusPerNode: 4,
        gpuProduct: 'NVIDIA-L4',
      },
    ]);
  });

  it('reads a file when LOCAL_POOLS is a path, relative to the working folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-pools-'));
    const pool = { name: 'h100', nodeGroup: 'h100', gpuMemoryPerNode: '640Gi', minNodes: 0, maxNodes: 1 };
    writeFileSync(join(dir, 'pools.json'), JSON.stringify([{ ...pool, gpusPerNode: 8 }]));
    expect(localPools({ LOCAL_POOLS: 'pools.json' }, dir)).toEqual([
      {
        name: 'h100',
        nodeGroup: 'h100',
        bytesPerNode: 640 * Gi,
        minNodes: 0,
        maxNodes: 1,
        gpusPerNode: 8,
        gpuProduct: 'NVIDIA-GPU',
      },
    ]);
  });

  const pool = { name: 'p', nodeGroup: 'p-nodes', gpuMemoryPerNode: '80Gi', minNodes: 0, maxNodes: 1 };
  it.each([
    ['[', 'LOCAL_POOLS is not JSON'],
    ['[]', 'LOCAL_POOLS must be a non-empty JSON array of node pools'],
    ['{"name": "p"}', 'LOCAL_POOLS must be a non-empty JSON array of node pools'],
    [JSON.stringify([{ ...pool, gpuMemoryPerNode: 'lots' }]), 'LOCAL_POOLS[0].gpuMemoryPerNode'],
    [JSON.stringify([{ ...pool, maxNodes: 0 }]), 'LOCAL_POOLS[0].maxNodes must be at least 1'],
    [JSON.stringify([{ ...pool, nodes: 2 }]), 'LOCAL_POOLS[0].nodes is not a node pool field'],
    [JSON.stringify([pool, pool]), 'LOCAL_POOLS[1].name: "p" is used by another pool'],
    [
      JSON.stringify([{ ...pool, gpusPerNode: 0 }]),
      'LOCAL_POOLS[0].gpusPerNode must be a whole number from 1 to 16, got 0',
    ],
    [
      JSON.stringify([{ ...pool, gpuProduct: 'A100 80GB' }]),
      'LOCAL_POOLS[0].gpuProduct must be a Kubernetes label value',
    ],
    [
      JSON.stringify([{ ...pool, gpusPerNode: 3 }]),
      'LOCAL_POOLS[0].gpuMemoryPerNode must split into 3 GPUs of whole MiB',
    ],
    [
      'no-such-pools.json',
      'LOCAL_POOLS must be a JSON array of node pools or the path of a file holding one; cannot read /nowhere/no-such-pools.json: ENOENT',
    ],
  ])('refuses %s with a message naming the setting and the field', (value, message) => {
    expect(() => localPools({ LOCAL_POOLS: value }, '/nowhere')).toThrow(message);
  });
});
