import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { ControlPlaneConfig } from './config.js';
import { ControlPlaneFunctions } from './control-plane-functions.js';
import { LedgerTable } from './ledger-table.js';
import { OnCallTopic } from './on-call-topic.js';
import { ReconcileSchedule } from './reconcile-schedule.js';

export interface InferenceBudgetStackProps extends StackProps {
  config: ControlPlaneConfig;
}

/** One stack per AWS account: the control plane's resources, one construct per concern. */
export class InferenceBudgetStack extends Stack {
  readonly ledger: LedgerTable;
  readonly functions: ControlPlaneFunctions;
  readonly schedule: ReconcileSchedule;
  readonly onCall: OnCallTopic;
  readonly eventBus: EventBus;
  readonly webhookSecret: ISecret;

  constructor(scope: Construct, id: string, props: InferenceBudgetStackProps) {
    super(scope, id, props);
    const { config } = props;
    const key = new Key(this, 'DataKey', {
      description: 'Encrypts the inference budget ledger, the webhook secret and the on-call topic',
      enableKeyRotation: true,
    });
    this.ledger = new LedgerTable(this, 'Ledger', { key });
    this.eventBus = new EventBus(this, 'ReconcileBus', {
      description: 'InferenceModel changed: reconcile requests from the webhook and the warm-up API',
    });
    this.webhookSecret = config.webhookSecretArn
      ? Secret.fromSecretCompleteArn(this, 'WebhookSecret', config.webhookSecretArn)
      : new Secret(this, 'WebhookSecret', {
          description: 'The admission webhook path secret (docs/webhook.md)',
          encryptionKey: key,
          // A URL path segment: at least 32 characters of A-Z a-z 0-9.
          generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
          removalPolicy: RemovalPolicy.RETAIN,
        });

    this.functions = new ControlPlaneFunctions(this, 'Functions', {
      ledgerTable: this.ledger.table,
      clusterName: config.clusterName,
      eventBus: this.eventBus,
      webhookSecret: this.webhookSecret,
      ...defined({
        watchNamespace: config.watchNamespace,
        controlPlaneName: config.controlPlaneName,
        orphanGraceSeconds: config.orphanGraceSeconds,
        recommendationWindowSeconds: config.recommendationWindowSeconds,
        remoteWriteUrl: config.remoteWriteUrl,
        prometheusQueryUrl: config.prometheusQueryUrl,
        ampWorkspaceArn: config.ampWorkspaceArn,
      }),
    });
    this.schedule = new ReconcileSchedule(this, 'Schedule', {
      scheduled: this.functions.reconcileScheduled,
      perModel: this.functions.reconcileModel,
      eventBus: this.eventBus,
      scheduleMinutes: config.scheduleMinutes,
    });
    this.onCall = new OnCallTopic(this, 'OnCall', {
      key,
      emails: config.onCallEmails,
      urls: config.onCallUrls,
    });
  }
}

function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
