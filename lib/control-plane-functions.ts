import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import {
  NodejsFunction,
  OutputFormat,
  type BundlingOptions,
  type NodejsFunctionProps,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { NodePoolSetting } from '../lambdas/core/nodes/node-pools.js';
import { acknowledge } from './nag-acknowledgements.js';
import { NODE_BUILTIN_ALIASES } from './node-builtin-aliases.js';

export interface ControlPlaneFunctionsProps {
  ledgerTable: ITable;
  /** The EKS cluster these functions govern (`EKS_CLUSTER_NAME`, and `CLUSTER_NAME`: their ledger scope). */
  clusterName: string;
  /**
   * The cluster's keys in the shared ledger (`LEDGER_KEYS`, docs/ledger.md#clusters): `legacy` for the
   * cluster that keeps the single-cluster keys, `cluster` for every other. Default `legacy`.
   */
  ledgerKeys?: 'legacy' | 'cluster';
  /**
   * With several clusters, all of them, the first keeping the single-cluster keys (`GOVERNED_CLUSTERS`):
   * the warm-up API's `GET /v1/pools` shows every cluster's pools.
   */
  governedClusters?: string[];
  /** Passed to every function as `NODE_POOLS` (JSON): the pools whose budgets the ledger keeps. */
  pools: NodePoolSetting[];
  /** `SCALE_IN_STABILISATION_SECONDS` (docs/node-pools.md); unset, the handlers' default. */
  scaleInStabilisationSeconds?: number;
  /**
   * Minutes between scheduled passes: the warm-up API's Retry-After waits for the pass after a cooldown,
   * and a pass that waited longer than one interval is dropped.
   */
  scheduleMinutes: number;
  /** `START_DEADLINE_SECONDS` (docs/reconciler.md); unset, 15 minutes. */
  startDeadlineSeconds?: number;
  /** Set when the cluster endpoint is private: the functions run in these subnets with this group. */
  network?: { vpc: IVpc; subnets: ISubnet[]; securityGroup: ISecurityGroup };
  /** The bus carrying `InferenceModel changed` reconcile requests. */
  eventBus: IEventBus;
  /** The webhook's path secret. */
  webhookSecret: ISecret;
  /** Where the remediation Lambda announces what it did. */
  onCallTopic: ITopic;
  /** The remediation Lambda's settings (`REMEDIATION_*`, docs/remediation.md). */
  remediationEnvironment?: Record<string, string>;
  /** Prefix of the runbook links in remediation announcements. */
  runbookBaseUrl?: string;
  /** The governed namespaces (namespaced mode), passed as `WATCH_NAMESPACE`; empty: the whole cluster. */
  namespaces?: string[];
  controlPlaneName?: string;
  orphanGraceSeconds?: number;
  recommendationWindowSeconds?: number;
  remoteWriteUrl?: string;
  prometheusQueryUrl?: string;
  /** Scopes `aps:RemoteWrite` / `aps:QueryMetrics`; without it no AMP permission is granted. */
  ampWorkspaceArn?: string;
  logRetention?: RetentionDays;
}

/** The warm-up Lambda's timeout: `?wait` (at most 25 s) plus the handler's reserve for its answer. */
export const WARM_UP_TIMEOUT_SECONDS = 28;

const handlers = fileURLToPath(new URL('../lambdas/handlers/', import.meta.url));

/**
 * Each handler is bundled on its own into one minified ES module holding only what it imports (the
 * handlers import their wiring per outside system, lambdas/handlers/composition-root/). `npm run bench:cold-start`
 * measures the result against an empty handler bundled with these same options.
 */
export const FUNCTION_BUNDLING: BundlingOptions = {
  // The SDK versions the handlers were tested with, not whatever the runtime ships.
  bundleAwsSDK: true,
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  // Positions and names only, not a copy of every source file. No --enable-source-maps: Node would parse
  // the whole map on every cold start; lambdas/handlers/source-mapped-stacks.ts reads it on the first
  // stack trace instead.
  sourceMap: true,
  sourcesContent: false,
  // A deployed function always reaches its cluster through the EKS endpoint (lambdas/adapters/eks-endpoint.ts).
  // Only a kubeconfig file (local mode, the tests' emulator runs) needs client-node's KubeConfig, which
  // lambdas/adapters/kubeconfig-file.ts imports dynamically: left out, it is no part of a bundle.
  externalModules: ['@kubernetes/client-node'],
  esbuildArgs: NODE_BUILTIN_ALIASES,
  // CommonJS dependencies bundled into an ES module still call `require` for Node built-ins (taken without
  // an ES module import of `node:module`, for the reason lib/node-builtin-aliases.ts gives).
  banner: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
};

/**
 * The control plane's five Lambdas (docs/reconciler.md, docs/warmup-api.md, docs/webhook.md, docs/remediation.md), bundled
 * locally with esbuild as ES modules, each with only the permissions its handler uses.
 */
export class ControlPlaneFunctions extends Construct {
  readonly reconcileScheduled: NodejsFunction;
  readonly reconcileModel: NodejsFunction;
  readonly warmUpApi: NodejsFunction;
  readonly admissionWebhook: NodejsFunction;
  readonly remediation: NodejsFunction;
  /** Failed asynchronous reconcile invocations (after Lambda's retries). */
  readonly reconcileFailures: Queue;
  /** The functions that call the Kubernetes API: their roles need a Kubernetes identity. */
  readonly kubernetesClients: NodejsFunction[];
  /** The functions that scale the pools' node groups (docs/node-pools.md). */
  readonly nodeScalers: NodejsFunction[];
  readonly all: NodejsFunction[];

  constructor(scope: Construct, id: string, props: ControlPlaneFunctionsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const clusterArn = stack.formatArn({
      service: 'eks',
      resource: 'cluster',
      resourceName: props.clusterName,
    });

    this.reconcileFailures = new Queue(this, 'ReconcileFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.reconcileFailures,
      'This queue is the dead-letter destination of the reconcile Lambdas; the ReconcileFailuresQueued alarm pages when it holds a message.',
      'SQS3',
    );

    const ledgerScope = {
      CLUSTER_NAME: props.clusterName,
      ...optional('LEDGER_KEYS', props.ledgerKeys === 'cluster' ? 'cluster' : undefined),
    };
    // With several clusters: `GET /v1/pools` shows all of them, and remediation knows an unlabelled alert
    // may be another cluster's.
    const governedClusters = optional(
      'GOVERNED_CLUSTERS',
      (props.governedClusters?.length ?? 0) > 1 ? props.governedClusters!.join(',') : undefined,
    );
    const kubernetesEnv: Record<string, string> = {
      LEDGER_TABLE: props.ledgerTable.tableName,
      EKS_CLUSTER_NAME: props.clusterName,
      ...ledgerScope,
      EVENT_BUS_NAME: props.eventBus.eventBusName,
      NODE_POOLS: JSON.stringify(props.pools),
      ...optional('WATCH_NAMESPACE', props.namespaces?.length ? props.namespaces.join(',') : undefined),
      ...optional('CONTROL_PLANE_NAME', props.controlPlaneName),
      ...optional('ORPHAN_GRACE_SECONDS', props.orphanGraceSeconds),
      ...optional('SCALE_IN_STABILISATION_SECONDS', props.scaleInStabilisationSeconds),
      ...optional('START_DEADLINE_SECONDS', props.startDeadlineSeconds),
      RECONCILE_INTERVAL_SECONDS: String(props.scheduleMinutes * 60),
    };
    const metricsEnv = {
      ...optional('AMP_REMOTE_WRITE_URL', props.remoteWriteUrl),
      ...optional('PROMETHEUS_QUERY_URL', props.prometheusQueryUrl),
      ...optional('RECOMMENDATION_WINDOW_SECONDS', props.recommendationWindowSeconds),
    };

    const make = (name: string, entry: string, extra: Partial<NodejsFunctionProps>): NodejsFunction =>
      new NodejsFunction(this, name, {
        entry: `${handlers}${entry}`,
        handler: 'handler',
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        tracing: Tracing.ACTIVE,
        memorySize: 512,
        logGroup: new LogGroup(this, `${name}Logs`, {
          retention: props.logRetention ?? RetentionDays.ONE_MONTH,
        }),
        bundling: FUNCTION_BUNDLING,
        ...(props.network && {
          vpc: props.network.vpc,
          vpcSubnets: { subnets: props.network.subnets },
          securityGroups: [props.network.securityGroup],
        }),
        ...extra,
      });

    this.reconcileScheduled = make('ReconcileScheduled', 'reconcile-scheduled.ts', {
      description: 'Scheduled reconcile pass over every InferenceModel',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      // Passes must never overlap.
      reservedConcurrentExecutions: 1,
      // A failed pass is not retried: the next scheduled pass starts fresh.
      retryAttempts: 0,
      // Behind reserved concurrency 1 a slow pass makes the next ticks wait in Lambda's async queue (for up
      // to six hours by default); one older than the interval is dropped, since the next tick replaces it.
      maxEventAge: Duration.minutes(props.scheduleMinutes),
      onFailure: new SqsDestination(this.reconcileFailures),
      environment: { ...kubernetesEnv, ...metricsEnv },
    });
    this.reconcileModel = make('ReconcileModel', 'reconcile-model.ts', {
      description: 'Reconciles one InferenceModel on an `InferenceModel changed` event',
      timeout: Duration.minutes(5),
      retryAttempts: 2,
      onFailure: new SqsDestination(this.reconcileFailures),
      environment: kubernetesEnv,
    });
    this.warmUpApi = make('WarmUpApi', 'warmup-api.ts', {
      description: 'Warm-up API: scales cold models up or answers 429',
      // Below API Gateway's 29 s integration timeout: `?wait` ends in the handler's own 503, not a 504.
      timeout: Duration.seconds(WARM_UP_TIMEOUT_SECONDS),
      environment: {
        ...kubernetesEnv,
        ...optional('AMP_REMOTE_WRITE_URL', props.remoteWriteUrl),
        ...governedClusters,
      },
    });
    this.admissionWebhook = make('AdmissionWebhook', 'admission-webhook.ts', {
      description: 'InferenceModel admission webhook',
      timeout: Duration.seconds(10),
      environment: {
        LEDGER_TABLE: props.ledgerTable.tableName,
        // Lists the namespace's InferenceModels for the dependency-cycle check (docs/webhook.md).
        EKS_CLUSTER_NAME: props.clusterName,
        ...ledgerScope,
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        NODE_POOLS: kubernetesEnv.NODE_POOLS!,
        WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn,
      },
    });

    this.remediation = make('Remediation', 'remediation.ts', {
      description: 'Runbook automation for the MoE playbook alerts (docs/remediation.md)',
      // Below the claims' lease (CLAIM_LEASE_MS): an attempt never outlives the claim it holds.
      timeout: Duration.minutes(1),
      // Duplicate deliveries are absorbed by the claims in the ledger (docs/remediation.md).
      retryAttempts: 2,
      // A delivery that failed its retries is kept for on-call, not lost.
      onFailure: new SqsDestination(this.reconcileFailures),
      environment: {
        ...kubernetesEnv,
        ...governedClusters,
        ON_CALL_TOPIC_ARN: props.onCallTopic.topicArn,
        REMEDIATION_ALARM_ARN_PREFIX: remediationAlarmArnPrefix(stack),
        ...props.remediationEnvironment,
        ...optional('REMEDIATION_RUNBOOK_BASE_URL', props.runbookBaseUrl),
      },
    });

    this.nodeScalers = [this.reconcileScheduled, this.reconcileModel, this.warmUpApi];
    this.kubernetesClients = [...this.nodeScalers, this.remediation, this.admissionWebhook];
    this.all = [...this.kubernetesClients];
    const nodeGroupFindings = props.pools.map(
      (pool) =>
        `IAM5[Resource::arn:<AWS::Partition>:eks:${nagValue(stack.region, 'AWS::Region')}:${nagValue(stack.account, 'AWS::AccountId')}:nodegroup/${props.clusterName}/${pool.nodeGroup}/*]`,
    );
    for (const fn of this.all) acknowledgeFunctionFindings(fn, props.network !== undefined);
    for (const fn of this.nodeScalers) {
      acknowledge(
        fn.role!.node.findChild('DefaultPolicy'),
        "A node group's ARN ends in an id EKS assigns at creation: the wildcard stands for that id of the configured group only.",
        ...nodeGroupFindings,
      );
    }

    // Ledger: the reconcilers and the warm-up API write (allocations, activity, metric counters); the
    // webhook only reads one pool. The grants include the table's KMS key.
    props.ledgerTable.grantReadWriteData(this.reconcileScheduled);
    props.ledgerTable.grantReadWriteData(this.reconcileModel);
    props.ledgerTable.grantReadWriteData(this.warmUpApi);
    props.ledgerTable.grantReadData(this.admissionWebhook);
    props.ledgerTable.grantReadWriteData(this.remediation);
    props.onCallTopic.grantPublish(this.remediation);

    // Kubernetes access: the cluster's endpoint and CA; the token is a presigned STS call (no IAM).
    const describeCluster = new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['eks:DescribeCluster'],
      resources: [clusterArn],
    });
    for (const fn of this.kubernetesClients) {
      fn.addToRolePolicy(describeCluster);
    }

    // Node groups (docs/node-pools.md): every Kubernetes-calling function may scale a pool's node group
    // out; only the scheduled pass scales in, one chosen instance at a time, in this cluster's groups.
    const scaleOut = [
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['eks:DescribeNodegroup', 'eks:UpdateNodegroupConfig'],
        resources: props.pools.map((pool) =>
          stack.formatArn({
            service: 'eks',
            resource: 'nodegroup',
            resourceName: `${props.clusterName}/${pool.nodeGroup}/*`,
          }),
        ),
      }),
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['autoscaling:DescribeAutoScalingGroups'],
        resources: ['*'],
      }),
    ];
    for (const fn of this.nodeScalers) scaleOut.forEach((statement) => fn.addToRolePolicy(statement));
    this.reconcileScheduled.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['autoscaling:TerminateInstanceInAutoScalingGroup'],
        resources: ['*'],
        // EKS tags a managed node group's Auto Scaling group with the cluster and the node group's name:
        // only the configured pools' groups, not every group of the cluster.
        conditions: {
          StringEquals: {
            'autoscaling:ResourceTag/eks:cluster-name': props.clusterName,
            'autoscaling:ResourceTag/eks:nodegroup-name': props.pools.map((pool) => pool.nodeGroup),
          },
        },
      }),
    );

    // Reconcile requests go onto the bus.
    props.eventBus.grantPutEventsTo(this.warmUpApi);
    props.eventBus.grantPutEventsTo(this.admissionWebhook);

    props.webhookSecret.grantRead(this.admissionWebhook);

    if (props.ampWorkspaceArn) {
      const remoteWrite = new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['aps:RemoteWrite'],
        resources: [props.ampWorkspaceArn],
      });
      if (props.remoteWriteUrl) {
        this.reconcileScheduled.addToRolePolicy(remoteWrite);
        this.warmUpApi.addToRolePolicy(remoteWrite);
      }
      if (props.prometheusQueryUrl) {
        this.reconcileScheduled.addToRolePolicy(
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['aps:QueryMetrics'],
            resources: [props.ampWorkspaceArn],
          }),
        );
      }
    }
  }
}

function acknowledgeFunctionFindings(fn: NodejsFunction, inVpc: boolean): void {
  acknowledge(fn, 'The product targets Lambda nodejs22.x, the runtime its tests run on.', 'L1');
  const policies = ['AWSLambdaBasicExecutionRole', ...(inVpc ? ['AWSLambdaVPCAccessExecutionRole'] : [])];
  acknowledge(
    fn.role!,
    "Lambda's own managed policies: writing the function's logs, and in a VPC managing its network interfaces.",
    ...policies.map((name) => `IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${name}]`),
  );
  const policy = fn.role!.node.tryFindChild('DefaultPolicy')!;
  acknowledge(
    policy,
    "xray:PutTraceSegments, xray:PutTelemetryRecords and autoscaling:DescribeAutoScalingGroups support no resource-level permissions; autoscaling:TerminateInstanceInAutoScalingGroup is limited to the configured pools' node groups by their eks:cluster-name and eks:nodegroup-name tag conditions.",
    'IAM5[Resource::*]',
  );
  acknowledge(
    policy,
    "DynamoDB's grant on the ledger's customer-managed key, scoped to that one key: these actions have no narrower form.",
    'IAM5[Action::kms:ReEncrypt*]',
    'IAM5[Action::kms:GenerateDataKey*]',
  );
}

/**
 * The CloudWatch alarms the remediation Lambda acts on: this account and region, named after the stack
 * (`<stack>-GPUMemoryUsageHigh-…`), so no alarm of another stack or person is an alert (docs/remediation.md).
 */
export function remediationAlarmArnPrefix(stack: Stack): string {
  return stack.formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: `${stack.stackName}-`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** How cdk-nag prints a stack attribute in a finding: its value, or the pseudo parameter it stands for. */
function nagValue(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

function optional(name: string, value: string | number | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: String(value) };
}
