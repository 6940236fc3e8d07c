import type { Context } from 'aws-lambda';
import {
  remediationConfig,
  runtimeConfig,
  type RemediationSettings,
  type RuntimeConfig,
} from '../../lambdas/config.js';
import { harnessEnv } from '../../services/service.js';

/** The Lambda context a handler sees; only what our handlers and Powertools read. */
export function lambdaContext(functionName: string): Context {
  return { functionName, awsRequestId: 'test', getRemainingTimeInMillis: () => 30_000 } as Context;
}

/** The AWS services the handlers' SDK clients reach on moto, by the SDK's own endpoint variables. */
const MOTO_SERVICES = ['EVENTBRIDGE', 'EKS', 'AUTO_SCALING', 'SNS'] as const;

/** The handlers' environment on the harness: the ledger table on dynalite, the Kubernetes API limited to one namespace. */
function harnessVariables(ledgerTable: string, namespace: string): Record<string, string> {
  return {
    LEDGER_TABLE: ledgerTable,
    DYNAMODB_ENDPOINT: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
    KUBECONFIG: harnessEnv('IBCP_KUBECONFIG'),
    WATCH_NAMESPACE: namespace,
  };
}

/**
 * Points the SDK clients the handlers build at moto. These endpoints are the SDK's, not a Lambda's
 * settings (on AWS they are unset), so they are the one thing left in the environment.
 */
function useMotoEndpoints(): void {
  const moto = harnessEnv('IBCP_MOTO_ENDPOINT');
  for (const service of MOTO_SERVICES) process.env[`AWS_ENDPOINT_URL_${service}`] = moto;
}

/**
 * The settings a handler factory takes (`createXHandler(() => config)`), on the harness; `extra` is
 * read as the Lambda's environment would be (e.g. `NODE_POOLS`, or `KUBECONFIG` for a role's identity).
 */
export function harnessConfig(
  ledgerTable: string,
  namespace: string,
  extra: Record<string, string> = {},
): RuntimeConfig {
  useMotoEndpoints();
  return runtimeConfig({ ...harnessVariables(ledgerTable, namespace), ...extra });
}

/** The remediation Lambda's own settings, read from `variables` as from its environment. */
export function harnessRemediationSettings(variables: Record<string, string>): RemediationSettings {
  useMotoEndpoints();
  return remediationConfig(variables);
}

/**
 * As `harnessConfig`, set in the environment itself: only for the one case that proves a Lambda's entry
 * point (`handler`, the default wiring) reads its settings from there.
 */
export function useHarnessEnvironment(
  ledgerTable: string,
  namespace: string,
  extra: Record<string, string> = {},
): void {
  useMotoEndpoints();
  Object.assign(process.env, harnessVariables(ledgerTable, namespace), extra);
}
