import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AdmissionWebhookEndpoint, WEBHOOK_RATE_RULE } from './admission-webhook-endpoint.js';
import { ClusterAccess, kubernetesInstallCommands } from './cluster-access.js';
import type { ClusterConfig } from './clusters-config.js';
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

/** What one governed cluster has of its own: Lambdas, schedule, bus, webhook endpoint and secret. */
export interface GovernedCluster {
  config: ClusterConfig;
  /** Set with several clusters, except on the first: names of its resources (APIs, web ACL) carry it. */
  nameSuffix: string | undefined;
  eventBus: EventBus;
  webhookSecret: ISecret;
  functions: ControlPlaneFunctions;
  schedule: ReconcileSchedule;
  webhookEndpoint: AdmissionWebhookEndpoint;
}

interface GovernedClusterOptions {
  scope: Construct;
  ledgerKeys: 'legacy' | 'cluster';
  key: Key;
  network: LambdaNetwork | undefined;
  nameSuffix: string | undefined;
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
  /** Each governed cluster's own resources; the first is also `functions`, `schedule`, `eventBus`... */
  readonly clusters: GovernedCluster[];

  constructor(scope: Construct, id: string, props: InferenceBudgetStackProps) {
    super(scope, id, props);
    const { config } = props;
    const key = new Key(this, 'DataKey', {
      description: 'Encrypts the inference budget ledger and the webhook secret',
      enableKeyRotation: true,
    });
    this.ledger = new LedgerTable(this, 'Ledger', { key });
    this.onCall = new OnCallTopic(this, 'OnCall', { emails: config.onCallEmails, urls: config.onCallUrls });
    this.prometheus = new PrometheusWorkspace(this, 'Prometheus', {
      ...(config.ampWorkspaceArn && { existingWorkspaceArn: config.ampWorkspaceArn }),
      alertTopic: this.onCall.topic,
    });
    const network = config.vpc && new LambdaNetwork(this, 'Network', config.vpc);

    // The first cluster's resources keep the single-cluster stack's construct ids (and so its resources);
    // every other cluster's live under `Cluster-<name>`, with their names carrying the cluster's.
    const multiCluster = config.clusters.length > 1;
    this.clusters = config.clusters.map((cluster, index) =>
      this.governCluster(config, cluster, {
        scope: index === 0 ? this : new Construct(this, `Cluster-${cluster.name}`),
        ledgerKeys: index === 0 ? 'legacy' : 'cluster',
        key,
        network,
        nameSuffix: multiCluster && index > 0 ? cluster.name : undefined,
      }),
    );
    const [home] = this.clusters;
    this.eventBus = home!.eventBus;
    this.webhookSecret = home!.webhookSecret;
    this.functions = home!.functions;
    this.schedule = home!.schedule;
    this.webhookEndpoint = home!.webhookEndpoint;
    this.warmUpApi = new WarmUpRestApi(this, 'WarmUpApi', {
      handler: this.functions.warmUpApi,
      clusters: this.clusters.map((cluster) => ({
        name: cluster.config.name,
        handler: cluster.functions.warmUpApi,
      })),
    });

    const apis = [this.warmUpApi.api, ...this.clusters.map((cluster) => cluster.webhookEndpoint.api)];
    // With several clusters every per-cluster alarm's name carries its cluster; alone, names are unchanged.
    const clusterAlarms = this.clusters.map((cluster) => ({
      subject: multiCluster ? cluster.config.name : undefined,
      cluster: cluster.config.name,
      pools: cluster.config.pools.map((pool) => pool.name),
      functions: cluster.functions.all,
      reconcileFailures: cluster.functions.reconcileFailures,
      webhook: {
        api: cluster.webhookEndpoint.api,
        webAcl: cluster.webhookEndpoint.webAcl,
        rateRule: WEBHOOK_RATE_RULE,
      },
    }));
    this.alarms = new ControlPlaneAlarms(this, 'Alarms', {
      clusters: clusterAlarms,
      scheduleMinutes: config.scheduleMinutes,
      warmUpApi: this.warmUpApi.api,
      ledgerTable: this.ledger.table,
      onCallTopic: this.onCall.topic,
      runbookBaseUrl: config.runbookBaseUrl,
    });
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      clusters: clusterAlarms,
      apis,
      ledgerTable: this.ledger.table,
      alarms: this.alarms.alarms.map(({ alarm }) => alarm),
    });

    // Named outputs replace the APIs' own `Endpoint<hash>` ones, so docs and scripts can refer to them.
    for (const api of apis) api.node.tryRemoveChild('Endpoint');
    new CfnOutput(this, 'WarmUpApiUrl', {
      description: 'Warm-up API base URL (SigV4, service execute-api)',
      value: this.warmUpApi.api.url,
    });
    for (const cluster of this.clusters) {
      // The first cluster's outputs keep their single-cluster names; the others' end in the cluster's.
      const suffix = cluster.nameSuffix ? outputSuffix(cluster.nameSuffix) : '';
      const which = multiCluster ? ` of cluster ${cluster.config.name}` : '';
      new CfnOutput(this, `WebhookBaseUrl${suffix}`, {
        description: `Admission webhook URL${which} before its secret: <this>webhook/<secret> (docs/webhook.md)`,
        value: cluster.webhookEndpoint.baseUrl,
      });
      new CfnOutput(this, `KubernetesInstall${suffix}`, {
        description: `Run from the repository folder against cluster ${cluster.config.name}: the CRD, RBAC and admission policy this stack needs (docs/deploy.md)`,
        value: kubernetesInstallCommands(cluster.config.namespaces).join(' && '),
      });
      new CfnOutput(this, `WebhookSecretArn${suffix}`, {
        ...(which && { description: `The webhook path secret${which}` }),
        value: cluster.webhookSecret.secretArn,
      });
    }
    new CfnOutput(this, 'OnCallTopicArn', { value: this.onCall.topic.topicArn });
    new CfnOutput(this, 'PrometheusWorkspaceArn', { value: this.prometheus.workspaceArn });
    new CfnOutput(this, 'LedgerTableName', { value: this.ledger.table.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
  }

  /** One cluster's Lambdas, schedule, bus, webhook endpoint and secret, and its EKS access entries. */
  private governCluster(
    config: ControlPlaneConfig,
    cluster: ClusterConfig,
    options: GovernedClusterOptions,
  ): GovernedCluster {
    const { scope, key, network } = options;
    const eventBus = new EventBus(scope, 'ReconcileBus', {
      description: `InferenceModel changed: reconcile requests from the webhook and the warm-up API (cluster ${cluster.name})`,
    });
    const webhookSecret = cluster.webhookSecretArn
      ? Secret.fromSecretCompleteArn(scope, 'WebhookSecret', cluster.webhookSecretArn)
      : new Secret(scope, 'WebhookSecret', {
          description: `The admission webhook path secret of cluster ${cluster.name} (docs/webhook.md)`,
          encryptionKey: key,
          // A URL path segment: at least 32 characters of A-Z a-z 0-9.
          generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
          removalPolicy: RemovalPolicy.RETAIN,
        });
    acknowledge(
      webhookSecret,
      "The secret is also in the API server's webhook configurations, so it is rotated by the procedure in docs/deploy.md, not on a timer.",
      'SMG4',
    );
    const functions = new ControlPlaneFunctions(scope, 'Functions', {
      ledgerTable: this.ledger.table,
      clusterName: cluster.name,
      ledgerKeys: options.ledgerKeys,
      governedClusters: config.clusters.map((governed) => governed.name),
      pools: cluster.pools,
      scheduleMinutes: config.scheduleMinutes,
      eventBus,
      webhookSecret,
      onCallTopic: this.onCall.topic,
      remediationEnvironment: config.remediationEnvironment,
      // Metrics go to the workspace and recommendations read from it, unless URLs point elsewhere.
      remoteWriteUrl: config.remoteWriteUrl ?? `${this.prometheus.endpoint}api/v1/remote_write`,
      prometheusQueryUrl: config.prometheusQueryUrl ?? this.prometheus.endpoint,
      ampWorkspaceArn: this.prometheus.workspaceArn,
      namespaces: cluster.namespaces,
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
    const schedule = new ReconcileSchedule(scope, 'Schedule', {
      scheduled: functions.reconcileScheduled,
      perModel: functions.reconcileModel,
      eventBus,
      scheduleMinutes: config.scheduleMinutes,
    });
    new RemediationTriggers(scope, 'RemediationTriggers', {
      remediation: functions.remediation,
      alertTopic: this.onCall.topic,
    });
    new ClusterAccess(scope, 'ClusterAccess', {
      clusterName: cluster.name,
      functions: {
        reconcile: [functions.reconcileScheduled, functions.reconcileModel],
        warmUp: [functions.warmUpApi],
        remediation: [functions.remediation],
        webhook: [functions.admissionWebhook],
      },
    });
    const securityGroup = cluster.clusterSecurityGroupId ?? config.vpc?.clusterSecurityGroupId;
    const webhookEndpoint = new AdmissionWebhookEndpoint(scope, 'WebhookEndpoint', {
      handler: functions.admissionWebhook,
      ...(options.nameSuffix && { cluster: options.nameSuffix }),
      // config.ts has checked that the private endpoint has its VPC and cluster security group.
      access:
        config.webhookEndpoint === 'private' && network && securityGroup
          ? {
              type: 'private',
              vpc: network.vpc,
              subnets: network.subnets,
              clusterSecurityGroupId: securityGroup,
            }
          : { type: 'public' },
    });
    return {
      config: cluster,
      nameSuffix: options.nameSuffix,
      eventBus,
      webhookSecret,
      functions,
      schedule,
      webhookEndpoint,
    };
  }
}

/** A cluster name as the end of an output's name (letters and digits only). */
function outputSuffix(cluster: string): string {
  return cluster.replace(/[^A-Za-z0-9]/g, '');
}

function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
