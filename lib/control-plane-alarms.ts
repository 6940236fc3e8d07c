import { Duration, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CLOUDWATCH_METRICS,
  CLOUDWATCH_NAMESPACE,
  CLOUDWATCH_SERVICE,
  CLUSTER_DIMENSION,
  POOL_DIMENSION,
} from '../lambdas/core/metrics/cloudwatch-names.js';

/** The alarms that page, each with a page in docs/runbooks/ of the same name. */
export const ALARM_KINDS = [
  'BudgetAllocationExceedsTotal',
  'PoolUtilizationHigh',
  'ReconcileStale',
  'ReconcileFailuresQueued',
  'LambdaErrors',
  'LambdaThrottles',
  'ApiServerErrors',
  'WebhookClientErrors',
  'WebhookRateLimited',
  'LedgerThrottled',
] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

/** One governed cluster's own alarms: its pools, its Lambdas, its pass, its webhook. */
export interface ClusterAlarmSources {
  /** The EKS cluster: the `cluster` dimension of its metrics. */
  cluster: string;
  /** Put in its alarms' names (several clusters); unset, names are the single-cluster ones. */
  subject: string | undefined;
  pools: string[];
  functions: IFunction[];
  reconcileFailures: IQueue;
  /** The admission webhook: its 4xx (wrong paths, throttling) and, when public, its WAF blocks page too. */
  webhook: { api: RestApi; webAcl: CfnWebACL | undefined; rateRule: string };
}

export interface ControlPlaneAlarmsProps {
  clusters: ClusterAlarmSources[];
  /** Minutes between scheduled passes: "no successful reconcile" waits at least two of them. */
  scheduleMinutes: number;
  warmUpApi: RestApi;
  ledgerTable: ITable;
  onCallTopic: ITopic;
  runbookBaseUrl: string | undefined;
}

/** The operations the ledger adapters call (CloudWatch allows at most 10 metrics in an alarm's math). */
export const LEDGER_OPERATIONS = [
  Operation.GET_ITEM,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.QUERY,
  Operation.SCAN,
];

/** More webhook 4xx than this in five minutes pages: a few stray probes do not. */
export const WEBHOOK_CLIENT_ERRORS_THRESHOLD = 10;

/** Utilisation above this share of a pool's budget, for five minutes, pages. */
export const POOL_UTILIZATION_THRESHOLD_PERCENT = 90;

/**
 * CloudWatch alarms that page on-call through the SNS topic (on ALARM and on OK), each description
 * ending with its runbook link. They watch the control plane's own EMF metrics and the AWS services it
 * runs on; the per-model alerts live in AMP (observability/rules/).
 */
export class ControlPlaneAlarms extends Construct {
  readonly alarms: { kind: AlarmKind; alarm: Alarm }[] = [];
  /** No successful pass for this long raises ReconcileStale. */
  readonly staleAfter: Duration;

  constructor(scope: Construct, id: string, props: ControlPlaneAlarmsProps) {
    super(scope, id);
    const fiveMinutes = Duration.minutes(5);
    const action = new SnsAction(props.onCallTopic);
    const add: AddAlarm = (kind, subject, summary, options) => {
      const alarm = new Alarm(this, `${kind}${subject ? `-${subject}` : ''}`, {
        alarmName: `${Stack.of(this).stackName}-${kind}${subject ? `-${subject}` : ''}`,
        alarmDescription: `${summary} Runbook: ${runbookLink(props.runbookBaseUrl, kind)}`,
        metric: options.metric,
        threshold: options.threshold,
        comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push({ kind, alarm });
    };

    this.staleAfter = Duration.minutes(Math.max(5, 2 * props.scheduleMinutes));
    for (const cluster of props.clusters) this.clusterAlarms(cluster, add);
    const warmUpApi = props.warmUpApi.node.scope!.node.id;
    add('ApiServerErrors', warmUpApi, `API ${warmUpApi} answered 5xx in the last 5 minutes.`, {
      metric: props.warmUpApi.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 0,
    });
    add('LedgerThrottled', '', 'DynamoDB throttled requests to the ledger table in the last 5 minutes.', {
      metric: props.ledgerTable.metricThrottledRequestsForOperations({
        operations: LEDGER_OPERATIONS,
        period: fiveMinutes,
      }),
      threshold: 0,
    });
  }

  /**
   * A cluster's alarms watch its own metrics (the `cluster` dimension), Lambdas, failure queue and
   * webhook: one cluster failing pages as that cluster, and never silences another's alarm.
   */
  private clusterAlarms(cluster: ClusterAlarmSources, add: AddAlarm): void {
    const fiveMinutes = Duration.minutes(5);
    // Subjects and summaries name the cluster only when there are several.
    const named = (subject: string) => [cluster.subject, subject].filter(Boolean).join('-');
    const where = cluster.subject ? ` (cluster ${cluster.cluster})` : '';
    const dimensions = { service: CLOUDWATCH_SERVICE, [CLUSTER_DIMENSION]: cluster.cluster };
    for (const pool of cluster.pools) {
      const poolMetric = (metricName: string, statistic: string): Metric =>
        new Metric({
          namespace: CLOUDWATCH_NAMESPACE,
          metricName,
          dimensionsMap: { ...dimensions, [POOL_DIMENSION]: pool },
          statistic,
          period: Duration.minutes(1),
        });
      add(
        'BudgetAllocationExceedsTotal',
        named(pool),
        `Pool ${pool}${where}: allocated GPU memory exceeds the pool's total budget.`,
        {
          metric: new MathExpression({
            expression: 'allocated - total',
            usingMetrics: {
              allocated: poolMetric(CLOUDWATCH_METRICS.budgetAllocated, 'Maximum'),
              total: poolMetric(CLOUDWATCH_METRICS.budgetTotal, 'Minimum'),
            },
            label: 'bytes over budget',
            period: Duration.minutes(1),
          }),
          threshold: 0,
        },
      );
      add(
        'PoolUtilizationHigh',
        named(pool),
        `Pool ${pool}${where}: more than ${POOL_UTILIZATION_THRESHOLD_PERCENT}% of its GPU-memory budget allocated for 5 minutes; warm-ups will be refused.`,
        {
          metric: poolMetric(CLOUDWATCH_METRICS.budgetUtilization, 'Minimum'),
          threshold: POOL_UTILIZATION_THRESHOLD_PERCENT,
          evaluationPeriods: 5,
        },
      );
    }

    add(
      'ReconcileStale',
      named(''),
      `No successful scheduled reconcile pass${where} for ${this.staleAfter.toMinutes()} minutes.`,
      {
        metric: new Metric({
          namespace: CLOUDWATCH_NAMESPACE,
          metricName: CLOUDWATCH_METRICS.reconcileSucceeded,
          dimensionsMap: dimensions,
          statistic: 'Sum',
          period: this.staleAfter,
        }),
        threshold: 1,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        // No pass at all publishes nothing: that is the worst case, not a quiet one.
        missing: TreatMissingData.BREACHING,
      },
    );
    add(
      'ReconcileFailuresQueued',
      named(''),
      `Reconcile invocations${where} failed after their retries and wait in the failure queue.`,
      {
        metric: cluster.reconcileFailures.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 0,
      },
    );
    for (const fn of cluster.functions) {
      const name = fn.node.id;
      add('LambdaErrors', named(name), `Lambda ${name}${where} reported errors in the last 5 minutes.`, {
        metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 0,
      });
      add('LambdaThrottles', named(name), `Lambda ${name}${where} was throttled in the last 5 minutes.`, {
        metric: fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 0,
      });
    }
    const webhookApi = cluster.webhook.api.node.scope!.node.id;
    add(
      'ApiServerErrors',
      named(webhookApi),
      `API ${webhookApi}${where} answered 5xx in the last 5 minutes.`,
      {
        metric: cluster.webhook.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 0,
      },
    );
    // The API server only calls the URL it was given: 4xx mean a wrong URL (an unfinished secret rotation),
    // a prober, or the stage throttle (429), which refuses the API server's calls as well.
    add(
      'WebhookClientErrors',
      named(''),
      `The admission webhook${where} answered more than ${WEBHOOK_CLIENT_ERRORS_THRESHOLD} 4xx (unknown path, wrong secret or throttled) in 5 minutes.`,
      {
        metric: cluster.webhook.api.metricClientError({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: WEBHOOK_CLIENT_ERRORS_THRESHOLD,
      },
    );
    if (cluster.webhook.webAcl) {
      add(
        'WebhookRateLimited',
        named(''),
        `WAF blocked requests to the public admission webhook${where} by its rate-based rule in 5 minutes: someone floods it, or the API server's own calls are over the limit.`,
        {
          metric: new Metric({
            namespace: 'AWS/WAFV2',
            metricName: 'BlockedRequests',
            dimensionsMap: {
              WebACL: cluster.webhook.webAcl.name!,
              Rule: cluster.webhook.rateRule,
              Region: Stack.of(this).region,
            },
            statistic: 'Sum',
            period: fiveMinutes,
          }),
          threshold: 0,
        },
      );
    }
  }
}

type AddAlarm = (
  kind: AlarmKind,
  subject: string,
  summary: string,
  options: {
    metric: IMetric;
    threshold: number;
    comparison?: ComparisonOperator;
    evaluationPeriods?: number;
    missing?: TreatMissingData;
  },
) => void;

function runbookLink(base: string | undefined, kind: AlarmKind): string {
  return base ? `${base}${kind}.md` : `docs/runbooks/${kind}.md in the control plane's repository`;
}
