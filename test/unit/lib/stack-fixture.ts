import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../../lib/config.js';
import { InferenceBudgetStack } from '../../../lib/inference-budget-stack.js';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' };
/** The cluster's VPC: the private webhook endpoint (the default) needs it. */
export const CLUSTER_VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
  clusterSecurityGroupId: 'sg-0123456789abcdef0',
};
/** The smallest valid configuration: the stack's tests lay their own settings over it. */
export const BASE_CONTEXT = {
  clusterName: 'gpu-inference',
  vpc: CLUSTER_VPC,
  pools: [
    { name: 'gpu-a100', nodeGroup: 'gpu-a100-nodes', gpuMemoryPerNode: '320Gi', minNodes: 1, maxNodes: 4 },
    { name: 'default', nodeGroup: 'gpu-l4-nodes', gpuMemoryPerNode: '96Gi', minNodes: 0, maxNodes: 6 },
  ],
};
/**
 * Every test app skips CDK's built-in template validation: a WebAssembly rule engine that costs about ten
 * CPU seconds per synth. The real `cdk synth` keeps it, and `test/integration/cdk/synth.test.ts` checks the
 * synthesized templates with cfn-lint.
 */
const UNVALIDATED = { builtinCloudFormationValidation: false } as const;

export const AMP_WORKSPACE_ARN = 'arn:aws:aps:eu-west-1:123456789012:workspace/ws-0123abcd-4567-89ef';

/**
 * One synthesized stack of BASE_CONTEXT with `context` laid over it. `bundle: false` skips esbuild (CDK's
 * `aws:cdk:bundling-stacks` context), so only the test that checks the bundles pays for bundling.
 * `nag` runs cdk-nag's AwsSolutions checks, as `bin/app.ts` does, leaving findings as annotations.
 */
export function synthStack(
  context: Record<string, unknown> = {},
  { bundle = false, nag = false }: { bundle?: boolean; nag?: boolean } = {},
): { stack: InferenceBudgetStack; template: Template } {
  const app = new App({
    ...UNVALIDATED,
    ...(bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } }),
  });
  const stack = new InferenceBudgetStack(app, 'Test', {
    env: TEST_ENV,
    config: parseConfig({ ...BASE_CONTEXT, ...context }),
  });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stack, template: Template.fromStack(stack) };
}

/** One construct on a bare Stack, as aws-cdk-lib tests its constructs: its template holds nothing else. */
export function onBareStack<T>(build: (stack: Stack) => T): {
  construct: T;
  stack: Stack;
  template: Template;
} {
  const stack = new Stack(new App(UNVALIDATED), 'Test', { env: TEST_ENV });
  const construct = build(stack);
  return { construct, stack, template: Template.fromStack(stack) };
}
