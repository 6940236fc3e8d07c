import { Match } from 'aws-cdk-lib/assertions';
import {
  EVENT_SOURCE,
  RECONCILE_DETAIL_TYPE as ADAPTER_DETAIL_TYPE,
} from '../../../lambdas/adapters/eventbridge-reconcile-requests.js';
import { EventBus } from 'aws-cdk-lib/aws-events';
import {
  RECONCILE_DETAIL_TYPE,
  RECONCILE_EVENT_SOURCE,
  ReconcileSchedule,
} from '../../../lib/reconcile-schedule.js';
import { aFunction, onBareStack, synthStack } from './stack-fixture.js';

describe('ReconcileSchedule', () => {
  const { stack, template } = onBareStack(
    (stack) =>
      new ReconcileSchedule(stack, 'Schedule', {
        scheduled: aFunction(stack, 'Scheduled'),
        perModel: aFunction(stack, 'PerModel'),
        eventBus: new EventBus(stack, 'Bus'),
        scheduleMinutes: 5,
      }),
  );
  const ref = (id: string) =>
    stack.getLogicalId(
      stack.node.findChild(id).node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
    );
  const scheduled = ref('Scheduled');
  const perModel = ref('PerModel');

  it('matches what the handlers put on the bus', () => {
    expect(RECONCILE_EVENT_SOURCE).toBe(EVENT_SOURCE);
    expect(RECONCILE_DETAIL_TYPE).toBe(ADAPTER_DETAIL_TYPE);
  });

  it('runs the scheduled pass at the configured rate', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [scheduled, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
  });

  it('defaults to every minute', () => {
    onBareStack(
      (stack) =>
        new ReconcileSchedule(stack, 'Schedule', {
          scheduled: aFunction(stack, 'Scheduled'),
          perModel: aFunction(stack, 'PerModel'),
          eventBus: new EventBus(stack, 'Bus'),
        }),
    ).template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
    });
  });

  it('routes InferenceModel changed on the control plane bus to the per-model reconcile', () => {
    const [busId] = Object.keys(template.findResources('AWS::Events::EventBus'));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: { source: ['inference-budget-control-plane'], 'detail-type': ['InferenceModel changed'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [perModel, 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [perModel, 'Arn'] },
    });
  });
});

describe('ReconcileSchedule in the control-plane stack', () => {
  const { stack, template } = synthStack({ clusterName: 'gpu-inference', scheduleMinutes: 5 });
  const scheduled = stack.getLogicalId(
    stack.functions.reconcileScheduled.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );

  it('drops a pass that waited behind a slow one for longer than the interval, instead of queueing it', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: scheduled },
      MaximumEventAgeInSeconds: 300,
      MaximumRetryAttempts: 0,
    });
  });
});
