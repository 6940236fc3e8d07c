import { join } from 'node:path';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { harnessEnv } from '../harness/service.js';
import { kubectlOk, repoRoot } from './kubectl.js';

export const MOE_EXAMPLES = join(repoRoot, 'examples', 'moe');

/** `kubectl apply -f examples/moe/` into a namespace, as the lab would. */
export async function applyMoeExamples(namespace: string): Promise<string> {
  return kubectlOk(['apply', '-n', namespace, '-f', MOE_EXAMPLES]);
}

export async function deploymentJson(namespace: string, name: string) {
  return JSON.parse(await kubectlOk(['get', 'deployment', name, '-n', namespace, '-o', 'json'])) as {
    metadata: { annotations?: Record<string, string>; generation: number };
    spec: {
      replicas: number;
      template: {
        metadata: { annotations?: Record<string, string> };
        spec: { containers: { name: string; env?: { name: string; value: string }[] }[] };
      };
    };
  };
}

export async function configMapData(namespace: string, name: string): Promise<Record<string, string>> {
  const json = JSON.parse(await kubectlOk(['get', 'configmap', name, '-n', namespace, '-o', 'json'])) as {
    data?: Record<string, string>;
  };
  return json.data ?? {};
}

// ---- alert payloads as AMP's alert manager (JSON template) and EventBridge deliver them ------------

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

// ---- the on-call topic on moto, read through an SQS subscription ------------------------------------

export interface Announcement {
  subject: string;
  message: string;
}

export class OnCallTopic {
  private constructor(
    readonly topicArn: string,
    private readonly queueUrl: string,
    private readonly sqs: SQSClient,
    private readonly sns: SNSClient,
  ) {}

  static async create(name: string): Promise<OnCallTopic> {
    const endpoint = harnessEnv('IBCP_MOTO_ENDPOINT');
    const sns = new SNSClient({ endpoint, region: 'us-east-1' });
    const sqs = new SQSClient({ endpoint, region: 'us-east-1' });
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-inbox` }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn }));
    return new OnCallTopic(TopicArn!, QueueUrl!, sqs, sns);
  }

  /** Everything published since the last call (SNS envelopes unwrapped). */
  async received(waitSeconds = 1): Promise<Announcement[]> {
    const all: Announcement[] = [];
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: all.length === 0 ? waitSeconds : 0,
        }),
      );
      if (Messages.length === 0) return all;
      for (const m of Messages) {
        const envelope = JSON.parse(m.Body!) as { Subject: string; Message: string };
        all.push({ subject: envelope.Subject, message: envelope.Message });
        await this.sqs.send(
          new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: m.ReceiptHandle }),
        );
      }
    }
  }

  destroy(): void {
    this.sqs.destroy();
    this.sns.destroy();
  }
}
