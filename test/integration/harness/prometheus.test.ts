import { RemoteWriteSink } from '../../../lambdas/adapters/prometheus-remote-write.js';
import { harnessEnv } from '../../../services/service.js';

describe('harness: prometheus', () => {
  it('reads back with PromQL a sample sent by remote write', async () => {
    const prometheus = harnessEnv('IBCP_PROMETHEUS_URL');
    const now = Date.now();
    await new RemoteWriteSink(`${prometheus}/api/v1/write`).write([
      { metric: 'harness_smoke_bytes', labels: { node_pool: 'gpu-a100' }, value: 42, timestampMs: now },
    ]);
    const query = new URL(`${prometheus}/api/v1/query`);
    query.searchParams.set('query', 'harness_smoke_bytes{node_pool="gpu-a100"}');
    query.searchParams.set('time', String(now / 1000));
    const body = (await (await fetch(query)).json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    expect(body.status).toBe('success');
    expect(body.data.result).toHaveLength(1);
    expect(body.data.result[0]?.value[1]).toBe('42');
  });
});
