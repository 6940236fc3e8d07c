// The Kubernetes adapters' transport: JSON over node:https to the API paths they use, nothing else.
// @kubernetes/client-node's generated clients, model serializer and undici weigh about 2 MiB in each
// Lambda bundle and most of its import time; the adapters need some twenty REST calls.
import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';

/** How connections to an API server are secured: its CA, a client certificate and key, a server name. */
type TlsSettings = Pick<AgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

/** What each request to an API server carries. */
interface Credentials {
  tls: TlsSettings;
  /** Authorization (a bearer token), Impersonate-User... */
  headers: Record<string, string>;
}

/**
 * An API server and how to reach it: on EKS its endpoint, CA and a token (eks-endpoint.ts), locally a
 * kubeconfig file (kubeconfig-file.ts).
 */
export interface KubernetesEndpoint {
  /** The API server's URL, e.g. https://ABC.gr7.us-east-1.eks.amazonaws.com. */
  server: string;
  /**
   * Asked before each request, since a kubeconfig's exec plugin renews its token; the TLS settings of
   * the first answer are those of every connection to the endpoint.
   */
  credentials(): Promise<Credentials>;
}

/** A resource type's place in the API: the core group has no group. */
interface ResourceType {
  group?: string;
  version: string;
  plural: string;
}

export const DEPLOYMENTS: ResourceType = { group: 'apps', version: 'v1', plural: 'deployments' };
export const PODS: ResourceType = { version: 'v1', plural: 'pods' };
export const NODES: ResourceType = { version: 'v1', plural: 'nodes' };
export const EVENTS: ResourceType = { version: 'v1', plural: 'events' };
export const CONFIG_MAPS: ResourceType = { version: 'v1', plural: 'configmaps' };

/**
 * The path of a collection (no name) or an object, in one namespace or cluster-wide (no namespace),
 * e.g. /apis/apps/v1/namespaces/team-a/deployments/llama.
 */
export function resourcePath(
  type: ResourceType,
  at: { namespace?: string; name?: string; subresource?: 'status' } = {},
): string {
  const segments = [
    ...(type.group ? ['apis', type.group] : ['api']),
    type.version,
    ...(at.namespace === undefined ? [] : ['namespaces', at.namespace]),
    type.plural,
    ...(at.name === undefined ? [] : [at.name]),
    ...(at.subresource === undefined ? [] : [at.subresource]),
  ];
  return `/${segments.map(encodeURIComponent).join('/')}`;
}

/** labelSelector, fieldSelector, propagationPolicy...; an undefined value is left out. */
type Query = Record<string, string | undefined>;

/**
 * A JSON merge patch (RFC 7386) replaces lists whole; a strategic merge patch merges the lists Kubernetes
 * keys (containers by name) and honours `$patch` directives.
 */
type PatchType = 'merge' | 'strategic';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/** An answer outside 2xx: the HTTP status, and the reason and message of the apiserver's Status. */
export class KubernetesApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubernetesApiError';
  }
}

/** The HTTP status of a KubernetesApiError; undefined for anything else (a network error...). */
export function statusOf(error: unknown): number | undefined {
  return error instanceof KubernetesApiError ? error.status : undefined;
}

/** One keep-alive pool per endpoint, shared by every client on it. */
const agents = new WeakMap<KubernetesEndpoint, Agent>();

/**
 * A request whose connection carries nothing for this long fails rather than holding its Lambda until the
 * Lambda's own timeout: an apiserver streams even a 10,000-object list with no such gap.
 */
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** JSON requests to one API server. `requests` counts HTTP requests, retries included. */
export class KubernetesApi {
  requests = 0;

  constructor(
    private readonly endpoint: KubernetesEndpoint,
    private readonly idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.send('GET', path, query);
  }

  create<T>(path: string, body: object): Promise<T> {
    return this.send('POST', path, undefined, { body, contentType: 'application/json' });
  }

  patch<T>(path: string, body: object, type: PatchType): Promise<T> {
    return this.send('PATCH', path, undefined, { body, contentType: PATCH_CONTENT_TYPES[type] });
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.send('DELETE', path, query);
  }

  private async send<T>(
    method: string,
    path: string,
    query: Query | undefined,
    content?: { body: object; contentType: string },
  ): Promise<T> {
    const url = new URL(this.endpoint.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const { tls, headers } = await this.endpoint.credentials();
    let agent = agents.get(this.endpoint);
    if (!agent) agents.set(this.endpoint, (agent = new Agent({ keepAlive: true, ...tls })));
    const payload = content && JSON.stringify(content.body);
    const options = {
      method,
      agent,
      timeout: this.idleTimeoutMs,
      headers: {
        ...headers,
        accept: 'application/json',
        ...(content && {
          'content-type': content.contentType,
          'content-length': String(Buffer.byteLength(payload!)),
        }),
      },
    };
    for (let attempt = 1; ; attempt++) {
      this.requests += 1;
      try {
        const answer = await exchange(url, options, payload);
        return parse(method, path, answer) as T;
      } catch (error) {
        if (!(error instanceof StaleConnection) || attempt > 1) throw error;
      }
    }
  }
}

/**
 * The server closed an idle keep-alive connection just as a request went out on it (a Lambda environment
 * frozen between invocations sees the close late): the request never reached it and is sent again once
 * on a new connection, as Node's documentation advises (`request.reusedSocket`).
 */
class StaleConnection extends Error {}

interface Answer {
  status: number;
  text: string;
}

function exchange(url: URL, options: RequestOptions, payload: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(req.reusedSocket && error.code === 'ECONNRESET' ? new StaleConnection(error.message) : error),
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${options.method} ${url.pathname}: no answer for ${options.timeout} ms`)),
    );
    req.end(payload);
  });
}

function parse(method: string, path: string, { status, text }: Answer): unknown {
  if (status >= 200 && status < 300) return text ? JSON.parse(text) : undefined;
  // The apiserver answers errors with a Status object; a proxy in front of it may not.
  const { reason, message } = (tryJson(text) ?? {}) as { reason?: string; message?: string };
  throw new KubernetesApiError(status, reason, `${method} ${path}: ${status} ${message ?? text}`);
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
