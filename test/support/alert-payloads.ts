/** Alert payloads as AMP's alert manager (JSON template of docs/remediation.md), SNS and EventBridge deliver them. */

export interface AlertSpec {
  name: string;
  status?: 'firing' | 'resolved';
  labels?: Record<string, string>;
  startsAt: Date;
  endsAt?: Date;
  fingerprint?: string;
}

/** Go's time.Time String(), which `{{ .StartsAt }}` in the alert manager's template prints. */
export function goTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} +0000 UTC`;
}

/** The SNS message body rendered by the JSON template of docs/remediation.md. */
export function alertmanagerMessage(alerts: AlertSpec[]): string {
  const status = alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved';
  return JSON.stringify({
    receiver: 'on-call',
    status,
    alerts: alerts.map((a) => ({
      status: a.status ?? 'firing',
      labels: { alertname: a.name, severity: 'warning', ...a.labels },
      annotations: { summary: `${a.name} summary`, runbook_url: `docs/runbooks/${a.name}.md` },
      startsAt: goTime(a.startsAt),
      endsAt: a.endsAt ? goTime(a.endsAt) : '0001-01-01 00:00:00 +0000 UTC',
      generatorURL: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/graph',
      fingerprint: a.fingerprint ?? `fp-${a.name}-${a.startsAt.getTime()}`,
    })),
    groupLabels: { alertname: alerts[0]?.name ?? '' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/alertmanager',
  });
}

/** The Lambda event SNS delivers. */
export function snsEvent(message: string) {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:amp-alerts:sub',
        Sns: {
          Type: 'Notification',
          MessageId: 'f5b7c3e2-0000-4000-8000-000000000000',
          TopicArn: 'arn:aws:sns:us-east-1:123456789012:amp-alerts',
          Subject: null,
          Message: message,
          Timestamp: new Date().toISOString(),
        },
      },
    ],
  };
}

/** CloudWatch writes its timestamps with a colon-less offset. */
export function cloudWatchTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

export function alarmEvent(spec: {
  alarmName: string;
  state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  at: Date;
  dimensions: Record<string, string>;
  previous?: { state: string; at: Date };
}) {
  return {
    version: '0',
    id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: spec.at.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${spec.alarmName}`],
    detail: {
      alarmName: spec.alarmName,
      state: { value: spec.state, reason: 'Threshold Crossed', timestamp: cloudWatchTime(spec.at) },
      previousState: spec.previous
        ? {
            value: spec.previous.state,
            reason: 'Threshold Crossed',
            timestamp: cloudWatchTime(spec.previous.at),
          }
        : { value: 'OK', reason: 'Threshold Crossed', timestamp: cloudWatchTime(new Date(0)) },
      configuration: {
        description: 'MoE lab alarm',
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: { namespace: 'MoELab', name: 'Metric', dimensions: spec.dimensions },
              period: 60,
              stat: 'Average',
            },
            returnData: true,
          },
        ],
      },
    },
  };
}

/** The trusted alarm ARN prefix the payloads above match: any alarm of their account and region. */
export const TRUSTED_ALARMS = { alarmArnPrefix: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:' };
