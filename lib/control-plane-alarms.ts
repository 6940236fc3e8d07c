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

export interface ControlPlaneAlarmsProps {
  pools: string[];
  /** Minutes between scheduled passes: "no successful reconcile" waits at least two of them. */
  scheduleMinutes: number;
  functions: IFunction[];
  reconcileFailures: IQueue;
  apis: RestApi[];
  /** The admission webhook: its 4xx (wrong paths, throttling) and, when public, its WAF blocks page too. */
  webhook: { api: RestApi; webAcl: CfnWebACL | undefined; rateRule: string };
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
    const add = (
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
    ): void => {
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

    for (const pool of props.pools) {
      const poolMetric = (metricName: string, statistic: string): Metric =>
        new Metric({
          namespace: CLOUDWATCH_NAMESPACE,
          metricName,
          dimensionsMap: { service: CLOUDWATCH_SERVICE, [POOL_DIMENSION]: pool },
          statistic,
          period: Duration.minutes(1),
        });
      add(
        'BudgetAllocationExceedsTotal',
        pool,
        `Pool ${pool}: allocated GPU memory exceeds the pool's total budget.`,
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
        pool,
        `Pool ${pool}: more than ${POOL_UTILIZATION_THRESHOLD_PERCENT}% of its GPU-memory budget allocated for 5 minutes; warm-ups will be refused.`,
        {
          metric: poolMetric(CLOUDWATCH_METRICS.budgetUtilization, 'Minimum'),
          threshold: POOL_UTILIZATION_THRESHOLD_PERCENT,
          evaluationPeriods: 5,
        },
      );
    }

    this.staleAfter = Duration.minutes(Math.max(5, 2 * props.scheduleMinutes));
    add(
      'ReconcileStale',
      '',
      `No successful scheduled reconcile pass for ${this.staleAfter.toMinutes()} minutes.`,
      {
        metric: new Metric({
          namespace: CLOUDWATCH_NAMESPACE,
          metricName: CLOUDWATCH_METRICS.reconcileSucceeded,
          dimensionsMap: { service: CLOUDWATCH_SERVICE },
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
      '',
      'Reconcile invocations failed after their retries and wait in the failure queue.',
      {
        metric: props.reconcileFailures.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 0,
      },
    );
    for (const fn of props.functions) {
      const name = fn.node.id;
      add('LambdaErrors', name, `Lambda ${name} reported errors in the last 5 minutes.`, {
        metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 0,
      });
      add('LambdaThrottles', name, `Lambda ${name} was throttled in the last 5 minutes.`, {
        metric: fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 0,
      });
    }
    for (const api of props.apis) {
      const name = api.node.scope!.node.id;
      add('ApiServerErrors', name, `API ${name} answered 5xx in the last 5 minutes.`, {
        metric: api.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 0,
      });
    }
    // The API server only calls the URL it was given: 4xx mean a wrong URL (an unfinished secret rotation),
    // a prober, or the stage throttle (429), which refuses the API server's calls as well.
    add(
      'WebhookClientErrors',
      '',
      `The admission webhook answered more than ${WEBHOOK_CLIENT_ERRORS_THRESHOLD} 4xx (unknown path, wrong secret or throttled) in 5 minutes.`,
      {
        metric: props.webhook.api.metricClientError({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: WEBHOOK_CLIENT_ERRORS_THRESHOLD,
      },
    );
    if (props.webhook.webAcl) {
      add(
        'WebhookRateLimited',
        '',
        "WAF blocked requests to the public admission webhook by its rate-based rule in 5 minutes: someone floods it, or the API server's own calls are over the limit.",
        {
          metric: new Metric({
            namespace: 'AWS/WAFV2',
            metricName: 'BlockedRequests',
            dimensionsMap: {
              WebACL: props.webhook.webAcl.name!,
              Rule: props.webhook.rateRule,
              Region: Stack.of(this).region,
            },
            statistic: 'Sum',
            period: fiveMinutes,
          }),
          threshold: 0,
        },
      );
    }
    add('LedgerThrottled', '', 'DynamoDB throttled requests to the ledger table in the last 5 minutes.', {
      metric: props.ledgerTable.metricThrottledRequestsForOperations({
        operations: LEDGER_OPERATIONS,
        period: fiveMinutes,
      }),
      threshold: 0,
    });
  }
}

function runbookLink(base: string | undefined, kind: AlarmKind): string {
  return base ? `${base}${kind}.md` : `docs/runbooks/${kind}.md in the control plane's repository`;
}
