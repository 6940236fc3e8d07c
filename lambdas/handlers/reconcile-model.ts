import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import type { RECONCILE_DETAIL_TYPE } from '../adapters/eventbridge-reconcile-requests.js';
import { runtimeConfig, type RuntimeConfig } from '../config.js';
import { modelRef, reconcileOnRequest } from '../core/reconcile/on-request.js';
import { logger } from './logger.js';
import { ClusterAccess } from './composition-root/cluster-access.js';
import { ledgerTable } from './composition-root/ledger-table.js';
import { nodeScaling } from './composition-root/node-scaling.js';

export type ReconcileEvent = EventBridgeEvent<typeof RECONCILE_DETAIL_TYPE, unknown>;

/** The adapters, built once per execution environment. */
function wire(config: RuntimeConfig) {
  const table = ledgerTable(config);
  const access = new ClusterAccess(config);
  return { config, table, access, nodeScaling: nodeScaling(config, table, access) };
}

/**
 * Reconciles one model as soon as the admission webhook or the warm-up API announces a change, instead
 * of waiting for the next scheduled pass (core/reconcile/on-request). A malformed event is logged and
 * dropped: retrying it cannot help. `config` is read and wired at the first valid event.
 */
export function createReconcileModelHandler(config: () => RuntimeConfig) {
  let wiring: ReturnType<typeof wire> | undefined;
  return middy(async (event: ReconcileEvent): Promise<{ reconciled: string } | { rejected: string }> => {
    const ref = modelRef(event?.detail);
    if ('rejected' in ref) {
      logger.error('Rejected reconcile event', { reason: ref.rejected });
      return ref;
    }
    wiring ??= wire(config());
    const ports = await wiring.access.reconcilePorts(wiring.table);
    await reconcileOnRequest(ports, wiring.nodeScaling, ref, wiring.config.reconcile);
    return { reconciled: `${ref.namespace}/${ref.name}` };
  }).use(injectLambdaContext(logger));
}

/** The Lambda's entry point: settings from the environment. */
export const handler = createReconcileModelHandler(() => runtimeConfig());
