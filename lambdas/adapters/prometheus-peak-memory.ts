import type { SignatureV4 } from '@smithy/signature-v4';
import type { PeakMemorySource } from '../core/recommendations/observe.js';
import { holderOf, type ModelRef } from '../core/inference-model.js';
import { awsSigner, type SigningCredentials } from './sigv4.js';

/** dcgm-exporter's framebuffer memory in use, in MiB, one series per GPU. */
export const DCGM_FB_USED = 'DCGM_FI_DEV_FB_USED';
/** Resolution of the per-pod sum inside the window: dcgm-exporter collects every 30 s by default. */
export const SUBQUERY_STEP_SECONDS = 30;
export const QUERY_TIMEOUT_MS = 5_000;
const MiB = 2 ** 20;

export interface PrometheusPeakMemoryOptions {
  /**
   * The Prometheus HTTP API's base: `http://prometheus:9090`, or an AMP workspace,
   * `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>`. `/api/v1/query` is appended.
   */
  url: string;
  /** When set, every request is SigV4-signed for AMP (service `aps`) in this region. */
  region?: string;
  /** Signing credentials (with `region`); default: the SDK's default provider chain. */
  credentials?: SigningCredentials;
  fetch?: typeof fetch;
  /** Abandons a query after this long; default 5 s (also sent to Prometheus as its `timeout`). */
  timeoutMs?: number;
}

/**
 * Peak GPU memory per model from DCGM, on the Prometheus HTTP API (an instant query, `POST /api/v1/query`).
 * The query (see `peakMemoryQuery`) sums each pod's GPUs at each 30 s step of the window and takes the
 * highest sum; pods are then attributed to models by name (see `ownerOfPod`), and a model's peak is the
 * highest of its pods' (a rollout's old and new pod are never added together).
 */
export class PrometheusPeakMemory implements PeakMemorySource {
  private readonly endpoint: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: PrometheusPeakMemoryOptions) {
    const base = new URL(options.url);
    this.endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/query`, base);
    this.signer =
      options.region === undefined ? undefined : awsSigner('aps', options.region, options.credentials);
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? QUERY_TIMEOUT_MS;
  }

  async peakBytes(
    models: readonly ModelRef[],
    windowSeconds: number,
    atMs: number,
  ): Promise<Map<string, number>> {
    const peaks = new Map<string, number>();
    if (models.length === 0) return peaks;
    const namespaces = [...new Set(models.map((m) => m.namespace))].sort();
    const result = await this.query(peakMemoryQuery(namespaces, windowSeconds), atMs);
    const byNamespace = namesByNamespace(models);
    for (const { metric, value } of result) {
      const mebibytes = Number(value[1]);
      const namespace = metric.namespace ?? '';
      const model = ownerOfPod(metric.pod ?? '', byNamespace.get(namespace) ?? new Set());
      if (model === undefined || !Number.isFinite(mebibytes) || mebibytes < 0) continue;
      const holder = holderOf({ namespace, name: model });
      const bytes = Math.round(mebibytes * MiB);
      peaks.set(holder, Math.max(peaks.get(holder) ?? 0, bytes));
    }
    return peaks;
  }

  private async query(promql: string, atMs: number): Promise<VectorSample[]> {
    const body = new URLSearchParams({
      query: promql,
      time: (atMs / 1000).toFixed(3),
      timeout: `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s`,
    }).toString();
    const headers = await this.headers(body);
    let status: number;
    let text: string;
    try {
      const response = await this.fetch(this.endpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      // A DOMException, which is not an Error in every realm: known by its name.
      if ((error as { name?: unknown } | null)?.name === 'TimeoutError') {
        throw new Error(`Prometheus query at ${this.endpoint} timed out after ${this.timeoutMs} ms`, {
          cause: error,
        });
      }
      throw error;
    }
    const parsed = parseJson(text) as PrometheusResponse | undefined;
    if (status !== 200 || parsed?.status !== 'success') {
      const reason = parsed?.error ? `${parsed.errorType ?? 'error'}: ${parsed.error}` : text.slice(0, 200);
      throw new Error(`Prometheus query at ${this.endpoint} failed: ${status} ${reason}`);
    }
    if (parsed.data?.resultType !== 'vector' || !Array.isArray(parsed.data.result)) {
      throw new Error(`Prometheus query at ${this.endpoint} returned no vector`);
    }
    return parsed.data.result;
  }

  /** Form-encoded POST (no URL length limit for many namespaces); signed for AMP when a region is set. */
  private async headers(body: string): Promise<Record<string, string>> {
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (!this.signer) return headers;
    const { protocol, hostname, host, port, pathname } = this.endpoint;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol,
      hostname,
      ...(port && { port: Number(port) }),
      path: pathname,
      query: {},
      headers: { ...headers, host },
      body,
    });
    // fetch sets Host itself, from the same URL the signature covers.
    const { host: _host, ...rest } = signed.headers;
    return rest;
  }
}

/**
 * The PromQL for the peak per pod of the given namespaces over the window:
 *
 * ```promql
 * max_over_time((sum by (namespace, pod) (
 *   label_replace(label_replace(
 *     DCGM_FI_DEV_FB_USED{namespace=~"ns"} or DCGM_FI_DEV_FB_USED{exported_namespace=~"ns"},
 *     "namespace", "$1", "exported_namespace", "(.+)"),
 *     "pod", "$1", "exported_pod", "(.+)")
 * ))[3600s:30s])
 * ```
 *
 * dcgm-exporter (Kubernetes mode) labels each GPU's series with the `namespace` and `pod` using it. When
 * Prometheus scrapes it without honorLabels, those labels clash with the target's own and are renamed
 * `exported_namespace` / `exported_pod` (then `namespace` / `pod` name the exporter); label_replace
 * puts the workload's back in `namespace` / `pod`, so both forms give the same answer. The sum adds a pod's
 * GPUs at the same instant (tensor parallelism holds memory on each), and the subquery's maximum takes the
 * highest such sum, not the sum of each GPU's own maximum.
 */
export function peakMemoryQuery(namespaces: readonly string[], windowSeconds: number): string {
  const matcher = JSON.stringify(namespaces.map(escapeRegex).join('|'));
  const selected = `${DCGM_FB_USED}{namespace=~${matcher}} or ${DCGM_FB_USED}{exported_namespace=~${matcher}}`;
  const relabeled =
    `label_replace(label_replace(${selected}, "namespace", "$1", "exported_namespace", "(.+)"), ` +
    `"pod", "$1", "exported_pod", "(.+)")`;
  const window = Math.max(SUBQUERY_STEP_SECONDS, Math.round(windowSeconds));
  return `max_over_time((sum by (namespace, pod) (${relabeled}))[${window}s:${SUBQUERY_STEP_SECONDS}s])`;
}

/**
 * Kubernetes' alphabet for generated name parts (k8s.io/apimachinery/pkg/util/rand: no vowels, no 0, 1
 * or 3), used by both the pod-template-hash and a generated name's 5 random characters.
 */
const GENERATED = '[bcdfghjklmnpqrstvwxz2456789]';
/** `<deployment>-<pod-template-hash>-<5 random>`: the hash is a uint32's decimal digits, so 1 to 10 long. */
const DEPLOYMENT_POD = new RegExp(`^(.+)-${GENERATED}{1,10}-${GENERATED}{5}$`);
/** What follows `<deployment>-` in a cut name: part of the hash, perhaps all of it and its dash. */
const CUT_HASH = new RegExp(`^${GENERATED}{1,10}-?$`);
/** Kubernetes cuts a generateName longer than 58 characters to 58 and adds 5: such a pod name has 63. */
const GENERATED_BASE = 58;
const TRUNCATED_LENGTH = GENERATED_BASE + 5;

/**
 * The model (its Deployment has the model's name) a pod belongs to, among `names`; undefined when none or
 * more than one fits. A pod of Deployment `d` is named `d-<hash>-<xxxxx>` (one parse only: the last two
 * parts hold no dash, and only characters of Kubernetes' generated-name alphabet). When `d-<hash>-` is longer than 58 characters, Kubernetes cuts it to 58 before
 * adding the 5 random ones: a 63-character name is then also compared on that cut prefix.
 */
export function ownerOfPod(pod: string, names: ReadonlySet<string>): string | undefined {
  const candidates = new Set<string>();
  const parsed = DEPLOYMENT_POD.exec(pod)?.[1];
  if (parsed !== undefined && names.has(parsed)) candidates.add(parsed);
  if (pod.length === TRUNCATED_LENGTH) {
    const base = pod.slice(0, GENERATED_BASE);
    for (const name of names) {
      const prefix = `${name}-`;
      const fits =
        prefix.length >= GENERATED_BASE
          ? prefix.startsWith(base)
          : base.startsWith(prefix) && CUT_HASH.test(base.slice(prefix.length));
      if (fits) candidates.add(name);
    }
  }
  return candidates.size === 1 ? [...candidates][0] : undefined;
}

function namesByNamespace(models: readonly ModelRef[]): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const { namespace, name } of models) {
    const names = result.get(namespace) ?? new Set<string>();
    names.add(name);
    result.set(namespace, names);
  }
  return result;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface VectorSample {
  metric: Record<string, string | undefined>;
  value: [number, string];
}

interface PrometheusResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: VectorSample[] };
}
