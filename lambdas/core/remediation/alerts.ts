import { isObject } from '../json.js';

/**
 * The events the remediation Lambda receives, turned into one shape: Amazon Managed Prometheus alert
 * manager notifications (SNS, JSON message body per docs/remediation.md), CloudWatch alarm state changes
 * (EventBridge) and the scheduled tick that scales latency replicas back.
 */

export interface Alert {
  name: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  /** When the episode began (firing) and, once resolved, when it ended; epoch ms. */
  startsAt: number;
  endsAt: number | undefined;
  /** Stable across redeliveries of the same episode: Alertmanager fingerprint or alarm ARN, plus the start. */
  episode: string;
  source: 'alertmanager' | 'cloudwatch';
}

export type RemediationEvent =
  { kind: 'alerts'; alerts: Alert[]; rejected: string[] } | { kind: 'scheduled'; at: number };

/** The payload is not something the Lambda can act on; nothing was done. */
export class AlertPayloadError extends Error {
  override readonly name = 'AlertPayloadError';
}

const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Parses a Lambda event. An event that is not one of the three kinds throws AlertPayloadError; inside an
 * SNS batch each bad message is reported in `rejected` and the good ones are still acted on.
 */
export function parseRemediationEvent(
  event: unknown,
  trust: { alarmArnPrefix: string | undefined },
): RemediationEvent {
  if (!isObject(event)) throw new AlertPayloadError('the event must be a JSON object');
  if (Array.isArray(event.Records)) return parseSnsRecords(event.Records);
  const detailType = event['detail-type'];
  if (detailType === 'Scheduled Event' && event.source === 'aws.events') {
    const at = typeof event.time === 'string' ? Date.parse(event.time) : NaN;
    if (Number.isNaN(at)) throw new AlertPayloadError('the scheduled event has no valid "time"');
    return { kind: 'scheduled', at };
  }
  if (detailType === 'CloudWatch Alarm State Change') {
    if (event.source !== 'aws.cloudwatch') {
      throw new AlertPayloadError(
        `a CloudWatch alarm state change must come from aws.cloudwatch, not ${String(event.source)}`,
      );
    }
    const alert = parseAlarmChange(event, trust.alarmArnPrefix);
    return { kind: 'alerts', alerts: alert ? [alert] : [], rejected: [] };
  }
  throw new AlertPayloadError(
    'unknown event: expected SNS records (AMP alert manager), an EventBridge "CloudWatch Alarm State Change" or a "Scheduled Event"',
  );
}

function parseSnsRecords(records: unknown[]): RemediationEvent {
  if (records.length === 0) throw new AlertPayloadError('the SNS event has no records');
  const alerts: Alert[] = [];
  const rejected: string[] = [];
  records.forEach((record, index) => {
    try {
      const sns = isObject(record) ? record.Sns : undefined;
      if (!isObject(sns) || typeof sns.Message !== 'string') {
        throw new AlertPayloadError('not an SNS record (Records[].Sns.Message is missing)');
      }
      if (isOwnAnnouncement(sns.MessageAttributes)) return;
      alerts.push(...parseAlertmanagerMessage(sns.Message));
    } catch (error) {
      if (!(error instanceof AlertPayloadError)) throw error;
      rejected.push(`Records[${index}]: ${error.message}`);
    }
  });
  return { kind: 'alerts', alerts, rejected };
}

/** Announcements carry this message attribute, so a Lambda subscribed to the topic it announces on skips them. */
export const ANNOUNCEMENT_ATTRIBUTE = { name: 'ibcp-message', value: 'remediation-announcement' } as const;

function isOwnAnnouncement(attributes: unknown): boolean {
  const attribute = isObject(attributes) ? attributes[ANNOUNCEMENT_ATTRIBUTE.name] : undefined;
  return isObject(attribute) && attribute.Value === ANNOUNCEMENT_ATTRIBUTE.value;
}

/** The alert manager's notification as the JSON template of docs/remediation.md renders it. */
export function parseAlertmanagerMessage(message: string): Alert[] {
  if (message.length > MAX_MESSAGE_BYTES)
    throw new AlertPayloadError(`the message is larger than ${MAX_MESSAGE_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(message);
  } catch {
    throw new AlertPayloadError(
      "the SNS message is not JSON: configure the alert manager's JSON template (docs/remediation.md); the default plain-text message cannot be parsed safely",
    );
  }
  if (!isObject(body) || !Array.isArray(body.alerts)) {
    throw new AlertPayloadError('the alert manager message must be an object with an "alerts" array');
  }
  if (body.alerts.length === 0) throw new AlertPayloadError('the alert manager message has no alerts');
  return body.alerts.map((raw, index) => parseAlertmanagerAlert(raw, `alerts[${index}]`));
}

function parseAlertmanagerAlert(raw: unknown, where: string): Alert {
  if (!isObject(raw)) throw new AlertPayloadError(`${where} must be an object`);
  const { status, labels, startsAt, endsAt, fingerprint } = raw;
  if (status !== 'firing' && status !== 'resolved') {
    throw new AlertPayloadError(
      `${where}.status must be "firing" or "resolved", got ${JSON.stringify(status)}`,
    );
  }
  const labelMap = stringMap(labels, `${where}.labels`);
  const name = labelMap.alertname;
  if (!name) throw new AlertPayloadError(`${where}.labels.alertname is missing`);
  const start = alertTime(startsAt, `${where}.startsAt`);
  if (start === undefined) throw new AlertPayloadError(`${where}.startsAt is missing`);
  const end = alertTime(endsAt, `${where}.endsAt`);
  if (status === 'resolved' && end === undefined) {
    throw new AlertPayloadError(`${where}.endsAt must say when a resolved alert ended`);
  }
  const identity =
    typeof fingerprint === 'string' && fingerprint !== '' ? fingerprint : sortedLabels(labelMap);
  return {
    name,
    status,
    labels: labelMap,
    startsAt: start,
    endsAt: status === 'resolved' ? end : undefined,
    episode: `${identity}@${new Date(start).toISOString()}`,
    source: 'alertmanager',
  };
}

/**
 * Times as Alertmanager writes them: RFC 3339 in its webhook, Go's `time.Time` String() when a template
 * prints `.StartsAt` (`2026-11-27 15:04:05.123 +0000 UTC`, maybe with ` m=+1.2`). The zero time is absent.
 */
function alertTime(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AlertPayloadError(`${where} must be a time string`);
  const go =
    /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ([+-]\d{2})(\d{2}) [A-Za-z0-9+-]+(?: m=[+-][0-9.]+)?$/.exec(
      value,
    );
  const iso = go ? `${go[1]}T${go[2]}${go[3]}:${go[4]}` : value;
  const ms = Date.parse(iso);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(iso) || Number.isNaN(ms)) {
    throw new AlertPayloadError(`${where} is not a time: ${JSON.stringify(value.slice(0, 60))}`);
  }
  return ms <= 0 ? undefined : ms;
}

/**
 * Only alarms whose ARN starts with the trusted prefix (this stack's account, region and alarm name
 * prefix) are alerts; none without one. After the prefix, the alarm name starts with the alert it stands
 * for: `<prefix>GPUMemoryUsageHigh` or `<prefix>GPUMemoryUsageHigh-ml-moe-trainer`.
 */
function parseAlarmChange(event: Record<string, unknown>, arnPrefix: string | undefined): Alert | undefined {
  const detail = event.detail;
  if (!isObject(detail)) throw new AlertPayloadError('the alarm state change has no "detail"');
  const { alarmName, state, configuration, alarmTags } = detail;
  if (typeof alarmName !== 'string' || alarmName === '') {
    throw new AlertPayloadError('detail.alarmName is missing');
  }
  const resources = Array.isArray(event.resources) ? event.resources : [];
  const arn = resources[0];
  if (
    !arnPrefix ||
    typeof arn !== 'string' ||
    !arn.startsWith(arnPrefix) ||
    !arn.endsWith(`:alarm:${alarmName}`)
  ) {
    throw new AlertPayloadError(
      `alarm ${JSON.stringify(alarmName.slice(0, 200))} is not one of this stack's (its ARN must start with ${arnPrefix ?? '(no trusted prefix configured)'})`,
    );
  }
  const alarmNamePrefix = arnPrefix.slice(arnPrefix.indexOf(':alarm:') + ':alarm:'.length);
  if (!isObject(state) || typeof state.value !== 'string') {
    throw new AlertPayloadError('detail.state.value is missing');
  }
  if (state.value !== 'ALARM' && state.value !== 'OK') return undefined; // INSUFFICIENT_DATA says nothing
  const at = cloudWatchTime(state.timestamp, 'detail.state.timestamp');
  const previous = isObject(detail.previousState) ? detail.previousState : {};
  const unprefixed = alarmName.slice(alarmNamePrefix.length);
  const name = /^[A-Za-z0-9]+/.exec(unprefixed)?.[0] ?? unprefixed;
  const labels: Record<string, string> = { alertname: name, ...dimensionsOf(configuration) };
  if (alarmTags !== undefined) Object.assign(labels, stringMap(alarmTags, 'detail.alarmTags'));
  const firing = state.value === 'ALARM';
  const startsAt = firing
    ? at
    : previous.value === 'ALARM' && previous.timestamp !== undefined
      ? cloudWatchTime(previous.timestamp, 'detail.previousState.timestamp')
      : at;
  return {
    name,
    status: firing ? 'firing' : 'resolved',
    labels,
    startsAt,
    endsAt: firing ? undefined : at,
    episode: `${arn}@${new Date(startsAt).toISOString()}`,
    source: 'cloudwatch',
  };
}

/** The metric's dimensions, lower-cased; Container Insights' `PodName` becomes `pod`. */
function dimensionsOf(configuration: unknown): Record<string, string> {
  const metrics =
    isObject(configuration) && Array.isArray(configuration.metrics) ? configuration.metrics : [];
  const labels: Record<string, string> = {};
  for (const metric of metrics) {
    const dimensions =
      isObject(metric) && isObject(metric.metricStat) && isObject(metric.metricStat.metric)
        ? metric.metricStat.metric.dimensions
        : undefined;
    if (!isObject(dimensions)) continue;
    for (const [key, value] of Object.entries(dimensions)) {
      if (typeof value !== 'string') continue;
      labels[key === 'PodName' ? 'pod' : key.toLowerCase()] = value;
    }
  }
  return labels;
}

/** CloudWatch writes `2026-11-27T15:04:05.123+0000`; the offset gets its colon back. */
function cloudWatchTime(value: unknown, where: string): number {
  const text = typeof value === 'string' ? value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : '';
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AlertPayloadError(`${where} is not a time: ${JSON.stringify(value)}`);
  return ms;
}

function stringMap(value: unknown, where: string): Record<string, string> {
  if (!isObject(value)) throw new AlertPayloadError(`${where} must be an object of strings`);
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw new AlertPayloadError(`${where}.${key} must be a string`);
  }
  return value as Record<string, string>;
}

function sortedLabels(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
}
