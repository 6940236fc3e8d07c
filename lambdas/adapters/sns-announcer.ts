import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ANNOUNCEMENT_ATTRIBUTE } from '../core/remediation/alerts.js';
import type { Announcer } from '../core/remediation/ports.js';

/** Announcements on the on-call SNS topic (plain text, for e-mail and chat subscribers alike). */
export class SnsAnnouncer implements Announcer {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async announce(subject: string, message: string): Promise<void> {
    // SNS subjects are ASCII without line breaks, at most 100 characters.
    const safeSubject = subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: safeSubject,
        Message: message,
        // Marks it as ours, so a remediation Lambda subscribed to the same topic skips it.
        MessageAttributes: {
          [ANNOUNCEMENT_ATTRIBUTE.name]: { DataType: 'String', StringValue: ANNOUNCEMENT_ATTRIBUTE.value },
        },
      }),
    );
  }
}
