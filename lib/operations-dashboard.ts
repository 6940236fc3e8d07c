import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AlarmStatusWidget,
  Dashboard,
  DashboardVariable,
  DefaultValue,
  Values,
  VariableInputType,
  VariableType,
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
  CLUSTER_DIMENSION,
  POOL_DIMENSION,
} from '../lambdas/core/metrics/cloudwatch-names.js';
import { LEDGER_OPERATIONS, POOL_UTILIZATION_THRESHOLD_PERCENT } from './control-plane-alarms.js';

/** What the dashboard shows of one governed cluster. */
export interface DashboardCluster {
  /** The `cluster` dimension of its metrics. */
  cluster: string;
  /** Set with several clusters: graph labels carry it. */
  subject: string | undefined;
  pools: string[];
  functions: IFunction[];
  reconcileFailures: IQueue;
}

export interface OperationsDashboardProps {
  clusters: DashboardCluster[];
  apis: RestApi[];
  ledgerTable: ITable;
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
    // The `cluster` variable sets the `cluster` dimension of every metric that has it: the budget and
    // reconcile graphs show the chosen cluster (the first at load), with a line for each pool name any
    // cluster has (a pool the chosen cluster lacks shows no data). Lambdas and queues are per cluster.
    const [first] = props.clusters;
    const variable = new DashboardVariable({
      id: 'cluster',
      type: VariableType.PROPERTY,
      inputType: VariableInputType.SELECT,
      value: CLUSTER_DIMENSION,
      label: 'Cluster',
      values: Values.fromValues(...props.clusters.map(({ cluster }) => ({ value: cluster }))),
      defaultValue: DefaultValue.value(first!.cluster),
      visible: props.clusters.length > 1,
    });
    const controlPlane = (metricName: string, statistic: string, pool?: string): Metric =>
      new Metric({
        namespace: CLOUDWATCH_NAMESPACE,
        metricName,
        dimensionsMap: {
          service: CLOUDWATCH_SERVICE,
          [CLUSTER_DIMENSION]: first!.cluster,
          ...(pool && { [POOL_DIMENSION]: pool }),
        },
        statistic,
        period: minute,
        ...(pool && { label: pool }),
      });
    const pools = [...new Set(props.clusters.flatMap((cluster) => cluster.pools))];
    const perPool = (metricName: string, statistic: string) =>
      pools.map((pool) => controlPlane(metricName, statistic, pool));
    const label = (cluster: DashboardCluster, text: string) =>
      cluster.subject ? `${cluster.subject} ${text}` : text;
    const functions = props.clusters.flatMap((cluster) =>
      cluster.functions.map((fn) => ({ fn, label: label(cluster, fn.node.id) })),
    );
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
        wide('Budget utilisation by pool (%)', perPool(CLOUDWATCH_METRICS.budgetUtilization, 'Maximum'), {
          leftYAxis: { min: 0, max: 100 },
          leftAnnotations: [
            { value: POOL_UTILIZATION_THRESHOLD_PERCENT, label: 'alarm' } satisfies HorizontalAnnotation,
          ],
        }),
        wide('Available GPU memory by pool (bytes)', perPool(CLOUDWATCH_METRICS.budgetAvailable, 'Minimum')),
      ],
      [
        wide('Reconcile passes', [
          controlPlane(CLOUDWATCH_METRICS.reconcileSucceeded, 'Sum'),
          controlPlane(CLOUDWATCH_METRICS.reconcileErrors, 'Sum'),
        ]),
        wide('Reconcile pass duration (s)', [controlPlane(CLOUDWATCH_METRICS.reconcileDuration, 'Maximum')]),
      ],
      [
        wide('Warm-ups refused (429) by pool', perPool(CLOUDWATCH_METRICS.warmUpRejections, 'Sum')),
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
          functions.flatMap(({ fn, label }) => [
            fn.metricErrors({ period: minute, label: `${label} errors` }),
            fn.metricThrottles({ period: minute, label: `${label} throttles` }),
          ]),
        ),
        wide(
          'Lambda duration p99 (ms)',
          functions.map(({ fn, label }) => fn.metricDuration({ period: minute, statistic: 'p99', label })),
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
          right: props.clusters.map((cluster) =>
            cluster.reconcileFailures.metricApproximateNumberOfMessagesVisible({
              period: minute,
              label: label(cluster, 'reconcile failures queued'),
            }),
          ),
          width: 12,
          height: 6,
        }),
        wide('Ledger: consumed capacity', [
          props.ledgerTable.metricConsumedReadCapacityUnits({ period: minute }),
          props.ledgerTable.metricConsumedWriteCapacityUnits({ period: minute }),
        ]),
      ],
    ];
    this.dashboard = new Dashboard(this, 'Dashboard', { widgets, variables: [variable] });
  }
}
