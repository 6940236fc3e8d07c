// What a request asks of the outside systems, seen where the clients send it, on Node's
// `http.client.request.start` channel: the AWS SDK's (DynamoDB's operation in its X-Amz-Target header, or
// the service from the host of its endpoint) and the Kubernetes adapters' (the method and resource).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

export interface CallLog {
  /** The calls made while `work` ran, in the order they were sent, e.g. `DynamoDB UpdateItem`. */
  during(work: () => Promise<unknown>): Promise<string[]>;
  close(): void;
}

/** `services`: a name for each endpoint (`http://127.0.0.1:8000` → `DynamoDB`; the API server's `Kubernetes`). */
export function callLog(services: Record<string, string>): CallLog {
  const byHost = new Map(Object.entries(services).map(([url, name]) => [new URL(url).host, name]));
  let recording: string[] | undefined;
  const onHttp = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const host = String(request.getHeader('host') ?? request.host);
    const target = request.getHeader('x-amz-target');
    const service = byHost.get(host) ?? host;
    const operation =
      typeof target === 'string'
        ? target.split('.').pop()
        : service === 'Kubernetes'
          ? `${request.method} ${kubernetesResource(request.path)}`
          : request.path.split('?')[0];
    recording?.push(`${service} ${operation}`);
  };
  subscribe('http.client.request.start', onHttp);
  return {
    async during(work) {
      recording = [];
      try {
        await work();
        return recording;
      } finally {
        recording = undefined;
      }
    },
    close() {
      unsubscribe('http.client.request.start', onHttp);
    },
  };
}

/** `/apis/apps/v1/namespaces/x/deployments/y?…` → `deployments/y`: the resource, without the namespace. */
function kubernetesResource(path: string): string {
  const parts = path.split('?')[0]!.split('/');
  const at = parts.indexOf('namespaces');
  return (at >= 0 ? parts.slice(at + 2) : parts.slice(-2)).join('/');
}
