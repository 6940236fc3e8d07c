/**
 * The control plane's deployment configuration, read from the CDK context key `inferenceBudget` (an
 * object in cdk.json) or from flat keys such as `-c inferenceBudget.clusterName=gpu-inference`, which win.
 * Every problem is reported at once, each naming its context key, so `cdk synth` fails with a clear message.
 */
import { parseClusters, SECURITY_GROUP_ID, type ClusterConfig } from './clusters-config.js';
import { MODE_VARIABLES, remediationConfig, ConfigError as LambdaConfigError } from '../lambdas/config.js';
import { isObject } from '../lambdas/core/json.js';

export const CONTEXT_KEY = 'inferenceBudget';

/** Where the Lambdas run when the cluster's API endpoint is private. */
export interface VpcConfig {
  vpcId: string;
  /** Private subnets with a route to the cluster endpoint and to the AWS APIs (NAT or VPC endpoints). */
  subnetIds: string[];
  /** The cluster security group: the stack lets the Lambdas' group reach it on 443. */
  clusterSecurityGroupId: string | undefined;
}

export interface ControlPlaneConfig {
  /**
   * The EKS clusters this control plane governs, each with its own pools and budgets; at least one. The
   * single-cluster form (`clusterName` + `pools`) is the one-element list.
   */
  clusters: ClusterConfig[];
  /** Minutes between scheduled reconcile passes (1 to 60). */
  scheduleMinutes: number;
  /** Email addresses subscribed to the on-call topic. */
  onCallEmails: string[];
  /** HTTPS endpoints (a paging service's webhook) subscribed to the on-call topic. */
  onCallUrls: string[];
  /** The `control_plane` label on the control plane's own series. */
  controlPlaneName: string | undefined;
  orphanGraceSeconds: number | undefined;
  recommendationWindowSeconds: number | undefined;
  /** Prometheus remote-write URL (AMP or another Prometheus); unset, metrics go to CloudWatch only. */
  remoteWriteUrl: string | undefined;
  /** Prometheus HTTP API with DCGM metrics; unset, no right-sizing recommendations. */
  prometheusQueryUrl: string | undefined;
  /**
   * An existing AMP workspace; unset, the stack creates one. Metrics are written to it and queried from
   * it unless `remoteWriteUrl` / `prometheusQueryUrl` point elsewhere.
   */
  ampWorkspaceArn: string | undefined;
  /** Unset, the Lambdas run outside any VPC (the cluster endpoint must then be public). */
  vpc: VpcConfig | undefined;
  /**
   * `private` (default): the webhook is a private API reached through an execute-api VPC endpoint in `vpc`,
   * which the EKS control plane reaches and the internet does not. `public`: a regional API behind a WAF
   * rate limit, for clusters whose VPC cannot host the endpoint (docs/webhook.md#endpoint).
   */
  webhookEndpoint: WebhookEndpointType;
  /** The remediation Lambda's settings as environment variables (docs/remediation.md); empty: its defaults. */
  remediationEnvironment: Record<string, string>;
  /** How long a GPU node must run no budgeted workload before it is scaled in (SCALE_IN_STABILISATION_SECONDS). */
  scaleInStabilisationSeconds: number | undefined;
  /** How long a model may take to become Ready before its budget is released (START_DEADLINE_SECONDS). */
  startDeadlineSeconds: number | undefined;
  /** Alarm descriptions link `<runbookBaseUrl><alarm>.md`; unset, they name `docs/runbooks/<alarm>.md`. */
  runbookBaseUrl: string | undefined;
}

export type WebhookEndpointType = 'private' | 'public';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const FIELDS = [
  'clusterName',
  'pools',
  'clusters',
  'scheduleMinutes',
  'onCallEmails',
  'onCallUrls',
  'namespaces',
  'watchNamespace',
  'controlPlaneName',
  'orphanGraceSeconds',
  'recommendationWindowSeconds',
  'remoteWriteUrl',
  'prometheusQueryUrl',
  'ampWorkspaceArn',
  'webhookSecretArn',
  'vpc',
  'webhookEndpoint',
  'runbookBaseUrl',
  'scaleInStabilisationSeconds',
  'startDeadlineSeconds',
  'remediation',
] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const AMP_WORKSPACE_ARN = /^arn:aws[a-z-]*:aps:[a-z0-9-]+:\d{12}:workspace\/ws-[A-Za-z0-9-]+$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;

/** Fields that are objects or lists of objects: on the command line they are JSON. */
const STRUCTURED = new Set<string>(['pools', 'clusters', 'vpc', 'remediation']);

function fromJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    // Left as the string: parseConfig then reports the field as malformed.
    return value;
  }
}

/**
 * The context as one object: the `inferenceBudget` object with any flat `inferenceBudget.<field>` keys
 * laid over it. `lookup` is `node.tryGetContext`.
 */
export function contextObject(lookup: (key: string) => unknown): Record<string, unknown> {
  const base = lookup(CONTEXT_KEY);
  const merged: Record<string, unknown> =
    base && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  for (const field of FIELDS) {
    const flat = lookup(`${CONTEXT_KEY}.${field}`);
    if (flat !== undefined) merged[field] = STRUCTURED.has(field) ? fromJson(flat) : flat;
  }
  return merged;
}

/** Checks the raw context and returns the typed configuration, or throws a ConfigError listing every problem. */
export function parseConfig(raw: unknown): ControlPlaneConfig {
  const problems: string[] = [];
  const input: Record<string, unknown> =
    raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const fail: Fail = (field, message) => {
    problems.push(`context "${CONTEXT_KEY}.${field}" ${message}`);
    return undefined;
  };

  for (const key of Object.keys(input)) {
    if (!(FIELDS as readonly string[]).includes(key)) fail(key, `is not a known setting`);
  }

  const text = (field: string, pattern: RegExp, what: string): string | undefined => {
    const value = input[field];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' || !pattern.test(value)) return fail(field, `must be ${what}`);
    return value;
  };
  const whole = (field: string, min: number, max: number, what: string): number | undefined => {
    const value = input[field];
    if (value === undefined || value === null || value === '') return undefined;
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      return fail(field, `must be ${what}, got ${JSON.stringify(value)}`);
    }
    return number;
  };
  const list = (field: string, valid: (item: string) => boolean, what: string): string[] => {
    const value = input[field];
    if (value === undefined || value === null || value === '') return [];
    const items =
      typeof value === 'string'
        ? value.split(',').map((item) => item.trim())
        : Array.isArray(value)
          ? value
          : [];
    if (typeof value !== 'string' && !Array.isArray(value)) {
      fail(field, `must be a list of ${what}`);
      return [];
    }
    const bad = items.filter((item) => typeof item !== 'string' || !valid(item));
    if (bad.length > 0) fail(field, `must be a list of ${what}; not valid: ${JSON.stringify(bad)}`);
    return items as string[];
  };
  const url = (field: string): string | undefined => text(field, /^https?:\/\/\S+$/, 'an http(s) URL');

  const scheduleMinutes = whole('scheduleMinutes', 1, 60, 'a whole number of minutes from 1 to 60') ?? 1;
  const onCallEmails = list('onCallEmails', (item) => EMAIL.test(item), 'email addresses');
  const onCallUrls = list('onCallUrls', (item) => /^https:\/\/\S+$/.test(item), 'https:// URLs');
  const listed = list('namespaces', (item) => DNS_LABEL.test(item), 'Kubernetes namespace names');
  // cdk.json files written before `namespaces` hold `watchNamespace`, one namespace: it still means that.
  const watchNamespace = text('watchNamespace', DNS_LABEL, 'a Kubernetes namespace name');
  if (watchNamespace !== undefined && listed.length > 0)
    fail(
      'watchNamespace',
      'is the older spelling of "namespaces" (one namespace): set one of them, not both',
    );
  const namespaces = watchNamespace === undefined ? listed : [watchNamespace];
  const repeated = namespaces.filter((item, i) => namespaces.indexOf(item) !== i);
  if (repeated.length > 0)
    fail('namespaces', `lists ${JSON.stringify([...new Set(repeated)])} more than once`);
  const controlPlaneName = text('controlPlaneName', /^[A-Za-z0-9_.:-]{1,128}$/, 'a short label value');
  const orphanGraceSeconds = whole('orphanGraceSeconds', 0, 86_400, 'a whole number of seconds up to 86400');
  const recommendationWindowSeconds = whole(
    'recommendationWindowSeconds',
    60,
    90 * 86_400,
    'a whole number of seconds from 60 to 7776000',
  );
  const remoteWriteUrl = url('remoteWriteUrl');
  const prometheusQueryUrl = url('prometheusQueryUrl');
  const ampWorkspaceArn = text('ampWorkspaceArn', AMP_WORKSPACE_ARN, 'an AMP workspace ARN');
  const vpc = parseVpc(input.vpc, fail);
  const clusters = parseClusters(
    input,
    (field) => `${CONTEXT_KEY}.${field}`,
    namespaces,
    fail,
    (problem) => problems.push(problem),
  );
  const webhookEndpoint = parseWebhookEndpoint(
    input.webhookEndpoint,
    input.vpc,
    vpc,
    input.clusters === undefined ? undefined : clusters,
    fail,
  );
  const scaleInStabilisationSeconds = whole(
    'scaleInStabilisationSeconds',
    60,
    86_400,
    'a whole number of seconds from 60 to 86400',
  );
  const startDeadlineSeconds = whole(
    'startDeadlineSeconds',
    60,
    86_400,
    'a whole number of seconds from 60 to 86400',
  );
  const remediationEnvironment = parseRemediation(input.remediation, fail);
  const runbookBaseUrl = text('runbookBaseUrl', /^https:\/\/\S+\/$/, 'an https:// URL ending in /');

  for (const [field, value] of [
    ['remoteWriteUrl', remoteWriteUrl],
    ['prometheusQueryUrl', prometheusQueryUrl],
  ] as const) {
    if (value && isAmpUrl(value) && input.ampWorkspaceArn === undefined) {
      fail('ampWorkspaceArn', `is required when "${CONTEXT_KEY}.${field}" is an AMP URL`);
    }
  }

  if (problems.length > 0) {
    throw new ConfigError(`Invalid control plane configuration:\n  ${problems.join('\n  ')}`);
  }
  return {
    clusters,
    scheduleMinutes,
    onCallEmails,
    onCallUrls,
    controlPlaneName,
    orphanGraceSeconds,
    recommendationWindowSeconds,
    remoteWriteUrl,
    prometheusQueryUrl,
    ampWorkspaceArn,
    vpc,
    webhookEndpoint,
    runbookBaseUrl,
    scaleInStabilisationSeconds,
    startDeadlineSeconds,
    remediationEnvironment,
  };
}

export type Fail = (field: string, message: string) => undefined;

/** `remediation` keys and the variables they set; the playbook alerts' modes come from lambdas/config. */
const REMEDIATION_SETTINGS: Record<string, string> = {
  ...MODE_VARIABLES,
  maxActionsPerHour: 'REMEDIATION_MAX_ACTIONS_PER_HOUR',
  maxActionsPerHourTotal: 'REMEDIATION_MAX_ACTIONS_PER_HOUR_TOTAL',
  batchSizeFloor: 'REMEDIATION_BATCH_SIZE_FLOOR',
  loadBalanceLossCoefMax: 'REMEDIATION_LOAD_BALANCE_LOSS_COEF_MAX',
  latencyScaleBackAfter: 'REMEDIATION_LATENCY_SCALE_BACK_AFTER',
  trainingLossRestart: 'REMEDIATION_TRAINING_LOSS_RESTART',
};

/** Checked by the remediation Lambda's own reader, so synth refuses what its cold start would. */
function parseRemediation(value: unknown, fail: Fail): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  if (!isObject(value)) {
    fail('remediation', `must be an object with any of ${Object.keys(REMEDIATION_SETTINGS).join(', ')}`);
    return {};
  }
  const environment: Record<string, string> = {};
  for (const [key, setting] of Object.entries(value)) {
    const variable = REMEDIATION_SETTINGS[key];
    if (!variable) fail(`remediation.${key}`, 'is not a known setting');
    else if (!['string', 'number', 'boolean'].includes(typeof setting)) {
      fail(`remediation.${key}`, 'must be a string, a number or a boolean');
    } else environment[variable] = String(setting);
  }
  try {
    remediationConfig({ ...environment, ON_CALL_TOPIC_ARN: 'checked-at-synth' });
  } catch (error) {
    if (!(error instanceof LambdaConfigError)) throw error;
    const [key] =
      Object.entries(REMEDIATION_SETTINGS).find(([, variable]) => error.message.includes(variable)) ?? [];
    fail(`remediation${key ? `.${key}` : ''}`, `is not valid: ${error.message}`);
  }
  return environment;
}

function parseVpc(value: unknown, fail: Fail): VpcConfig | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (!isObject(value)) return fail('vpc', 'must be an object {vpcId, subnetIds, clusterSecurityGroupId?}');
  let valid = true;
  const report = (field: string, message: string): void => {
    valid = false;
    fail(`vpc.${field}`, message);
  };
  for (const key of Object.keys(value)) {
    if (!['vpcId', 'subnetIds', 'clusterSecurityGroupId'].includes(key))
      report(key, 'is not a known setting');
  }
  const { vpcId, subnetIds, clusterSecurityGroupId } = value;
  if (typeof vpcId !== 'string' || !VPC_ID.test(vpcId)) report('vpcId', 'must be a VPC id (vpc-…)');
  if (
    !Array.isArray(subnetIds) ||
    subnetIds.length === 0 ||
    subnetIds.some((id) => typeof id !== 'string' || !SUBNET_ID.test(id))
  ) {
    report('subnetIds', 'must be a non-empty list of private subnet ids (subnet-…)');
  }
  if (
    clusterSecurityGroupId !== undefined &&
    (typeof clusterSecurityGroupId !== 'string' || !SECURITY_GROUP_ID.test(clusterSecurityGroupId))
  ) {
    report('clusterSecurityGroupId', 'must be a security group id (sg-…)');
  }
  return valid
    ? {
        vpcId: vpcId as string,
        subnetIds: subnetIds as string[],
        clusterSecurityGroupId: clusterSecurityGroupId as string | undefined,
      }
    : undefined;
}

/**
 * The private endpoint lives in the cluster's VPC and admits the cluster security group (the group of the
 * EKS control plane's network interfaces), so both must be configured; `public` is the explicit opt-out.
 */
function parseWebhookEndpoint(
  value: unknown,
  rawVpc: unknown,
  vpc: VpcConfig | undefined,
  /** The `clusters` list, when the configuration uses it (each cluster may name its own group). */
  clusters: ClusterConfig[] | undefined,
  fail: Fail,
): WebhookEndpointType {
  if (value === undefined || value === null || value === '') value = 'private';
  if (value !== 'private' && value !== 'public') {
    fail('webhookEndpoint', `must be "private" or "public", got ${JSON.stringify(value)}`);
    return 'private';
  }
  // An invalid `vpc` has been reported already.
  const vpcGiven = rawVpc !== undefined && rawVpc !== null && rawVpc !== '';
  if (value === 'private' && !vpcGiven) {
    fail(
      'vpc',
      `is required for the private webhook endpoint (the default): the cluster's VPC, private subnets and cluster security group; or set "${CONTEXT_KEY}.webhookEndpoint" to "public" (docs/webhook.md#endpoint)`,
    );
  } else if (value === 'private' && vpc) {
    const why =
      'is required for the private webhook endpoint (the default): the EKS control plane reaches the endpoint from that group';
    // In the single-cluster form the cluster's group is `vpc.clusterSecurityGroupId`.
    if (!clusters && !vpc.clusterSecurityGroupId) fail('vpc.clusterSecurityGroupId', why);
    clusters?.forEach((cluster, index) => {
      if (!cluster.clusterSecurityGroupId && !vpc.clusterSecurityGroupId) {
        fail(`clusters[${index}].clusterSecurityGroupId`, `(or vpc.clusterSecurityGroupId) ${why}`);
      }
    });
  }
  return value;
}

function isAmpUrl(url: string): boolean {
  try {
    return new URL(url).hostname.startsWith('aps-workspaces.');
  } catch {
    return false;
  }
}
