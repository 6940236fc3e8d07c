import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ROUTES } from '../lambdas/core/api/routes.js';

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The routes of one model, all under `/v1/models/{namespace}/`: the ones a namespace's callers need. */
const MODEL_ROUTES = ROUTES.filter((route) => route.path.startsWith('/v1/models/{namespace}/'));

/**
 * An IAM statement that lets a caller use the warm-up API for the models of one namespace only
 * (docs/warmup-api.md#per-namespace-access): warm-up and activity (`POST /v1/models/<namespace>/*`) and
 * the model's state, where a 202's `Location` points (`GET /v1/models/<namespace>/*`). Not the lists
 * (`GET /v1/models`, `GET /v1/pools`), which show every namespace. In an execute-api ARN `*` also
 * matches `/`, and the `/` after the namespace keeps `team-a` from matching `team-ab`.
 */
export function namespaceInvokeStatement(api: RestApi, namespace: string, cluster?: string): PolicyStatement {
  if (!NAMESPACE.test(namespace)) throw new Error(`"${namespace}" is not a Kubernetes namespace name`);
  // With a cluster, that cluster's namespace only (`/v1/clusters/<cluster>/models/<namespace>/*`).
  const prefix = cluster === undefined ? '/v1' : `/v1/clusters/${cluster}`;
  const methods = [...new Set(MODEL_ROUTES.map((route) => route.method))].sort();
  return new PolicyStatement({
    effect: Effect.ALLOW,
    actions: ['execute-api:Invoke'],
    resources: methods.map((method) =>
      api.arnForExecuteApi(method, `${prefix}/models/${namespace}/*`, api.deploymentStage.stageName),
    ),
  });
}
