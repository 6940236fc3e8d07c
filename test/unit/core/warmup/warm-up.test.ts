import { ApiError } from '../../../../lambdas/core/api/errors.js';
import { InMemoryLedger } from '../../../../lambdas/core/ledger/in-memory-ledger.js';
import { warmUp, type WarmUpPorts } from '../../../../lambdas/core/warmup/warm-up.js';
import { inferenceModel } from '../../../support/builders.js';
import { FakeCluster, RecordingLog } from '../../../support/fake-cluster.js';

const Gi = 2 ** 30;

/** The in-memory ledger, remembering every write the warm-up makes. */
class WatchedLedger extends InMemoryLedger {
  readonly writes: string[] = [];
  override async recordActivity(request: { pool: string; holder: string; at: number }) {
    this.writes.push(`recordActivity ${request.holder}`);
    return super.recordActivity(request);
  }
}

async function ports(): Promise<{ ports: WarmUpPorts; cluster: FakeCluster; ledger: WatchedLedger }> {
  const cluster = new FakeCluster();
  const ledger = new WatchedLedger();
  await ledger.definePool({ name: 'gpu-a100', totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng' });
  const unused = () => Promise.reject(new Error('not used by this test'));
  return {
    cluster,
    ledger,
    ports: {
      cluster,
      ledger,
      log: new RecordingLog(),
      clock: () => 1_700_000_000_000,
      reconcileRequests: { request: unused },
      metrics: {} as WarmUpPorts['metrics'],
      sleep: unused,
      reconcileIntervalMs: 60_000,
    },
  };
}

describe('warmUp', () => {
  it('answers 400 for a disabled model (maxReplicas 0) without writing to the ledger', async () => {
    const world = await ports();
    world.cluster.put(inferenceModel('disabled', { maxReplicas: 0 }));
    const answer = warmUp(world.ports, { namespace: 'ml', name: 'disabled' });
    await expect(answer).rejects.toBeInstanceOf(ApiError);
    await expect(answer).rejects.toMatchObject({ status: 400 });
    expect(world.ledger.writes).toEqual([]);
  });
});
