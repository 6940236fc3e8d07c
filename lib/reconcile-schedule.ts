import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** What the admission webhook and the warm-up API put on the bus (lambdas/adapters/eventbridge-reconcile-requests.ts). */
export const RECONCILE_EVENT_SOURCE = 'inference-budget-control-plane';
export const RECONCILE_DETAIL_TYPE = 'InferenceModel changed';

export interface ReconcileScheduleProps {
  /** The pass over every model. */
  scheduled: IFunction;
  /** The single-model reconcile. */
  perModel: IFunction;
  eventBus: IEventBus;
  /** Minutes between scheduled passes; default 1. */
  scheduleMinutes?: number;
}

/** When the reconcilers run: a scheduled pass, and one model as soon as a change is announced. */
export class ReconcileSchedule extends Construct {
  readonly scheduleRule: Rule;
  readonly modelChangedRule: Rule;

  constructor(scope: Construct, id: string, props: ReconcileScheduleProps) {
    super(scope, id);
    this.scheduleRule = new Rule(this, 'Pass', {
      description: 'Scheduled reconcile pass over every InferenceModel',
      schedule: Schedule.rate(Duration.minutes(props.scheduleMinutes ?? 1)),
      // A missed pass is replaced by the next one: do not pile up retries behind reserved concurrency 1.
      targets: [new LambdaFunction(props.scheduled, { retryAttempts: 0 })],
    });
    this.modelChangedRule = new Rule(this, 'ModelChanged', {
      description: 'Reconcile one InferenceModel when the webhook or the warm-up API announces a change',
      eventBus: props.eventBus,
      eventPattern: { source: [RECONCILE_EVENT_SOURCE], detailType: [RECONCILE_DETAIL_TYPE] },
      targets: [new LambdaFunction(props.perModel, { retryAttempts: 4, maxEventAge: Duration.minutes(15) })],
    });
  }
}
