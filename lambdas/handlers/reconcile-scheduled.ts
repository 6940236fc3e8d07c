import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { reconcileAll, type PassReport } from '../core/reconcile/reconciler.js';
import { logger, Runtime, runtimeConfig } from './runtime.js';

let runtime: Runtime | undefined;

/**
 * The scheduled pass over every model (EventBridge, every minute; reserved concurrency 1 so passes never
 * overlap). A model that fails is logged and retried next pass; the pass itself does not fail for it.
 */
export const handler = middy(async (): Promise<PassReport> => {
  runtime ??= new Runtime(runtimeConfig());
  const started = Date.now();
  const report = await reconcileAll(await runtime.ports(), runtime.config.reconcile);
  logger.info('Reconcile pass finished', {
    models: report.models,
    errors: report.errors.length,
    orphansReleased: report.orphansReleased.length,
    durationMs: Date.now() - started,
  });
  return report;
}).use(injectLambdaContext(logger));
