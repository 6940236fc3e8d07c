import type { NodePoolConfig } from '../../lambdas/core/nodes/node-pools.js';
import type { InferenceModel } from '../../lambdas/core/inference-model.js';

/** One request of the trace: a model asked for at a time (a warm-up or activity call in production). */
export interface TraceRequest {
  readonly atMs: number;
  readonly namespace: string;
  readonly name: string;
}

/** A GPU node pool as `NODE_POOLS` configures it, with what the simulator needs besides: price and boot time. */
export interface SimulatedPool {
  readonly config: NodePoolConfig;
  readonly pricePerNodeHour: number;
  /** From a scale-out request to a Ready node with its GPUs advertised. */
  readonly nodeBootSeconds: number;
}

/** How long a model takes from a pod on a Ready node to serving (docs/simulate.md has the sources). */
export interface StartupModel {
  /** Pulling the serving image onto a node that does not have it yet. */
  readonly imagePullSeconds: number;
  /** Loading weights into GPU memory: the model's `spec.memory` at this rate. */
  readonly weightLoadGiBPerSecond: number;
}

/** Everything one replay needs. The trace is opened again for each replay and streamed, never held. */
export interface Scenario {
  readonly description: string;
  readonly models: readonly InferenceModel[];
  readonly pools: readonly SimulatedPool[];
  readonly startup: StartupModel;
  /** The scheduled pass's interval (the CDK `scheduleMinutes`). */
  readonly reconcileIntervalSeconds: number;
  /** The time the policies are compared over; unset, from the first request's hour to the hour after the last. */
  readonly window?: { readonly startMs: number; readonly endMs: number };
  readonly openTrace: () => AsyncIterable<TraceRequest>;
}

/** A problem with the user's input: the CLI prints the message alone and exits 2. */
export class InputError extends Error {
  override readonly name = 'InputError';
}
