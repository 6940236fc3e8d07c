// Small traces whose answers are worked out by hand, replayed through the real core in the world.
import { admitModels } from '../../../simulation/economics/inputs/models.js';
import { parsePools } from '../../../simulation/economics/inputs/pools.js';
import { simulate } from '../../../simulation/economics/replay/simulate.js';
import type { Scenario, TraceRequest } from '../../../simulation/economics/scenario.js';

const START = Date.UTC(2026, 11, 1);
const MINUTE = 60_000;

/** One 16Gi model on 24Gi L4 nodes (at most 1, booting in 5 minutes), a request every 20 minutes for 4 hours. */
export function everyTwentyMinutesForDebug(): Scenario {
  return everyTwentyMinutes();
}
function everyTwentyMinutes(): Scenario {
  const pools = parsePools(
    [
      {
        name: 'gpu-l4',
        nodeGroup: 'l4',
        gpuMemoryPerNode: '24Gi',
        minNodes: 0,
        maxNodes: 1,
        pricePerNodeHour: 1,
        nodeBootSeconds: 300,
      },
    ],
    'test',
    300,
  );
  const { models } = admitModels(
    [
      {
        file: 'test',
        object: {
          apiVersion: 'inference.eh-ops.io/v1alpha1',
          kind: 'InferenceModel',
          metadata: { name: 'phi-3', namespace: 'team' },
          spec: {
            modelName: 'microsoft/phi-3',
            memory: '16Gi',
            backendUrl: 'http://phi-3.team.svc:8000',
            nodeSelector: { 'inference-pool': 'gpu-l4' },
            cooldownPeriod: '10m',
            containerImage: 'vllm/vllm-openai:v0.6.0',
          },
        },
      },
    ],
    pools,
  );
  return {
    description: 'a request every 20 minutes',
    models,
    pools,
    startup: { imagePullSeconds: 60, weightLoadGiBPerSecond: 1 },
    reconcileIntervalSeconds: 60,
    window: { startMs: START, endMs: START + 240 * MINUTE },
    openTrace: async function* (): AsyncGenerator<TraceRequest> {
      for (let i = 0; i < 12; i++) yield { atMs: START + i * 20 * MINUTE, namespace: 'team', name: 'phi-3' };
    },
  };
}

describe('one model, a request every 20 minutes, a 10-minute cooldown', () => {
  it('starts cold on every request and keeps its one node all along', async () => {
    const { policies } = await simulate(everyTwentyMinutes(), undefined, () => undefined);
    const [alwaysOn, controlPlane] = policies;
    // Always-on: one node for the 4 hours, nothing starts.
    expect(alwaysOn).toMatchObject({ nodeHours: 4, coldStarts: 0, waited: 0, cost: 4 });
    // The control plane: the first request boots the node (5 min). Each call in the world takes a
    // millisecond, so the node is asked for a few milliseconds after 00:00 and is ready a few after
    // 00:05, while the 00:05 pass still runs (it lists each pool's admission queue too): the pod is
    // placed then, pulls (60 s) and loads 16Gi at 1 GiB/s (16 s): ready at 00:06:16, a wait of 376 s. The core's idle clock starts when a pass sees it Ready
    // (00:07); 10 minutes later the pass after the cooldown scales it down (00:18), before the next request at 00:20, which starts
    // it again on the node (still there: a node leaves only after 10 empty minutes): 76 s (and the
    // warm-up's calls). So 12 cold starts, 12 waits (one of 376 s, eleven of 76 s), and the node runs
    // from 00:00 to the end: 4 node-hours.
    expect(controlPlane).toMatchObject({ coldStarts: 12, waited: 12, rejected: 0, budgetViolations: 0 });
    expect(controlPlane!.nodeHours).toBeCloseTo(4, 4);
    expect(controlPlane!.wait!.p50).toBeCloseTo(76, 1);
    expect(controlPlane!.wait!.max).toBeCloseTo(376, 1);
    expect(controlPlane!.wait!.p95).toBe(controlPlane!.wait!.max);
    // Held: 00:00 to 00:18, then 13 minutes per cycle (xx:20, Ready seen at xx:22, down at xx:33), 11 times.
    expect(controlPlane!.models[0]!.heldHours).toBeCloseTo((18 + 11 * 13) / 60, 3);
  });
});
