import type { InferenceModel } from '../../inference-model.js';
import type { ManagedDeployment, ReconcilePorts } from '../ports.js';
import type { Hold } from '../status.js';
import type { Holding, View } from '../view.js';

export interface ReconcileOptions {
  /** How long an allocation without a model may live before it is released (a warm-up in flight). */
  orphanGraceMs: number;
  /** How long a model may take to become Ready before its budget is released (per model: spec.startDeadline). */
  startDeadlineMs: number;
}

/** What an action knows: the model, what the pass read about it, and the ports to change the world. */
export interface ActionContext {
  ports: ReconcilePorts;
  view: View;
  model: InferenceModel;
  deployment: ManagedDeployment | undefined;
  holding: Holding | undefined;
  memoryBytes: number;
  /** When the model became Ready (clocks.readyAt), if it is. */
  readyAt: number | undefined;
  now: number;
}

/** The Deployment as the action left it (for the status) and why the model waits, if it does. */
export interface ActionOutcome {
  deployment: ManagedDeployment | undefined;
  hold?: Hold;
}
