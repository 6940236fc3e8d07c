import { join } from 'node:path';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { harnessEnv } from '../../services/service.js';
import { kubectlOk, repoRoot } from '../../services/kubectl.js';
import type { Ledger } from '../../lambdas/core/ledger/ledger.js';
import { Gi } from './builders.js';
import type { IntegrationFixture } from './integration-fixture.js';

export const MOE_EXAMPLES = join(repoRoot, 'examples', 'moe');

/** The pool examples/moe/ runs on: a 480Gi budget in nodes of 640Gi (eight 80Gi GPUs). */
export async function defineMoePool(ledger: Ledger, nodeGroup = 'ng-a100'): Promise<void> {
  await ledger.definePool({ name: 'gpu-a100', totalBytes: 480 * Gi, bytesPerNode: 640 * Gi, nodeGroup });
}

/** Two KWOK nodes of that pool, eight 80Gi GPUs each, named after the file's namespace. */
export async function moeGpuNodes(fixture: IntegrationFixture): Promise<void> {
  for (const n of [0, 1]) {
    await fixture.gpuNode('gpu-a100', { gpus: 8, gpuMemoryGi: 80 }, `${fixture.namespace}-a100-${n}`);
  }
}

/** The examples' trainer holding its 320Gi, as a pass that admitted it leaves the ledger. */
export async function holdTrainerBudget(ledger: Ledger, namespace: string): Promise<void> {
  await ledger.allocate({
    pool: 'gpu-a100',
    holder: `${namespace}/moe-trainer#0`,
    bytes: 320 * Gi,
    now: Date.now(),
  });
}

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

// ---- the on-call topic on moto, read through an SQS subscription ------------------------------------

export interface Announcement {
  subject: string;
  message: string;
  /** The SNS notification as SQS received it (what SNS would also hand a Lambda subscriber as `Records[].Sns`). */
  envelope: Record<string, unknown>;
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
        all.push({ subject: envelope.Subject, message: envelope.Message, envelope });
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
