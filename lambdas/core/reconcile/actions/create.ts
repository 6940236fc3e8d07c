import { newDeployment } from '../ports.js';
import { allocate, event, fields, reportInsufficient } from '../effects.js';
import type { ActionContext, ActionOutcome } from './context.js';

/** A model with an image and no Deployment: budget first, then the Deployment. */
export async function createDeployment(ctx: ActionContext, replicas: number): Promise<ActionOutcome> {
  const { ports, model, memoryBytes, now } = ctx;
  if (replicas > 0) {
    const result = await allocate(ports, model, memoryBytes, now);
    if (result.outcome === 'insufficient') {
      const hold = await reportInsufficient(
        ports,
        model,
        result,
        'Insufficient memory budget, cannot create deployment',
      );
      return { deployment: undefined, hold };
    }
  }
  await ports.cluster.createDeployment(model, replicas, now);
  ports.log.info('Created deployment for InferenceModel', fields(model));
  await event(
    ports,
    model,
    'Normal',
    'Created',
    `Created Deployment ${model.name} with ${replicas} replica(s)`,
  );
  return { deployment: newDeployment(model, replicas, now) };
}
