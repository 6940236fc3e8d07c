import { defaultDay } from '../../simulation/economics/default-day.js';
import { PolicyRecorder } from '../../simulation/economics/replay/recorder.js';
import { ALWAYS_ON, CONTROL_PLANE, SCALE_FROM_ZERO } from '../../simulation/economics/replay/policies.js';
import type { SimulationResult } from '../../simulation/economics/result.js';

const HOUR = 3_600_000;

/**
 * A result for the report tests, built through the real recorder from made-up events on the default
 * day's models and pools: three policies and a what-if curve, so every chart of the report has data.
 */
export function sampleResult(): SimulationResult {
  const day = defaultDay();
  const window = day.window!;
  const at = (hours: number) => window.startMs + hours * HOUR;
  const models = day.models.map((m) => `${m.namespace}/${m.name}`);
  const run = (policy: typeof ALWAYS_ON, busyHours: number, coldStarts: number) => {
    const recorder = new PolicyRecorder(policy, day, window);
    day.pools.forEach((pool, i) => {
      recorder.nodes(pool.config.name, 1, at(0));
      recorder.nodes(pool.config.name, 2 + i, at(8));
      recorder.nodes(pool.config.name, 1, at(8 + busyHours));
    });
    models.forEach((model, i) => {
      for (let start = 0; start < coldStarts; start++) {
        const from = at(7 + start * 3 + (i % 3) * 0.5);
        recorder.modelState(model, 'starting', from);
        recorder.modelState(model, 'up', from + 5 * 60_000);
        recorder.modelState(model, 'down', from + HOUR);
      }
      for (let r = 0; r < 10; r++) recorder.request(model);
      recorder.waited(model, 60 + i * 10);
      if (i === 3) recorder.rejected(model);
    });
    return recorder.finish();
  };
  const controlPlane = run(CONTROL_PLANE, 10, 3);
  return {
    scenario: {
      description: 'a sample day',
      windowStartMs: window.startMs,
      windowEndMs: window.endMs,
      models: models.length,
      pools: day.pools.map((p) => ({
        name: p.config.name,
        instanceType: p.config.instanceType,
        pricePerNodeHour: p.pricePerNodeHour,
        gpuMemoryPerNode: `${p.config.bytesPerNode / 2 ** 30}Gi`,
        maxNodes: p.config.maxNodes,
      })),
      requests: models.length * 10,
    },
    policies: [run(ALWAYS_ON, 16, 1), controlPlane, run(SCALE_FROM_ZERO, 10, 4)],
    whatIf: {
      knob: 'gpu-l4.maxNodes',
      points: [
        { value: '2', result: run(CONTROL_PLANE, 6, 4) },
        { value: '4', result: controlPlane },
        { value: '8', result: run(CONTROL_PLANE, 12, 2) },
      ],
    },
    elapsedSeconds: 1.5,
  };
}
