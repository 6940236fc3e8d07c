import { synthStack } from './stack-fixture.js';

describe('OperationsDashboard', () => {
  const { template } = synthStack();
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = JSON.stringify(dashboard!.Properties.DashboardBody);

  it('shows the alarms, every pool, the reconcile passes, the APIs, the Lambdas and the ledger', () => {
    for (const text of [
      'Alarms',
      'gpu-a100',
      'default',
      'BudgetUtilizationPercent',
      'ReconcileSucceeded',
      'WarmUpRejections',
      '5XXError',
      'Throttles',
      'ThrottledRequests',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(text);
    }
  });
});
