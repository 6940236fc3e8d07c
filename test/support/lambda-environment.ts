import type { Context } from 'aws-lambda';
import { runtimeConfig, type RuntimeConfig } from '../../lambdas/config.js';
import { harnessEnv } from '../../services/service.js';

/** The Lambda context a handler sees; only what our handlers and Powertools read. */
export function lambdaContext(functionName: string): Context {
  return { functionName, awsRequestId: 'test', getRemainingTimeInMillis: () => 30_000 } as Context;
}

/**
 * The settings a handler factory takes (`createXHandler(() => config)`), on the harness: the ledger table
 * on dynalite, the Kubernetes API limited to one namespace. EventBridge is reached through moto by the
 * SDK's own endpoint variable, which is the one setting left in the environment.
 */
export function harnessConfig(
  ledgerTable: string,
  namespace: string,
  extra: Record<string, string> = {},
): RuntimeConfig {
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = harnessEnv('IBCP_MOTO_ENDPOINT');
  return runtimeConfig({
    LEDGER_TABLE: ledgerTable,
    DYNAMODB_ENDPOINT: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
    KUBECONFIG: harnessEnv('IBCP_KUBECONFIG'),
    WATCH_NAMESPACE: namespace,
    ...extra,
  });
}

/** As `harnessConfig`, for handlers that read the environment themselves (the Lambdas' entry points). */
export function useHarnessForHandlers(
  ledgerTable: string,
  namespace: string,
  extra: Record<string, string> = {},
) {
  Object.assign(process.env, {
    LEDGER_TABLE: ledgerTable,
    DYNAMODB_ENDPOINT: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
    KUBECONFIG: harnessEnv('IBCP_KUBECONFIG'),
    WATCH_NAMESPACE: namespace,
    AWS_ENDPOINT_URL_EVENTBRIDGE: harnessEnv('IBCP_MOTO_ENDPOINT'),
    ...extra,
  });
}
