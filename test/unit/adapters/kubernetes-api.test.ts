import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  DEPLOYMENTS,
  KubernetesApi,
  KubernetesApiError,
  PODS,
  resourcePath,
  type KubernetesEndpoint,
} from '../../../lambdas/adapters/kubernetes-api.js';
import { localTls } from '../../support/api-gateway-server.js';

// The transport on a loopback HTTPS server: what it sends, how it reads errors, and the one retry of a
// request that went out on a kept-alive connection the server had closed. Against a real kube-apiserver
// it is tested through the adapters in test/integration/adapters/.
interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** 1 for a connection's first request, 2 for the next on the same connection... */
  onConnection: number;
}

let server: Server;
let endpoint: () => KubernetesEndpoint;
let connections: Socket[];
/** The TCP connection under each TLS one, to reset (a TLS socket cannot). */
const tcp = new Map<number | undefined, Socket>();
/** How the server answers; by default it echoes what it received. */
let answer: (request: Received, response: ServerResponse) => void;

const echo = (request: Received, response: ServerResponse) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(request));
};
const reset = (response: ServerResponse) => tcp.get(response.socket!.remotePort)!.resetAndDestroy();
const reply = (code: number, body: string) => (_request: Received, response: ServerResponse) => {
  response.writeHead(code, { 'content-type': 'application/json' }).end(body);
};

beforeAll(async () => {
  const tls = await localTls();
  server = createServer({ key: tls.key, cert: tls.cert });
  const served = new WeakMap<Socket, number>();
  server.on('connection', (socket: Socket) => tcp.set(socket.remotePort, socket));
  server.on('secureConnection', (socket: Socket) => connections.push(socket));
  server.on('request', async (req, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    served.set(req.socket, (served.get(req.socket) ?? 0) + 1);
    const { method = '', url = '', headers } = req;
    answer(
      { method, url, headers, body: Buffer.concat(chunks).toString(), onConnection: served.get(req.socket)! },
      response,
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  // A new endpoint object per test: each has its own keep-alive pool.
  endpoint = () => ({
    server: `https://127.0.0.1:${port}`,
    credentials: async () => ({ tls: { ca: tls.ca }, headers: { authorization: 'Bearer token-1' } }),
  });
});

beforeEach(() => {
  connections = [];
  answer = echo;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('KubernetesApi', () => {
  it('sends JSON with the endpoint’s headers, the query and the patch’s content type, on one connection', async () => {
    const api = new KubernetesApi({ ...endpoint(), server: `${endpoint().server}/` });
    const listed = await api.get<Received>(resourcePath(PODS, { namespace: 'team a' }), {
      labelSelector: 'a=b,c',
      fieldSelector: undefined,
    });
    expect(listed).toMatchObject({
      method: 'GET',
      url: '/api/v1/namespaces/team%20a/pods?labelSelector=a%3Db%2Cc',
      headers: { authorization: 'Bearer token-1', accept: 'application/json' },
    });
    const path = resourcePath(DEPLOYMENTS, { namespace: 'team-a', name: 'llama' });
    expect(await api.patch<Received>(path, { spec: { replicas: 1 } }, 'strategic')).toMatchObject({
      method: 'PATCH',
      url: '/apis/apps/v1/namespaces/team-a/deployments/llama',
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      body: '{"spec":{"replicas":1}}',
    });
    expect((await api.patch<Received>(path, {}, 'merge')).headers['content-type']).toBe(
      'application/merge-patch+json',
    );
    expect(await api.create<Received>(resourcePath(DEPLOYMENTS, { namespace: 'team-a' }), {})).toMatchObject({
      method: 'POST',
      url: '/apis/apps/v1/namespaces/team-a/deployments',
      headers: { 'content-type': 'application/json' },
    });
    expect(await api.delete<Received>(path, { propagationPolicy: 'Background' })).toMatchObject({
      method: 'DELETE',
      url: `${path}?propagationPolicy=Background`,
    });
    expect(api.requests).toBe(5);
    expect(connections).toHaveLength(1);
  });

  it('throws the HTTP status with the apiserver’s Status reason and message', async () => {
    const api = new KubernetesApi(endpoint());
    answer = reply(
      404,
      JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'deployments "x" not found' }),
    );
    const error = await api.get('/apis/apps/v1/namespaces/a/deployments/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect(error).toMatchObject({
      status: 404,
      reason: 'NotFound',
      message: 'GET /apis/apps/v1/namespaces/a/deployments/x: 404 deployments "x" not found',
    });
    // A proxy's answer is no Status: its text is the message.
    answer = reply(502, 'Bad Gateway');
    await expect(api.get('/api/v1/nodes')).rejects.toMatchObject({
      status: 502,
      reason: undefined,
      message: 'GET /api/v1/nodes: 502 Bad Gateway',
    });
  });

  it('sends a request again, once, on a new connection when the kept-alive one it went out on is reset', async () => {
    const api = new KubernetesApi(endpoint());
    await api.get('/api/v1/nodes');
    answer = (request, response) => (request.onConnection === 2 ? reset(response) : echo(request, response));
    await expect(api.get<Received>('/api/v1/pods')).resolves.toMatchObject({
      url: '/api/v1/pods',
      onConnection: 1,
    });
    expect(api.requests).toBe(3);
    expect(connections).toHaveLength(2);
  });

  it('does not send again what failed on a new connection', async () => {
    const api = new KubernetesApi(endpoint());
    answer = (_request, response) => reset(response);
    await expect(api.get('/api/v1/nodes')).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(api.requests).toBe(1);
  });

  it('fails a request whose connection stays silent for the idle timeout, and does not send it again', async () => {
    const api = new KubernetesApi(endpoint(), 200);
    answer = () => undefined; // the server reads the request and never answers
    await expect(api.get('/api/v1/nodes')).rejects.toThrow('GET /api/v1/nodes: no answer for 200 ms');
    expect(api.requests).toBe(1);
  });
});
