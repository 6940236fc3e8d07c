import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteWriteSink } from '../../../lambdas/adapters/prometheus-remote-write.js';
import { harnessEnv } from '../../../services/service.js';
import { uniqueName } from '../../../services/kubectl.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

async function query(expr: string, at: number): Promise<string[]> {
  const url = new URL(`${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/query`);
  url.searchParams.set('query', expr);
  url.searchParams.set('time', String(at / 1000));
  const body = (await (await fetch(url)).json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.map((r) => r.value[1]);
}

describe('RemoteWriteSink', () => {
  it('writes unsigned to Prometheus and SigV4-signed (as for AMP); both read back', async () => {
    const pool = uniqueName('rw');
    const now = Date.now();
    const endpoint = `${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/write`;
    await new RemoteWriteSink(endpoint).write([
      { metric: 'inference_budget_total_bytes', labels: { node_pool: pool }, value: 80, timestampMs: now },
    ]);
    await new RemoteWriteSink(endpoint, { region: 'us-east-1', credentials }).write([
      {
        metric: 'inference_budget_allocated_bytes',
        labels: { node_pool: pool },
        value: 48,
        timestampMs: now,
      },
    ]);
    expect(await query(`inference_budget_total_bytes{node_pool="${pool}"}`, now)).toEqual(['80']);
    expect(await query(`inference_budget_allocated_bytes{node_pool="${pool}"}`, now)).toEqual(['48']);
  });

  it('signs for service aps in the region, over the exact body it sends', async () => {
    let seen: IncomingHttpHeaders = {};
    const server = createServer((request, response) => {
      seen = request.headers;
      request.resume();
      request.on('end', () => response.writeHead(200).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await new RemoteWriteSink(`http://127.0.0.1:${port}/workspaces/ws-1/api/v1/remote_write`, {
        region: 'eu-west-1',
        credentials,
      }).write([{ metric: 'm', labels: {}, value: 1, timestampMs: Date.now() }]);
    } finally {
      server.close();
    }
    expect(seen.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/aps\/aws4_request, SignedHeaders=[^,]*content-encoding;content-type;host;/,
    );
    expect(seen['x-amz-content-sha256'] ?? seen['x-amz-date']).toBeDefined();
    expect(seen['content-encoding']).toBe('snappy');
  });

  it('fails with the endpoint and status when Prometheus refuses', async () => {
    await expect(
      new RemoteWriteSink(`${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/nope`).write([
        { metric: 'm', labels: {}, value: 1, timestampMs: Date.now() },
      ]),
    ).rejects.toThrow(/remote write to .*\/api\/v1\/nope failed: 404/);
  });
});
