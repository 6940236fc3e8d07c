import { CloudWatchEmf } from '../../../lambdas/adapters/cloudwatch-emf.js';
import { CLOUDWATCH_NAMESPACE } from '../../../lambdas/core/metrics/cloudwatch-names.js';
import { jsonLinesPrinted } from '../../support/captured-output.js';

/** The Embedded Metric Format specification's rules, checked on one document. */
function expectValidEmf(document: Record<string, unknown>): void {
  const aws = document._aws as { Timestamp: number; CloudWatchMetrics: unknown[] };
  expect(Number.isInteger(aws.Timestamp)).toBe(true);
  expect(aws.CloudWatchMetrics).toHaveLength(1);
  const [directive] = aws.CloudWatchMetrics as {
    Namespace: string;
    Dimensions: string[][];
    Metrics: { Name: string; Unit?: string }[];
  }[];
  expect(directive!.Namespace).toBe(CLOUDWATCH_NAMESPACE);
  expect(directive!.Metrics.length).toBeGreaterThan(0);
  expect(directive!.Metrics.length).toBeLessThanOrEqual(100);
  for (const dimensionSet of directive!.Dimensions) {
    expect(dimensionSet.length).toBeLessThanOrEqual(30);
    // Every dimension and every metric named must be a member of the document's root.
    for (const dimension of dimensionSet) expect(typeof document[dimension]).toBe('string');
  }
  for (const metric of directive!.Metrics) {
    expect(typeof document[metric.Name] === 'number' || Array.isArray(document[metric.Name])).toBe(true);
  }
}

describe('CloudWatchEmf', () => {
  const pool = {
    name: 'gpu-a100',
    nodeGroup: 'ng',
    bytesPerNode: 80,
    totalBytes: 160,
    allocatedBytes: 144,
    availableBytes: 16,
    allocations: [],
  };

  it('publishes the pass and per-pool budgets as valid EMF, per pool by node_pool only', async () => {
    const documents = await jsonLinesPrinted(() =>
      new CloudWatchEmf().reconcilePass({ durationSeconds: 1.5, errors: 0, pools: [pool] }),
    );
    documents.forEach(expectValidEmf);
    expect(documents).toContainEqual(
      expect.objectContaining({ ReconcileDuration: 1.5, ReconcileErrors: 0, ReconcileSucceeded: 1 }),
    );
    const budget = documents.find((d) => 'BudgetAllocatedBytes' in d);
    expect(budget).toMatchObject({
      node_pool: 'gpu-a100',
      BudgetTotalBytes: 160,
      BudgetAllocatedBytes: 144,
      BudgetAvailableBytes: 16,
      BudgetUtilizationPercent: 90,
    });
    // No per-model dimension ever reaches CloudWatch.
    expect(JSON.stringify(documents)).not.toMatch(/"model"/);
  });

  it('counts a refused warm-up by pool', async () => {
    const [document] = await jsonLinesPrinted(() => new CloudWatchEmf().warmUpRejected('gpu-a100'));
    expectValidEmf(document!);
    expect(document).toMatchObject({ node_pool: 'gpu-a100', WarmUpRejections: 1 });
  });

  it('publishes node counts and the scale-out latency by pool', async () => {
    const report = {
      pool: 'gpu-a100',
      nodeGroup: 'ng',
      readyNodes: 1,
      desiredNodes: 2,
      neededNodes: 2,
      availableOnRunningNodes: 32,
      waitingForNode: true,
      scaleOutSeconds: 150,
      scaledIn: 0,
    };
    const documents = await jsonLinesPrinted(() =>
      new CloudWatchEmf().nodePools([report, { ...report, pool: 'gpu-h100', scaleOutSeconds: undefined }]),
    );
    documents.forEach(expectValidEmf);
    expect(documents).toEqual([
      expect.objectContaining({
        node_pool: 'gpu-a100',
        DesiredNodes: 2,
        ReadyNodes: 1,
        NeededNodes: 2,
        BudgetAvailableOnRunningNodesBytes: 32,
        NodesScaledIn: 0,
        NodeScaleOutSeconds: 150,
      }),
      expect.not.objectContaining({ NodeScaleOutSeconds: expect.anything() }),
    ]);
    expect(documents[1]).toMatchObject({ node_pool: 'gpu-h100' });
  });

  it('publishes held GPU memory per pool, namespace and model (showback)', async () => {
    const documents = await jsonLinesPrinted(() =>
      new CloudWatchEmf().heldMemory([
        { pool: 'gpu-a100', namespace: 'team-a', model: 'llama-3-8b', byteSeconds: 960 },
        { pool: 'gpu-a100', namespace: 'team-b', model: 'phi-3-mini', byteSeconds: 480 },
      ]),
    );
    documents.forEach(expectValidEmf);
    expect(documents).toEqual([
      expect.objectContaining({
        node_pool: 'gpu-a100',
        namespace: 'team-a',
        model: 'llama-3-8b',
        HeldGpuMemoryByteSeconds: 960,
      }),
      expect.objectContaining({ namespace: 'team-b', model: 'phi-3-mini', HeldGpuMemoryByteSeconds: 480 }),
    ]);
    const [directive] = (documents[0]!._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] })
      .CloudWatchMetrics;
    expect(directive!.Dimensions[0]).toEqual(expect.arrayContaining(['node_pool', 'namespace', 'model']));
  });
});
