import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { OperationsDashboard } from '../../../lib/operations-dashboard.js';
import { aFunction, onBareStack, warmUpApiOn } from './stack-fixture.js';

describe('OperationsDashboard', () => {
  const { template } = onBareStack((stack) => {
    const fn = aFunction(stack, 'Function');
    return new OperationsDashboard(stack, 'Operations', {
      clusters: [
        {
          cluster: 'gpu-inference',
          subject: undefined,
          pools: ['gpu-a100', 'default'],
          functions: [fn],
          reconcileFailures: new Queue(stack, 'ReconcileFailures'),
        },
      ],
      apis: [warmUpApiOn(stack, fn).api],
      ledgerTable: Table.fromTableName(stack, 'Ledger', 'ledger'),
      alarms: [new Alarm(stack, 'Errors', { metric: fn.metricErrors(), threshold: 1, evaluationPeriods: 1 })],
    });
  });
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
