import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { runtimeConfig, type RuntimeConfig } from '../config.js';
import { runScheduledPass, type ScheduledPassReport } from '../core/reconcile/scheduled-pass.js';
import { logger } from './logger.js';
import { scheduledPassWiring, type ScheduledPassWiring } from './composition-root/scheduled-pass.js';

/**
 * The scheduled pass over every model (EventBridge, every minute; reserved concurrency 1 so passes never
 * overlap); the pass's steps, their order and their failure isolation are core/reconcile/scheduled-pass.
 * `config` is read and wired at the first invocation.
 */
export function createScheduledReconcileHandler(config: () => RuntimeConfig) {
  let wiring: ScheduledPassWiring | undefined;
  return middy(async (): Promise<ScheduledPassReport> => {
    wiring ??= scheduledPassWiring(config());
    return runScheduledPass(await wiring.ports(), wiring.settings);
  }).use(injectLambdaContext(logger));
}

/** The Lambda's entry point: settings from the environment. */
export const handler = createScheduledReconcileHandler(() => runtimeConfig());
