import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type HorizontalAnnotation,
  Metric,
  TextWidget,
  type IAlarm,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CLOUDWATCH_METRICS,
  CLOUDWATCH_NAMESPACE,
  CLOUDWATCH_SERVICE,
  POOL_DIMENSION,
} from '../lambdas/core/metrics/cloudwatch-names.js';
import { LEDGER_OPERATIONS, POOL_UTILIZATION_THRESHOLD_PERCENT } from './control-plane-alarms.js';

export interface OperationsDashboardProps {
  pools: string[];
  functions: IFunction[];
  apis: RestApi[];
  ledgerTable: ITable;
  reconcileFailures: IQueue;
  alarms: IAlarm[];
}

/**
 * The CloudWatch dashboard on-call opens first: alarm states, each pool's budget, the reconcile passes,
 * the APIs, the Lambdas and the ledger. Per-model views are the Grafana dashboards in observability/.
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const minute = Duration.minutes(1);
    const controlPlane = (metricName: string, statistic: string, pool?: string): Metric =>
      new Metric({
        namespace: CLOUDWATCH_NAMESPACE,
        metricName,
        dimensionsMap: { service: CLOUDWATCH_SERVICE, ...(pool && { [POOL_DIMENSION]: pool }) },
        statistic,
        period: minute,
        ...(pool && { label: pool }),
      });
    const wide = (
      title: string,
      left: IMetric[],
      extra: Partial<ConstructorParameters<typeof GraphWidget>[0]> = {},
    ): IWidget => new GraphWidget({ title, left, width: 12, height: 6, ...extra });

    const widgets: IWidget[][] = [
      [
        new TextWidget({
          markdown:
            '# Inference budget control plane\nAlarms link their runbooks (docs/runbooks/). Per-model views: the Grafana dashboards in `observability/dashboards/`.',
          width: 24,
          height: 2,
        }),
      ],
      [new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 })],
      [
        wide(
          'Budget utilisation by pool (%)',
          props.pools.map((pool) => controlPlane(CLOUDWATCH_METRICS.budgetUtilization, 'Maximum', pool)),
          {
            leftYAxis: { min: 0, max: 100 },
            leftAnnotations: [
              { value: POOL_UTILIZATION_THRESHOLD_PERCENT, label: 'alarm' } satisfies HorizontalAnnotation,
            ],
          },
        ),
        wide(
          'Available GPU memory by pool (bytes)',
          props.pools.map((pool) => controlPlane(CLOUDWATCH_METRICS.budgetAvailable, 'Minimum', pool)),
        ),
      ],
      [
        wide('Reconcile passes', [
          controlPlane(CLOUDWATCH_METRICS.reconcileSucceeded, 'Sum'),
          controlPlane(CLOUDWATCH_METRICS.reconcileErrors, 'Sum'),
        ]),
        wide('Reconcile pass duration (s)', [controlPlane(CLOUDWATCH_METRICS.reconcileDuration, 'Maximum')]),
      ],
      [
        wide(
          'Warm-ups refused (429) by pool',
          props.pools.map((pool) => controlPlane(CLOUDWATCH_METRICS.warmUpRejections, 'Sum', pool)),
        ),
        wide(
          'API requests and errors',
          props.apis.flatMap((api) => [
            api.metricCount({ period: minute, label: `${api.node.scope!.node.id} requests` }),
            api.metricClientError({ period: minute, label: `${api.node.scope!.node.id} 4xx` }),
            api.metricServerError({ period: minute, label: `${api.node.scope!.node.id} 5xx` }),
          ]),
        ),
      ],
      [
        wide(
          'Lambda errors and throttles',
          props.functions.flatMap((fn) => [
            fn.metricErrors({ period: minute, label: `${fn.node.id} errors` }),
            fn.metricThrottles({ period: minute, label: `${fn.node.id} throttles` }),
          ]),
        ),
        wide(
          'Lambda duration p99 (ms)',
          props.functions.map((fn) =>
            fn.metricDuration({ period: minute, statistic: 'p99', label: fn.node.id }),
          ),
        ),
      ],
      [
        new GraphWidget({
          title: 'Ledger: throttled requests and failure queue',
          left: [
            props.ledgerTable.metricThrottledRequestsForOperations({
              operations: LEDGER_OPERATIONS,
              period: minute,
            }),
          ],
          right: [
            props.reconcileFailures.metricApproximateNumberOfMessagesVisible({
              period: minute,
              label: 'reconcile failures queued',
            }),
          ],
          width: 12,
          height: 6,
        }),
        wide('Ledger: consumed capacity', [
          props.ledgerTable.metricConsumedReadCapacityUnits({ period: minute }),
          props.ledgerTable.metricConsumedWriteCapacityUnits({ period: minute }),
        ]),
      ],
    ];
    this.dashboard = new Dashboard(this, 'Dashboard', { widgets });
  }
}
