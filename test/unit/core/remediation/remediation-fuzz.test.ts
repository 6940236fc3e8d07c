import fc from 'fast-check';
import { AlertPayloadError, parseRemediationEvent } from '../../../../lambdas/core/remediation/alerts.js';
import {
  ALERT_MAX_AGE_MS,
  ALERT_MAX_SKEW_MS,
  type RemediationReport,
} from '../../../../lambdas/core/remediation/ports.js';
import { remediate } from '../../../../lambdas/core/remediation/remediate.js';
import { AUTOMATED_ALERTS, type AutomatedAlert } from '../../../../lambdas/core/remediation/targets.js';
import { alarmEvent, alertmanagerMessage, snsEvent } from '../../../support/alert-payloads.js';
import { ENABLED, remediationWorld } from '../../../support/fake-remediation.js';

/**
 * 10,000 generated deliveries (SNS from the alert manager, EventBridge alarm changes, anything invoked
 * directly), through what the remediation handler does with an event: never a failure (the Lambda's 5xx),
 * and no write to the cluster or the ledger unless the delivery holds a valid, current alert from a
 * trusted source about a declared workload. Every action is enabled, so any action would be seen.
 */
const NOW = Date.parse('2026-11-27T12:00:00Z');
const TRUST = { alarmArnPrefix: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:Stack-' };
const ALERTS = Object.keys(AUTOMATED_ALERTS) as AutomatedAlert[];
const minute = 60_000;

interface AlertCase {
  name: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  startsAt: number;
  endsAt: number | undefined;
  /** The generator's own verdict: may this alert lead to an action? */
  actionable: boolean;
}

const workloadLabels = (name: string): Record<string, string> =>
  AUTOMATED_ALERTS[name as AutomatedAlert] === 'inference'
    ? { namespace: 'ml', deployment: 'moe-inference' }
    : { namespace: 'ml', deployment: 'moe-trainer' };

/** A valid, current alert about a declared workload, then maybe one flaw that must keep it from acting. */
const alertCase: fc.Arbitrary<AlertCase> = fc
  .record({
    name: fc.constantFrom(...ALERTS),
    status: fc.constantFrom('firing' as const, 'resolved' as const),
    startAgo: fc.integer({ min: minute, max: ALERT_MAX_AGE_MS - minute }),
    endAfter: fc.integer({ min: 0, max: 30 * minute }),
    flaw: fc.option(
      fc.constantFrom(
        'unknown-alert',
        'future-start',
        'ancient-start',
        'year-2099-end',
        'end-before-start',
        'unknown-workload',
        'no-workload-label',
        'other-role',
      ),
      { nil: undefined, freq: 2 },
    ),
    junkName: fc.string({ maxLength: 12 }),
  })
  .map(({ name, status, startAgo, endAfter, flaw, junkName }) => {
    let startsAt = NOW - startAgo;
    let endsAt = status === 'resolved' ? Math.min(NOW, startsAt + endAfter) : undefined;
    let labels = workloadLabels(name);
    let alertName: string = name;
    switch (flaw) {
      case 'unknown-alert':
        alertName = `X${junkName.replace(/[^A-Za-z0-9]/g, '')}`;
        break;
      case 'future-start':
        startsAt = NOW + ALERT_MAX_SKEW_MS + minute;
        endsAt = status === 'resolved' ? startsAt + minute : undefined;
        break;
      case 'ancient-start':
        startsAt = NOW - ALERT_MAX_AGE_MS - minute;
        endsAt = status === 'resolved' ? startsAt + minute : undefined;
        break;
      case 'year-2099-end':
        endsAt = Date.parse('2099-01-01T00:00:00Z');
        break;
      case 'end-before-start':
        endsAt = status === 'resolved' ? startsAt - minute : undefined;
        break;
      case 'unknown-workload':
        labels = { namespace: 'ml', deployment: 'not-declared' };
        break;
      case 'no-workload-label':
        labels = { namespace: 'ml' };
        break;
      case 'other-role':
        labels =
          labels.deployment === 'moe-trainer'
            ? { namespace: 'ml', deployment: 'moe-inference' }
            : { namespace: 'ml', deployment: 'moe-trainer' };
        break;
    }
    // A resolved flaw only matters where it is read: end-before-start on a firing alert is no flaw.
    const flawed = flaw !== undefined && !(flaw === 'end-before-start' && status === 'firing');
    const ended = flaw === 'year-2099-end' ? status === 'resolved' : true;
    return {
      name: alertName,
      status,
      labels,
      startsAt,
      endsAt,
      actionable: !flawed || (flaw === 'year-2099-end' && !ended),
    };
  });

/** Alert manager JSON over SNS, sometimes with a field broken beyond parsing. */
const snsDelivery = fc
  .record({ alerts: fc.array(alertCase, { minLength: 1, maxLength: 3 }), broken: fc.boolean() })
  .chain(({ alerts, broken }) =>
    fc
      .oneof(
        fc.constant((m: string) => m.slice(0, Math.max(1, m.length - 3))),
        fc.constant((m: string) =>
          m.replace(/"status":"(firing|resolved)","labels"/, '"status":"maybe","labels"'),
        ),
        fc.constant((m: string) => m.replace(/"startsAt":"[^"]*"/, '"startsAt":"yesterday"')),
        fc.constant((m: string) => m.replace(/"alerts":/, '"alarms":')),
      )
      .map((breakIt) => {
        const message = alertmanagerMessage(
          alerts.map((a) => ({
            name: a.name,
            status: a.status,
            labels: a.labels,
            startsAt: new Date(a.startsAt),
            ...(a.endsAt !== undefined && { endsAt: new Date(a.endsAt) }),
          })),
        );
        return {
          event: snsEvent(broken ? breakIt(message) : message),
          actionable: !broken && alerts.some((a) => a.actionable),
        };
      }),
  );

/** An alarm state change, from this stack's alarms or from elsewhere. */
const alarmDelivery = fc
  .record({
    alert: alertCase,
    arn: fc.constantFrom('trusted', 'other-account', 'other-stack', 'mismatched', 'missing'),
    source: fc.constantFrom('aws.cloudwatch', 'aws.cloudwatch', 'my.app'),
  })
  .map(({ alert, arn, source }) => {
    const alarmName = `Stack-${alert.name}-moe`;
    const firing = alert.status === 'firing';
    const at = new Date(firing ? alert.startsAt : (alert.endsAt ?? alert.startsAt));
    const event = alarmEvent({
      alarmName,
      state: firing ? 'ALARM' : 'OK',
      at,
      dimensions: { Namespace: alert.labels.namespace ?? '', Deployment: alert.labels.deployment ?? '' },
      ...(!firing && { previous: { state: 'ALARM', at: new Date(alert.startsAt) } }),
    });
    const resources = {
      trusted: [`${TRUST.alarmArnPrefix}${alert.name}-moe`],
      'other-account': [`arn:aws:cloudwatch:us-east-1:999999999999:alarm:${alarmName}`],
      'other-stack': [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alert.name}-moe`],
      mismatched: [`${TRUST.alarmArnPrefix}Other`],
      missing: [],
    }[arn];
    // Dimensions carry no label when missing; a flawed workload label is the alarm's too.
    const trustedAlarm = arn === 'trusted' && source === 'aws.cloudwatch';
    return {
      event: { ...event, source, resources },
      actionable: trustedAlarm && alert.actionable && alert.labels.deployment !== undefined,
    };
  });

/** Whatever a caller with lambda:InvokeFunction might send. */
const directDelivery = fc
  .oneof(
    fc.jsonValue(),
    fc.anything(),
    fc.record({ Records: fc.array(fc.anything(), { maxLength: 3 }) }),
    fc.record({
      'detail-type': fc.constantFrom('CloudWatch Alarm State Change', 'Scheduled Event'),
      source: fc.constantFrom('aws.cloudwatch', 'aws.events', 'x'),
      detail: fc.anything(),
      resources: fc.anything(),
      time: fc.anything(),
    }),
  )
  // A well-formed Scheduled Event is a real trigger (the scale-back tick): with no scale-back pending,
  // it must change nothing either.
  .map((event) => ({ event, actionable: false }));

/** What the handler does with an event (lambdas/handlers/remediation.ts). */
async function handle(
  ports: Awaited<ReturnType<typeof remediationWorld>>['ports'],
  event: unknown,
): Promise<RemediationReport> {
  let parsed;
  try {
    parsed = parseRemediationEvent(event, TRUST);
  } catch (error) {
    if (!(error instanceof AlertPayloadError)) throw error;
    return { results: [], rejected: [error.message] };
  }
  return remediate(ports, ENABLED, parsed);
}

describe('remediation fuzz', () => {
  it('never fails and never acts on a delivery that holds no valid, current, known alert (10,000 payloads)', async () => {
    let acted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: snsDelivery },
          { weight: 3, arbitrary: alarmDelivery },
          {
            weight: 3,
            arbitrary: directDelivery,
          },
        ),
        async ({ event, actionable }) => {
          const world = await remediationWorld(() => NOW);
          const allocationsBefore = (await world.ledger.readPool('gpu-a100')).allocations.length;
          await handle(world.ports, event);
          const allocations = (await world.ledger.readPool('gpu-a100')).allocations.length;
          const changed = world.cluster.writes.length > 0 || allocations !== allocationsBefore;
          if (changed) acted++;
          if (!actionable) {
            expect({ writes: world.cluster.writes, allocations }).toEqual({
              writes: [],
              allocations: allocationsBefore,
            });
          }
        },
      ),
      { numRuns: 10_000 },
    );
    // The generators do reach the actions: a fuzz that never acts would prove nothing.
    expect(acted).toBeGreaterThan(100);
  });
});
