/**
 * The control plane's deployment configuration, read from the CDK context key `inferenceBudget` (an
 * object in cdk.json) or from flat keys such as `-c inferenceBudget.clusterName=gpu-inference`, which win.
 * Every problem is reported at once, each naming its context key, so `cdk synth` fails with a clear message.
 */
export const CONTEXT_KEY = 'inferenceBudget';

export interface ControlPlaneConfig {
  /** The EKS cluster this control plane governs. */
  clusterName: string;
  /** Minutes between scheduled reconcile passes (1 to 60). */
  scheduleMinutes: number;
  /** Email addresses subscribed to the on-call topic. */
  onCallEmails: string[];
  /** HTTPS endpoints (a paging service's webhook) subscribed to the on-call topic. */
  onCallUrls: string[];
  /** Limits the control plane to one namespace; unset, it governs the whole cluster. */
  watchNamespace: string | undefined;
  /** The `control_plane` label on the control plane's own series. */
  controlPlaneName: string | undefined;
  orphanGraceSeconds: number | undefined;
  recommendationWindowSeconds: number | undefined;
  /** Prometheus remote-write URL (AMP or another Prometheus); unset, metrics go to CloudWatch only. */
  remoteWriteUrl: string | undefined;
  /** Prometheus HTTP API with DCGM metrics; unset, no right-sizing recommendations. */
  prometheusQueryUrl: string | undefined;
  /** The AMP workspace the URLs point at; required when one of them is an AMP URL (IAM is scoped to it). */
  ampWorkspaceArn: string | undefined;
  /** An existing Secrets Manager secret holding the webhook path secret; unset, the stack creates one. */
  webhookSecretArn: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const FIELDS = [
  'clusterName',
  'scheduleMinutes',
  'onCallEmails',
  'onCallUrls',
  'watchNamespace',
  'controlPlaneName',
  'orphanGraceSeconds',
  'recommendationWindowSeconds',
  'remoteWriteUrl',
  'prometheusQueryUrl',
  'ampWorkspaceArn',
  'webhookSecretArn',
] as const;

const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const AMP_WORKSPACE_ARN = /^arn:aws[a-z-]*:aps:[a-z0-9-]+:\d{12}:workspace\/ws-[A-Za-z0-9-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

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
    if (flat !== undefined) merged[field] = flat;
  }
  return merged;
}

/** Checks the raw context and returns the typed configuration, or throws a ConfigError listing every problem. */
export function parseConfig(raw: unknown): ControlPlaneConfig {
  const problems: string[] = [];
  const input: Record<string, unknown> =
    raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const fail = (field: string, message: string): undefined => {
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

  let clusterName: string | undefined;
  if (input.clusterName === undefined || input.clusterName === null || input.clusterName === '') {
    fail('clusterName', 'is required: the EKS cluster this control plane governs');
  } else {
    clusterName = text(
      'clusterName',
      EKS_CLUSTER_NAME,
      'an EKS cluster name (letters, digits, - and _, at most 100, starting with a letter or digit)',
    );
  }
  const scheduleMinutes = whole('scheduleMinutes', 1, 60, 'a whole number of minutes from 1 to 60') ?? 1;
  const onCallEmails = list('onCallEmails', (item) => EMAIL.test(item), 'email addresses');
  const onCallUrls = list('onCallUrls', (item) => /^https:\/\/\S+$/.test(item), 'https:// URLs');
  const watchNamespace = text('watchNamespace', DNS_LABEL, 'a Kubernetes namespace name');
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
  const webhookSecretArn = text('webhookSecretArn', SECRET_ARN, 'a Secrets Manager secret ARN');

  for (const [field, value] of [
    ['remoteWriteUrl', remoteWriteUrl],
    ['prometheusQueryUrl', prometheusQueryUrl],
  ] as const) {
    if (value && isAmpUrl(value) && input.ampWorkspaceArn === undefined) {
      fail('ampWorkspaceArn', `is required when "${CONTEXT_KEY}.${field}" is an AMP URL`);
    }
  }

  if (problems.length > 0 || clusterName === undefined) {
    throw new ConfigError(`Invalid control plane configuration:\n  ${problems.join('\n  ')}`);
  }
  return {
    clusterName,
    scheduleMinutes,
    onCallEmails,
    onCallUrls,
    watchNamespace,
    controlPlaneName,
    orphanGraceSeconds,
    recommendationWindowSeconds,
    remoteWriteUrl,
    prometheusQueryUrl,
    ampWorkspaceArn,
    webhookSecretArn,
  };
}

function isAmpUrl(url: string): boolean {
  try {
    return new URL(url).hostname.startsWith('aps-workspaces.');
  } catch {
    return false;
  }
}
