import { Match } from 'aws-cdk-lib/assertions';
import {
  EVENT_SOURCE,
  RECONCILE_DETAIL_TYPE as ADAPTER_DETAIL_TYPE,
} from '../../../lambdas/adapters/eventbridge-reconcile-requests.js';
import { RECONCILE_DETAIL_TYPE, RECONCILE_EVENT_SOURCE } from '../../../lib/reconcile-schedule.js';
import { synthStack } from './stack-fixture.js';

describe('ReconcileSchedule', () => {
  const { stack, template } = synthStack({ clusterName: 'gpu-inference', scheduleMinutes: 5 });
  const ref = (fn: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(fn.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
  const scheduled = ref(stack.functions.reconcileScheduled);
  const perModel = ref(stack.functions.reconcileModel);

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

  it('drops a pass that waited behind a slow one for longer than the interval, instead of queueing it', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: scheduled },
      MaximumEventAgeInSeconds: 300,
      MaximumRetryAttempts: 0,
    });
  });

  it('defaults to every minute', () => {
    synthStack().template.hasResourceProperties('AWS::Events::Rule', {
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
