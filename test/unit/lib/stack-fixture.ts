import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../../lib/config.js';
import { InferenceBudgetStack } from '../../../lib/inference-budget-stack.js';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' };
export const AMP_WORKSPACE_ARN = 'arn:aws:aps:eu-west-1:123456789012:workspace/ws-0123abcd-4567-89ef';

/**
 * One synthesized stack. `bundle: false` skips esbuild (CDK's `aws:cdk:bundling-stacks` context), so
 * only the test that checks the bundles pays the seconds bundling four functions takes.
 */
export function synthStack(
  context: Record<string, unknown> = { clusterName: 'gpu-inference' },
  { bundle = false }: { bundle?: boolean } = {},
): { stack: InferenceBudgetStack; template: Template } {
  const app = new App(bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new InferenceBudgetStack(app, 'Test', { env: TEST_ENV, config: parseConfig(context) });
  return { stack, template: Template.fromStack(stack) };
}
