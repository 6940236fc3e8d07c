import { AlertPayloadError, parseRemediationEvent } from '../../../../lambdas/core/remediation/alerts.js';
import {
  alarmEvent,
  alertmanagerMessage,
  snsEvent,
  TRUSTED_ALARMS,
} from '../../../support/alert-payloads.js';

const startsAt = new Date('2026-11-27T15:00:00.123Z');
const endsAt = new Date('2026-11-27T15:20:00Z');

describe('parseRemediationEvent', () => {
  it('reads the alerts of an alert manager notification, times in Go or RFC 3339 form', () => {
    const message = alertmanagerMessage([
      { name: 'GPUMemoryUsageHigh', labels: { pod: 'moe-trainer-abc-12345' }, startsAt, fingerprint: 'f1' },
      { name: 'InferenceLatencyHigh', status: 'resolved', startsAt, endsAt, fingerprint: 'f2' },
    ]);
    const parsed = parseRemediationEvent(snsEvent(message), TRUSTED_ALARMS);
    expect(parsed).toEqual({
      kind: 'alerts',
      rejected: [],
      alerts: [
        {
          name: 'GPUMemoryUsageHigh',
          status: 'firing',
          labels: { alertname: 'GPUMemoryUsageHigh', severity: 'warning', pod: 'moe-trainer-abc-12345' },
          startsAt: startsAt.getTime(),
          endsAt: undefined,
          episode: 'f1@2026-11-27T15:00:00.123Z',
          source: 'alertmanager',
        },
        expect.objectContaining({
          status: 'resolved',
          startsAt: startsAt.getTime(),
          endsAt: endsAt.getTime(),
        }),
      ],
    });
    const rfc = JSON.stringify({
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'X' },
          startsAt: '2026-11-27T15:00:00.123Z',
          endsAt: '0001-01-01T00:00:00Z',
        },
      ],
    });
    expect(parseRemediationEvent(snsEvent(rfc), TRUSTED_ALARMS)).toMatchObject({
      alerts: [{ startsAt: startsAt.getTime(), endsAt: undefined }],
    });
    const monotonic = JSON.stringify({
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'X' },
          startsAt: '2026-11-27 15:00:00.123 +0000 UTC m=+12.5',
        },
      ],
    });
    expect(parseRemediationEvent(snsEvent(monotonic), TRUSTED_ALARMS)).toMatchObject({
      alerts: [{ startsAt: startsAt.getTime() }],
    });
  });

  it.each([
    ['plain text (the default template)', 'Alerts Firing:', 'the SNS message is not JSON'],
    ['no alerts array', '{"status":"firing"}', 'must be an object with an "alerts" array'],
    ['an empty alerts array', '{"alerts":[]}', 'has no alerts'],
    [
      'an unknown status',
      '{"alerts":[{"status":"pending","labels":{"alertname":"X"},"startsAt":"2026-11-27T15:00:00Z"}]}',
      'alerts[0].status must be "firing" or "resolved", got "pending"',
    ],
    [
      'no alertname',
      '{"alerts":[{"status":"firing","labels":{},"startsAt":"2026-11-27T15:00:00Z"}]}',
      'alerts[0].labels.alertname is missing',
    ],
    [
      'a label that is not a string',
      '{"alerts":[{"status":"firing","labels":{"alertname":"X","gpu":0},"startsAt":"2026-11-27T15:00:00Z"}]}',
      'alerts[0].labels.gpu must be a string',
    ],
    [
      'a start that is not a time',
      '{"alerts":[{"status":"firing","labels":{"alertname":"X"},"startsAt":"yesterday"}]}',
      'alerts[0].startsAt is not a time: "yesterday"',
    ],
    [
      'a resolved alert without an end',
      '{"alerts":[{"status":"resolved","labels":{"alertname":"X"},"startsAt":"2026-11-27T15:00:00Z"}]}',
      'alerts[0].endsAt must say when a resolved alert ended',
    ],
  ])('rejects an SNS message with %s, naming the field', (_case, message, reason) => {
    const parsed = parseRemediationEvent(snsEvent(message), TRUSTED_ALARMS);
    expect(parsed).toEqual({ kind: 'alerts', alerts: [], rejected: [expect.stringContaining(reason)] });
    expect(parsed.kind === 'alerts' && parsed.rejected[0]?.startsWith('Records[0]: ')).toBe(true);
  });

  it("skips the remediation Lambda's own announcements (same topic)", () => {
    const own = snsEvent('What: Set training-config: batch_size 32 -> 16');
    Object.assign(own.Records[0]!.Sns, {
      MessageAttributes: { 'ibcp-message': { Type: 'String', Value: 'remediation-announcement' } },
    });
    expect(parseRemediationEvent(own, TRUSTED_ALARMS)).toEqual({ kind: 'alerts', alerts: [], rejected: [] });
  });

  it('keeps the good messages of a batch and rejects the bad ones', () => {
    const good = snsEvent(alertmanagerMessage([{ name: 'X', startsAt }])).Records[0]!;
    const parsed = parseRemediationEvent({ Records: [good, { Sns: {} }] }, TRUSTED_ALARMS);
    expect(parsed).toMatchObject({
      alerts: [{ name: 'X' }],
      rejected: ['Records[1]: not an SNS record (Records[].Sns.Message is missing)'],
    });
  });

  it('turns CloudWatch alarm state changes into alerts: ALARM fires, OK resolves, INSUFFICIENT_DATA says nothing', () => {
    const at = new Date('2026-11-27T15:30:00.000Z');
    const firing = parseRemediationEvent(
      alarmEvent({
        alarmName: 'GPUMemoryUsageHigh-ml-moe-trainer',
        state: 'ALARM',
        at,
        dimensions: { Namespace: 'ml', PodName: 'moe-trainer-a-b' },
      }),
      TRUSTED_ALARMS,
    );
    expect(firing).toEqual({
      kind: 'alerts',
      rejected: [],
      alerts: [
        {
          name: 'GPUMemoryUsageHigh',
          status: 'firing',
          labels: { alertname: 'GPUMemoryUsageHigh', namespace: 'ml', pod: 'moe-trainer-a-b' },
          startsAt: at.getTime(),
          endsAt: undefined,
          episode:
            'arn:aws:cloudwatch:us-east-1:123456789012:alarm:GPUMemoryUsageHigh-ml-moe-trainer@2026-11-27T15:30:00.000Z',
          source: 'cloudwatch',
        },
      ],
    });
    const ok = parseRemediationEvent(
      alarmEvent({
        alarmName: 'InferenceLatencyHigh',
        state: 'OK',
        at: endsAt,
        dimensions: {},
        previous: { state: 'ALARM', at },
      }),
      TRUSTED_ALARMS,
    );
    expect(ok).toMatchObject({
      alerts: [{ status: 'resolved', startsAt: at.getTime(), endsAt: endsAt.getTime() }],
    });
    expect(
      parseRemediationEvent(
        alarmEvent({ alarmName: 'X', state: 'INSUFFICIENT_DATA', at, dimensions: {} }),
        TRUSTED_ALARMS,
      ),
    ).toEqual({
      kind: 'alerts',
      alerts: [],
      rejected: [],
    });
  });

  it('recognises the schedule', () => {
    expect(
      parseRemediationEvent(
        {
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          time: '2026-11-27T15:00:00Z',
        },
        TRUSTED_ALARMS,
      ),
    ).toEqual({
      kind: 'scheduled',
      at: Date.parse('2026-11-27T15:00:00Z'),
    });
  });

  it.each([
    ['not an object', 'hello', 'the event must be a JSON object'],
    ['an empty SNS batch', { Records: [] }, 'the SNS event has no records'],
    [
      'an alarm change from elsewhere',
      { 'detail-type': 'CloudWatch Alarm State Change', source: 'my.app', detail: {} },
      'must come from aws.cloudwatch',
    ],
    [
      'an alarm change without a state',
      {
        'detail-type': 'CloudWatch Alarm State Change',
        source: 'aws.cloudwatch',
        resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:X'],
        detail: { alarmName: 'X' },
      },
      'detail.state.value is missing',
    ],
    [
      'an alarm with a bad timestamp',
      {
        'detail-type': 'CloudWatch Alarm State Change',
        source: 'aws.cloudwatch',
        resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:X'],
        detail: { alarmName: 'X', state: { value: 'ALARM', timestamp: 'soon' } },
      },
      'detail.state.timestamp is not a time',
    ],
    [
      "an alarm of another account (not this stack's)",
      {
        ...alarmEvent({ alarmName: 'GPUMemoryUsageHigh', state: 'ALARM', at: new Date(), dimensions: {} }),
        resources: ['arn:aws:cloudwatch:us-east-1:999999999999:alarm:GPUMemoryUsageHigh'],
      },
      "is not one of this stack's",
    ],
    [
      'an alarm whose ARN names another alarm',
      {
        ...alarmEvent({ alarmName: 'GPUMemoryUsageHigh', state: 'ALARM', at: new Date(), dimensions: {} }),
        resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:Other'],
      },
      "is not one of this stack's",
    ],
    [
      'a schedule without a time',
      { 'detail-type': 'Scheduled Event', source: 'aws.events' },
      'no valid "time"',
    ],
  ])('throws a clear AlertPayloadError for %s', (_case, event, reason) => {
    expect(() => parseRemediationEvent(event, TRUSTED_ALARMS)).toThrow(AlertPayloadError);
    expect(() => parseRemediationEvent(event, TRUSTED_ALARMS)).toThrow(reason);
  });

  it('takes only alarms under the trusted prefix, and none when no prefix is configured', () => {
    const event = alarmEvent({
      alarmName: 'Stack-GPUMemoryUsageHigh-ml-moe-trainer',
      state: 'ALARM',
      at: new Date(),
      dimensions: {},
    });
    const parsed = parseRemediationEvent(event, {
      alarmArnPrefix: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:Stack-',
    });
    expect(parsed).toMatchObject({ kind: 'alerts', alerts: [{ name: 'GPUMemoryUsageHigh' }] });
    expect(() =>
      parseRemediationEvent(event, {
        alarmArnPrefix: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:Other-',
      }),
    ).toThrow(AlertPayloadError);
    expect(() => parseRemediationEvent(event, { alarmArnPrefix: undefined })).toThrow(
      'no trusted prefix configured',
    );
  });
});
