import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, contextObject, parseConfig } from '../lib/config.js';
import { InferenceBudgetStack } from '../lib/inference-budget-stack.js';

const app = new App();
let config;
try {
  config = parseConfig(contextObject((key) => app.node.tryGetContext(key)));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // A plain message, not a stack trace: this is the operator's configuration, not a bug.
  console.error(`${error.message}\n(set them in cdk.json under "context", or with -c; see docs/deploy.md)`);
  process.exit(1);
}
// Every AwsSolutions finding fails synth unless a construct acknowledged it with a reason (docs/deploy.md).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new InferenceBudgetStack(app, 'InferenceBudgetControlPlane', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  config,
});
