// Serves a Lambda handler written for API Gateway's REST proxy integration over local HTTP(S): how local
// mode runs the warm-up API and the webhook, and how tests drive handlers with real clients (kubectl via
// the API server's webhooks, fetch, curl). The translation is generic: handlers parse `event.path`
// themselves, as they would behind a greedy `/{proxy+}` resource.
import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

export type ApiGatewayHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult | void>;

export interface ServeOptions {
  /** Serve HTTPS with this key and certificate (PEM); plain HTTP otherwise. */
  https?: { key: string | Buffer; cert: string | Buffer };
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** The stage name in `requestContext` (the path itself carries no stage, as with a custom domain). */
  stage?: string;
  /** Bodies above API Gateway's 10 MB payload limit get 413 before the handler runs. */
  maxBodyBytes?: number;
  /** API Gateway's 29 s integration timeout: a slower handler gets 504. */
  timeoutMs?: number;
  /** Called after each answered request (tests record them); nothing is kept otherwise. */
  onCall?: (call: ServedCall) => void;
}

export interface ServedCall {
  event: APIGatewayProxyEvent;
  result: APIGatewayProxyResult | undefined;
}

export interface ServedApi {
  /** `http(s)://host:port`, no trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;
const API_GATEWAY_TIMEOUT_MS = 29_000;

/** Starts the server; `close()` stops it and drops open connections. */
export async function serveApiGateway(
  handler: ApiGatewayHandler,
  options: ServeOptions = {},
): Promise<ServedApi> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    void serveOne(handler, options, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `local API Gateway failed: ${String(error)}` }));
    });
  };
  const server: Server = options.https
    ? createHttpsServer({ key: options.https.key, cert: options.https.cert }, listener)
    : createHttpServer(listener);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.https ? 'https' : 'http'}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serveOne(
  handler: ApiGatewayHandler,
  options: ServeOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readBody(req, options.maxBodyBytes ?? API_GATEWAY_MAX_BODY);
  if (body === 'too-large') {
    send(res, { statusCode: 413, body: JSON.stringify({ message: 'Request Too Long' }) });
    return;
  }
  const event = toEvent(req, body, options.stage ?? 'local');
  const timeoutMs = options.timeoutMs ?? API_GATEWAY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
  );
  let result: APIGatewayProxyResult | undefined;
  try {
    const outcome = await Promise.race([handler(event, lambdaContext(deadline)), timedOut]);
    if (outcome === 'timeout') {
      send(res, { statusCode: 504, body: JSON.stringify({ message: 'Endpoint request timed out' }) });
      return;
    }
    result = outcome ?? undefined;
  } catch {
    result = undefined;
  } finally {
    clearTimeout(timer);
  }
  options.onCall?.({ event, result });
  // A handler that throws or answers nothing is an integration failure, which API Gateway shows as 502.
  send(res, result ?? { statusCode: 502, body: JSON.stringify({ message: 'Internal server error' }) });
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return 'too-large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The REST API proxy event for this request; query and headers keep their last and all values. */
export function toEvent(req: IncomingMessage, body: Buffer, stage = 'local'): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://local');
  const path = url.pathname;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiValueQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    (multiValueQuery[key] ??= []).push(value);
  }
  const text = body.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(body);
  const method = req.method ?? 'GET';
  return {
    httpMethod: method,
    path,
    resource: path,
    pathParameters: null,
    stageVariables: null,
    headers,
    multiValueHeaders,
    queryStringParameters: url.searchParams.size > 0 ? query : null,
    multiValueQueryStringParameters: url.searchParams.size > 0 ? multiValueQuery : null,
    body: body.length === 0 ? null : isText ? text : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !isText,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      authorizer: null,
      httpMethod: method,
      path: `/${stage}${path}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: path,
      stage,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: req.headers['user-agent'] ?? null,
        userArn: null,
      },
    },
  };
}

/** A Lambda context whose remaining time runs out at `deadline` (ms since the epoch). */
export function lambdaContext(deadline: number): Context {
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:local',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/local',
    logStreamName: requestId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  const body = result.isBase64Encoded
    ? Buffer.from(result.body, 'base64')
    : Buffer.from(result.body ?? '', 'utf8');
  res.writeHead(result.statusCode, { ...headers, 'Content-Length': String(body.length) });
  res.end(body);
}
