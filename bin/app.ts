import { App } from 'aws-cdk-lib';
import { InferenceBudgetStack } from '../lib/inference-budget-stack.js';

const app = new App();
new InferenceBudgetStack(app, 'InferenceBudgetControlPlane', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
