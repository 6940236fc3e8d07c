import { Key } from 'aws-cdk-lib/aws-kms';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SubscriptionProtocol, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface OnCallTopicProps {
  emails?: string[];
  /** HTTPS endpoints, e.g. a paging service's SNS integration URL. */
  urls?: string[];
}

/** The services that publish to the topic and so must use its key: CloudWatch alarms and AMP's alert manager. */
const PUBLISHERS = ['cloudwatch.amazonaws.com', 'aps.amazonaws.com'];

/**
 * The topic that pages on-call: TLS only, encrypted with a key of its own, so that letting the alarm
 * services use it gives them nothing of the ledger's key.
 */
export class OnCallTopic extends Construct {
  readonly topic: Topic;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: OnCallTopicProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Encrypts the inference budget on-call topic',
      enableKeyRotation: true,
    });
    for (const service of PUBLISHERS) {
      this.key.grant(new ServicePrincipal(service), 'kms:Decrypt', 'kms:GenerateDataKey*');
    }
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Inference budget control plane on-call',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails ?? []) this.topic.addSubscription(new EmailSubscription(email));
    for (const url of props.urls ?? []) {
      this.topic.addSubscription(new UrlSubscription(url, { protocol: SubscriptionProtocol.HTTPS }));
    }
  }
}
