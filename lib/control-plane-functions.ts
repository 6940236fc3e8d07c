import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ControlPlaneFunctionsProps {
  ledgerTable: ITable;
  clusterName: string;
  /** The bus carrying `InferenceModel changed` reconcile requests. */
  eventBus: IEventBus;
  /** The webhook's path secret. */
  webhookSecret: ISecret;
  watchNamespace?: string;
  controlPlaneName?: string;
  orphanGraceSeconds?: number;
  recommendationWindowSeconds?: number;
  remoteWriteUrl?: string;
  prometheusQueryUrl?: string;
  /** Scopes `aps:RemoteWrite` / `aps:QueryMetrics`; without it no AMP permission is granted. */
  ampWorkspaceArn?: string;
  logRetention?: RetentionDays;
}

const handlers = fileURLToPath(new URL('../lambdas/handlers/', import.meta.url));

/**
 * The control plane's four Lambdas (docs/reconciler.md, docs/warmup-api.md, docs/webhook.md), bundled
 * locally with esbuild as ES modules, each with only the permissions its handler uses.
 */
export class ControlPlaneFunctions extends Construct {
  readonly reconcileScheduled: NodejsFunction;
  readonly reconcileModel: NodejsFunction;
  readonly warmUpApi: NodejsFunction;
  readonly admissionWebhook: NodejsFunction;
  /** Failed asynchronous reconcile invocations (after Lambda's retries). */
  readonly reconcileFailures: Queue;

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

    const kubernetesEnv: Record<string, string> = {
      LEDGER_TABLE: props.ledgerTable.tableName,
      EKS_CLUSTER_NAME: props.clusterName,
      EVENT_BUS_NAME: props.eventBus.eventBusName,
      ...optional('WATCH_NAMESPACE', props.watchNamespace),
      ...optional('CONTROL_PLANE_NAME', props.controlPlaneName),
      ...optional('ORPHAN_GRACE_SECONDS', props.orphanGraceSeconds),
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
        bundling: {
          // The SDK versions the handlers were tested with, not whatever the runtime ships.
          bundleAwsSDK: true,
          forceDockerBundling: false,
          format: OutputFormat.ESM,
          target: 'node22',
          mainFields: ['module', 'main'],
          minify: true,
          sourceMap: true,
          // CommonJS dependencies bundled into an ES module still call `require` for Node built-ins.
          banner:
            "import { createRequire as __ibcpCreateRequire } from 'node:module'; const require = __ibcpCreateRequire(import.meta.url);",
        },
        ...extra,
        environment: { NODE_OPTIONS: '--enable-source-maps', ...extra.environment },
      });

    this.reconcileScheduled = make('ReconcileScheduled', 'reconcile-scheduled.ts', {
      description: 'Scheduled reconcile pass over every InferenceModel',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      // Passes must never overlap.
      reservedConcurrentExecutions: 1,
      // A failed pass is not retried: the next scheduled pass starts fresh.
      retryAttempts: 0,
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
      timeout: Duration.seconds(30),
      environment: { ...kubernetesEnv, ...optional('AMP_REMOTE_WRITE_URL', props.remoteWriteUrl) },
    });
    this.admissionWebhook = make('AdmissionWebhook', 'admission-webhook.ts', {
      description: 'InferenceModel admission webhook',
      timeout: Duration.seconds(10),
      environment: {
        LEDGER_TABLE: props.ledgerTable.tableName,
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn,
      },
    });

    // Ledger: the reconcilers and the warm-up API write (allocations, activity, metric counters); the
    // webhook only reads one pool. The grants include the table's KMS key.
    props.ledgerTable.grantReadWriteData(this.reconcileScheduled);
    props.ledgerTable.grantReadWriteData(this.reconcileModel);
    props.ledgerTable.grantReadWriteData(this.warmUpApi);
    props.ledgerTable.grantReadData(this.admissionWebhook);

    // Kubernetes access: the cluster's endpoint and CA; the token is a presigned STS call (no IAM).
    const describeCluster = new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['eks:DescribeCluster'],
      resources: [clusterArn],
    });
    for (const fn of [this.reconcileScheduled, this.reconcileModel, this.warmUpApi]) {
      fn.addToRolePolicy(describeCluster);
    }

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

function optional(name: string, value: string | number | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: String(value) };
}
