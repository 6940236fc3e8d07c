import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { SubscriptionProtocol } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface OnCallTopicProps {
  key: IKey;
  emails?: string[];
  /** HTTPS endpoints, e.g. a paging service's SNS integration URL. */
  urls?: string[];
}

/** The topic that pages on-call: encrypted with the stack's key, TLS only. */
export class OnCallTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: OnCallTopicProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Inference budget control plane on-call',
      masterKey: props.key,
      enforceSSL: true,
    });
    for (const email of props.emails ?? []) this.topic.addSubscription(new EmailSubscription(email));
    for (const url of props.urls ?? []) {
      this.topic.addSubscription(new UrlSubscription(url, { protocol: SubscriptionProtocol.HTTPS }));
    }
  }
}
