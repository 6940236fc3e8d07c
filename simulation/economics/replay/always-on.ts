import { poolDefinition } from '../../../lambdas/core/nodes/node-pools.js';
import { packOntoNodes } from '../../../lambdas/core/nodes/packing.js';
import { parseQuantity } from '../../../lambdas/core/quantity.js';
import { holderOf, poolOf } from '../../../lambdas/core/inference-model.js';
import type { PolicyResult } from '../result.js';
import type { Scenario, TraceRequest } from '../scenario.js';
import { ALWAYS_ON } from './policies.js';
import { PolicyRecorder } from './recorder.js';

/** What the replay asks of each policy: every request in time order, then its figures. */
export interface PolicyDriver {
  /**
   * A request to the model `holder` (its namespace/name, made once for every policy). A promise only
   * when the policy had to run something for it: most requests are served at once, and a million
   * promises a policy cost more than the policy itself.
   */
  request(request: TraceRequest, holder: string): Promise<void> | undefined;
  finish(): Promise<PolicyResult>;
}

/**
 * Always-on: every model up for the whole window, on the nodes the control plane's own packing needs
 * for all of them (within each pool's maxNodes). A model left off those nodes, or past the pool's
 * budget, cannot run: its requests are 429s. Nothing starts, so nothing waits.
 */
export function alwaysOn(scenario: Scenario, window: { startMs: number; endMs: number }): PolicyDriver {
  const recorder = new PolicyRecorder(ALWAYS_ON, scenario, window);
  const running = new Set<string>();
  for (const pool of scenario.pools) {
    const { name, maxNodes, bytesPerNode } = pool.config;
    const items = scenario.models
      .filter((m) => poolOf(m) === name)
      .flatMap((m) =>
        Array.from({ length: Math.max(1, m.spec.maxReplicas) }, (_, replica) => ({
          holder: `${holderOf(m)}#${replica}`,
          bytes: parseQuantity(m.spec.memory),
        })),
      );
    const nodes = packOntoNodes(items, bytesPerNode).nodes.slice(0, maxNodes);
    let held = 0;
    const budget = poolDefinition(pool.config).totalBytes;
    for (const node of nodes) {
      for (const holder of node.holders) {
        const model = holder.slice(0, holder.lastIndexOf('#'));
        const bytes = items.find((item) => item.holder === holder)!.bytes;
        if (held + bytes > budget) continue;
        held += bytes;
        running.add(model);
      }
    }
    recorder.nodes(name, nodes.length, window.startMs);
  }
  for (const model of running) recorder.modelState(model, 'up', window.startMs - 1);
  return {
    request(_request, holder) {
      recorder.request(holder);
      if (!running.has(holder)) recorder.rejected(holder);
      return undefined;
    },
    async finish() {
      return recorder.finish();
    },
  };
}
