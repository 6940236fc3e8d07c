import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import type { RECONCILE_DETAIL_TYPE } from '../adapters/eventbridge-reconcile-requests.js';
import { LedgerError } from '../core/ledger/model.js';
import { validateHolder } from '../core/ledger/rules.js';
import { reconcileOne } from '../core/reconcile/reconciler.js';
import { logger, Runtime, runtimeConfig } from './runtime.js';

export type ReconcileEvent = EventBridgeEvent<typeof RECONCILE_DETAIL_TYPE, unknown>;

let runtime: Runtime | undefined;

/**
 * Reconciles one model as soon as the admission webhook or the warm-up API announces a change, instead
 * of waiting for the next scheduled pass. A malformed event is logged and dropped: retrying it cannot help.
 */
export const handler = middy(
  async (event: ReconcileEvent): Promise<{ reconciled: string } | { rejected: string }> => {
    const ref = modelRef(event?.detail);
    if ('rejected' in ref) {
      logger.error('Rejected reconcile event', { reason: ref.rejected });
      return ref;
    }
    runtime ??= new Runtime(runtimeConfig());
    await reconcileOne(await runtime.ports(), ref);
    return { reconciled: `${ref.namespace}/${ref.name}` };
  },
).use(injectLambdaContext(logger));

/** `{namespace, name}` of an InferenceModel, checked as Kubernetes names. */
export function modelRef(detail: unknown): { namespace: string; name: string } | { rejected: string } {
  const { namespace, name } = (detail ?? {}) as Record<string, unknown>;
  if (typeof namespace !== 'string' || typeof name !== 'string') {
    return { rejected: 'detail must be {"namespace": string, "name": string}' };
  }
  try {
    validateHolder(`${namespace}/${name}`);
  } catch (error) {
    if (error instanceof LedgerError) return { rejected: error.message.replace('holder', 'model') };
    throw error;
  }
  return { namespace, name };
}
