import { Duration, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SubscriptionFilter, type ITopic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { AUTOMATED_ALERTS } from '../lambdas/core/remediation/targets.js';
import { remediationAlarmArnPrefix } from './control-plane-functions.js';
import { ALERT_SOURCE_ATTRIBUTE } from './prometheus-workspace.js';

export interface RemediationTriggersProps {
  remediation: IFunction;
  /** The topic AMP's alert manager publishes to. */
  alertTopic: ITopic;
}

/**
 * What wakes the remediation Lambda (docs/remediation.md): AMP alerts from the topic (only those, not the
 * alarms and announcements that share it), this stack's CloudWatch alarms named after a playbook alert, and a
 * one-minute tick that scales inference back once latency has stayed low.
 */
export class RemediationTriggers extends Construct {
  readonly alarmRule: Rule;
  readonly tick: Rule;

  constructor(scope: Construct, id: string, props: RemediationTriggersProps) {
    super(scope, id);
    props.alertTopic.addSubscription(
      new LambdaSubscription(props.remediation, {
        filterPolicy: {
          [ALERT_SOURCE_ATTRIBUTE.name]: SubscriptionFilter.stringFilter({
            allowlist: [ALERT_SOURCE_ATTRIBUTE.value],
          }),
        },
      }),
    );
    this.alarmRule = new Rule(this, 'PlaybookAlarms', {
      description: "This stack's CloudWatch alarms named after a MoE playbook alert change state",
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        // Only this stack's alarms named after a playbook alert; the handler checks the same prefix.
        resources: Object.keys(AUTOMATED_ALERTS).map((alert) => ({
          prefix: `${remediationAlarmArnPrefix(Stack.of(this))}${alert}`,
        })) as unknown as string[],
      },
      targets: [new LambdaFunction(props.remediation, { retryAttempts: 2 })],
    });
    this.tick = new Rule(this, 'ScaleBackTick', {
      description: 'Scale MoE inference back once its latency has stayed low (remediation Lambda)',
      schedule: Schedule.rate(Duration.minutes(1)),
      // A missed tick is replaced by the next one.
      targets: [new LambdaFunction(props.remediation, { retryAttempts: 0 })],
    });
  }
}
