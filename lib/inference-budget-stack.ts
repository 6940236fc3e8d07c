import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AdmissionWebhookEndpoint, WEBHOOK_RATE_RULE } from './admission-webhook-endpoint.js';
import { ClusterAccess, kubernetesInstallCommands } from './cluster-access.js';
import type { ControlPlaneConfig } from './config.js';
import { ControlPlaneAlarms } from './control-plane-alarms.js';
import { ControlPlaneFunctions } from './control-plane-functions.js';
import { LambdaNetwork } from './lambda-network.js';
import { LedgerTable } from './ledger-table.js';
import { acknowledge } from './nag-acknowledgements.js';
import { OnCallTopic } from './on-call-topic.js';
import { OperationsDashboard } from './operations-dashboard.js';
import { PrometheusWorkspace } from './prometheus-workspace.js';
import { ReconcileSchedule } from './reconcile-schedule.js';
import { RemediationTriggers } from './remediation-triggers.js';
import { WarmUpRestApi } from './warm-up-rest-api.js';

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
  readonly warmUpApi: WarmUpRestApi;
  readonly webhookEndpoint: AdmissionWebhookEndpoint;
  readonly prometheus: PrometheusWorkspace;
  readonly alarms: ControlPlaneAlarms;
  readonly dashboard: OperationsDashboard;

  constructor(scope: Construct, id: string, props: InferenceBudgetStackProps) {
    super(scope, id, props);
    const { config } = props;
    const key = new Key(this, 'DataKey', {
      description: 'Encrypts the inference budget ledger and the webhook secret',
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
    acknowledge(
      this.webhookSecret,
      "The secret is also in the API server's webhook configurations, so it is rotated by the procedure in docs/deploy.md, not on a timer.",
      'SMG4',
    );
    this.onCall = new OnCallTopic(this, 'OnCall', { emails: config.onCallEmails, urls: config.onCallUrls });
    this.prometheus = new PrometheusWorkspace(this, 'Prometheus', {
      ...(config.ampWorkspaceArn && { existingWorkspaceArn: config.ampWorkspaceArn }),
      alertTopic: this.onCall.topic,
    });
    const network = config.vpc && new LambdaNetwork(this, 'Network', config.vpc);

    this.functions = new ControlPlaneFunctions(this, 'Functions', {
      ledgerTable: this.ledger.table,
      clusterName: config.clusterName,
      pools: config.pools,
      scheduleMinutes: config.scheduleMinutes,
      eventBus: this.eventBus,
      webhookSecret: this.webhookSecret,
      onCallTopic: this.onCall.topic,
      remediationEnvironment: config.remediationEnvironment,
      // Metrics go to the workspace and recommendations read from it, unless URLs point elsewhere.
      remoteWriteUrl: config.remoteWriteUrl ?? `${this.prometheus.endpoint}api/v1/remote_write`,
      prometheusQueryUrl: config.prometheusQueryUrl ?? this.prometheus.endpoint,
      ampWorkspaceArn: this.prometheus.workspaceArn,
      namespaces: config.namespaces,
      ...(network && { network }),
      ...defined({
        controlPlaneName: config.controlPlaneName,
        orphanGraceSeconds: config.orphanGraceSeconds,
        recommendationWindowSeconds: config.recommendationWindowSeconds,
        scaleInStabilisationSeconds: config.scaleInStabilisationSeconds,
        startDeadlineSeconds: config.startDeadlineSeconds,
        runbookBaseUrl: config.runbookBaseUrl,
      }),
    });
    this.schedule = new ReconcileSchedule(this, 'Schedule', {
      scheduled: this.functions.reconcileScheduled,
      perModel: this.functions.reconcileModel,
      eventBus: this.eventBus,
      scheduleMinutes: config.scheduleMinutes,
    });
    new RemediationTriggers(this, 'RemediationTriggers', {
      remediation: this.functions.remediation,
      alertTopic: this.onCall.topic,
    });
    new ClusterAccess(this, 'ClusterAccess', {
      clusterName: config.clusterName,
      functions: {
        reconcile: [this.functions.reconcileScheduled, this.functions.reconcileModel],
        warmUp: [this.functions.warmUpApi],
        remediation: [this.functions.remediation],
        webhook: [this.functions.admissionWebhook],
      },
    });
    this.warmUpApi = new WarmUpRestApi(this, 'WarmUpApi', { handler: this.functions.warmUpApi });
    this.webhookEndpoint = new AdmissionWebhookEndpoint(this, 'WebhookEndpoint', {
      handler: this.functions.admissionWebhook,
      // config.ts has checked that the private endpoint has its VPC and cluster security group.
      access:
        config.webhookEndpoint === 'private' && network && config.vpc?.clusterSecurityGroupId
          ? {
              type: 'private',
              vpc: network.vpc,
              subnets: network.subnets,
              clusterSecurityGroupId: config.vpc.clusterSecurityGroupId,
            }
          : { type: 'public' },
    });

    const pools = config.pools.map((pool) => pool.name);
    const apis = [this.warmUpApi.api, this.webhookEndpoint.api];
    this.alarms = new ControlPlaneAlarms(this, 'Alarms', {
      pools,
      scheduleMinutes: config.scheduleMinutes,
      functions: this.functions.all,
      reconcileFailures: this.functions.reconcileFailures,
      apis,
      webhook: {
        api: this.webhookEndpoint.api,
        webAcl: this.webhookEndpoint.webAcl,
        rateRule: WEBHOOK_RATE_RULE,
      },
      ledgerTable: this.ledger.table,
      onCallTopic: this.onCall.topic,
      runbookBaseUrl: config.runbookBaseUrl,
    });
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      pools,
      functions: this.functions.all,
      apis,
      ledgerTable: this.ledger.table,
      reconcileFailures: this.functions.reconcileFailures,
      alarms: this.alarms.alarms.map(({ alarm }) => alarm),
    });

    // Named outputs replace the APIs' own `Endpoint<hash>` ones, so docs and scripts can refer to them.
    for (const api of apis) api.node.tryRemoveChild('Endpoint');
    new CfnOutput(this, 'WarmUpApiUrl', {
      description: 'Warm-up API base URL (SigV4, service execute-api)',
      value: this.warmUpApi.api.url,
    });
    new CfnOutput(this, 'WebhookBaseUrl', {
      description: 'Admission webhook URL before its secret: <this>webhook/<secret> (docs/webhook.md)',
      value: this.webhookEndpoint.baseUrl,
    });
    new CfnOutput(this, 'KubernetesInstall', {
      description:
        'Run from the repository folder: the CRD, RBAC and admission policy this stack needs (docs/deploy.md)',
      value: kubernetesInstallCommands(config.namespaces).join(' && '),
    });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.webhookSecret.secretArn });
    new CfnOutput(this, 'OnCallTopicArn', { value: this.onCall.topic.topicArn });
    new CfnOutput(this, 'PrometheusWorkspaceArn', { value: this.prometheus.workspaceArn });
    new CfnOutput(this, 'LedgerTableName', { value: this.ledger.table.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
  }
}

function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
