import type { PoolSnapshot } from '../../../../lambdas/core/ledger/ledger.js';
import type { NodeGroupState, PoolNode } from '../../../../lambdas/core/nodes/ports.js';
import { planPool, type PoolPlanInput } from '../../../../lambdas/core/nodes/plan.js';
import { allocation, poolSnapshot } from '../../../support/builders.js';

const Gi = 2 ** 30;
const minute = 60_000;
const now = 1_800_000_000_000;

function pool(...gi: number[]): PoolSnapshot {
  const allocations = gi.map((g, i) => allocation(`ml/m${i}`, g * Gi, now));
  return poolSnapshot({ name: 'gpu', nodeGroup: 'gpu-ng', totalBytes: 320 * Gi }, allocations);
}

function node(name: string, overrides: Partial<PoolNode> = {}): PoolNode {
  return {
    name,
    instanceId: `i-${name}`,
    ready: true,
    budgetedPods: 0,
    emptySince: undefined,
    scaleInStartedAt: undefined,
    ...overrides,
  };
}

function group(
  desiredSize: number,
  nodes: PoolNode[],
  overrides: Partial<NodeGroupState> = {},
): NodeGroupState {
  return { desiredSize, minSize: 0, maxSize: 4, instanceIds: nodes.map((n) => n.instanceId!), ...overrides };
}

function plan(input: Partial<PoolPlanInput> & { nodes: PoolNode[] }) {
  return planPool({
    config: { name: 'gpu', nodeGroup: 'gpu-ng', bytesPerNode: 80 * Gi, minNodes: 0, maxNodes: 4 },
    pool: pool(),
    group: group(input.nodes.length, input.nodes),
    pending: undefined,
    now,
    stabilisationMs: 10 * minute,
    ...input,
  });
}

const busy = (name: string) => node(name, { budgetedPods: 1 });
const emptyFor = (name: string, ms: number) => node(name, { emptySince: now - ms });

describe('planPool: scale-out', () => {
  it.each([
    ['allocations need a node the group does not have', pool(48), [], 0, undefined, { target: 1 }],
    ['two models that do not share a node', pool(48, 48), [busy('a')], 1, undefined, { target: 2 }],
    ['small models share the ready node', pool(16, 16, 16), [busy('a')], 1, undefined, undefined],
    [
      'already requested, still on its way',
      pool(48, 48),
      [busy('a')],
      1,
      { target: 2, requestedAt: now - minute },
      undefined,
    ],
    [
      'requested fewer than now needed',
      pool(48, 48, 48),
      [busy('a')],
      1,
      { target: 2, requestedAt: now - minute },
      { target: 3 },
    ],
    [
      'requested long ago and never came: ask again',
      pool(48, 48),
      [busy('a')],
      1,
      { target: 2, requestedAt: now - 16 * minute },
      { target: 2 },
    ],
    ['more than the maximum: capped', pool(48, 48, 48, 48, 48), [], 0, undefined, { target: 4 }],
  ])('%s', (_case, snapshot, nodes, desired, pending, scaleOut) => {
    expect(plan({ pool: snapshot, nodes, group: group(desired, nodes), pending }).scaleOut).toEqual(scaleOut);
  });

  it('narrows the bounds to the node group: its max caps, its min floors', () => {
    const capped = plan({ pool: pool(48, 48, 48), nodes: [], group: group(0, [], { maxSize: 2 }) });
    expect(capped).toMatchObject({
      bounds: { min: 0, max: 2 },
      neededNodes: 2,
      packedNodes: 3,
      scaleOut: { target: 2 },
    });
    const floored = plan({ pool: pool(), nodes: [], group: group(0, [], { minSize: 1 }) });
    expect(floored).toMatchObject({ bounds: { min: 1, max: 4 }, neededNodes: 1, scaleOut: { target: 1 } });
  });

  it('reports a completed scale-out once its nodes are ready, and one that timed out', () => {
    const nodes = [busy('a'), busy('b')];
    expect(
      plan({ pool: pool(48, 48), nodes, pending: { target: 2, requestedAt: now - 3 * minute } })
        .pendingOutcome,
    ).toBe('completed');
    const late = plan({
      pool: pool(48, 48),
      nodes: [busy('a')],
      group: group(1, [busy('a')]),
      pending: { target: 2, requestedAt: now - 20 * minute },
    });
    expect(late.pendingOutcome).toBe('timed-out');
  });

  it('names a model larger than any node, and counts what is free on the ready nodes', () => {
    const result = plan({ pool: pool(96, 16), nodes: [busy('a')] });
    expect(result.unplaceable).toEqual([
      { holder: 'ml/m0', bytes: 96 * Gi, since: now, lastActivity: undefined },
    ]);
    expect(result.availableOnRunningNodes).toBe(0); // 112Gi allocated, one 80Gi node ready
    expect(plan({ pool: pool(16), nodes: [busy('a'), node('b')] }).availableOnRunningNodes).toBe(144 * Gi);
  });
});

describe('planPool: scale-in', () => {
  const actions = (result: ReturnType<typeof plan>) =>
    Object.fromEntries(result.decisions.map((d) => [d.node, `${d.action}: ${d.reason}`]));

  it('marks a newly empty node, and clears the mark when a model lands on it', () => {
    const result = plan({
      nodes: [node('a'), busy('b'), busy('c')].map((n) =>
        n.name === 'c' ? { ...n, emptySince: now - minute } : n,
      ),
    });
    expect(result.emptyMarks).toEqual([
      { node: 'a', since: now },
      { node: 'c', since: undefined },
    ]);
    expect(actions(result)).toMatchObject({
      a: 'keep: empty; stabilising for 10m0s',
      b: 'keep: runs 1 budgeted pod(s)',
    });
  });

  it('takes out nodes empty past the window, longest empty first, down to what the allocations need', () => {
    const nodes = [
      emptyFor('a', 11 * minute),
      emptyFor('b', 30 * minute),
      emptyFor('c', 20 * minute),
      busy('d'),
    ];
    const result = plan({ pool: pool(48, 48), nodes });
    expect(actions(result)).toEqual({
      a: 'keep: empty for 11m0s, but the allocations need 2 node(s)',
      b: 'scale-in: no budgeted workload for 30m0s',
      c: 'scale-in: no budgeted workload for 20m0s',
      d: 'keep: runs 1 budgeted pod(s)',
    });
  });

  it('never takes out a node within the window, one without an instance, one not ready, or below the minimum', () => {
    const nodes = [
      emptyFor('young', 9 * minute),
      node('no-instance', { instanceId: undefined, emptySince: now - 60 * minute }),
      node('booting', { ready: false }),
      emptyFor('last', 60 * minute),
    ];
    const result = plan({
      nodes,
      group: group(4, nodes, { minSize: 1 }),
      config: { name: 'gpu', nodeGroup: 'gpu-ng', bytesPerNode: 80 * Gi, minNodes: 0, maxNodes: 4 },
    });
    expect(actions(result)).toEqual({
      young: 'keep: empty for 9m0s, within the 10m0s window',
      'no-instance': 'keep: no EC2 instance in spec.providerID, so it cannot be taken out',
      booting: 'keep: not ready yet',
      last: 'scale-in: no budgeted workload for 1h0m0s',
    });
    const alone = [emptyFor('only', 60 * minute)];
    expect(actions(plan({ nodes: alone, group: group(1, alone, { minSize: 1 }) }))).toEqual({
      only: "keep: empty for 1h0m0s, but the node group's minimum is 1",
    });
  });

  it('ignores nodes whose instance has left the group, and finishes a scale-in a past pass started', () => {
    const gone = emptyFor('gone', 60 * minute);
    const started = node('started', { scaleInStartedAt: now - minute, emptySince: now - 15 * minute });
    const result = plan({ nodes: [gone, started, busy('b')], group: group(2, [started, busy('b')]) });
    expect(actions(result)).toEqual({
      started: 'scale-in: no budgeted workload for 15m0s',
      b: 'keep: runs 1 budgeted pod(s)',
    });
    expect(result.readyNodes).toBe(1);
  });

  it('puts a cordoned node back into service when a model runs on it or the allocations need it again', () => {
    const withPod = node('a', { scaleInStartedAt: now - minute, budgetedPods: 1 });
    const needed = node('b', { scaleInStartedAt: now - minute, emptySince: now - 15 * minute });
    const result = plan({ pool: pool(48, 48), nodes: [withPod, needed] });
    expect(result.uncordon.sort()).toEqual(['a', 'b']);
    expect(result.decisions.every((d) => d.action === 'keep')).toBe(true);
  });

  it('takes nothing out while a scale-out is on its way', () => {
    const nodes = [emptyFor('a', 60 * minute)];
    const result = plan({ nodes, group: group(1, nodes), pending: { target: 2, requestedAt: now - minute } });
    expect(actions(result)).toEqual({ a: 'keep: empty for 1h0m0s, but a scale-out is on its way' });
    expect(result.desiredNodes).toBe(2);
  });
});
