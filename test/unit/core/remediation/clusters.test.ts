import type { Alert } from '../../../../lambdas/core/remediation/alerts.js';
import { remediate } from '../../../../lambdas/core/remediation/remediate.js';
import { ENABLED, remediationWorld } from '../../../support/fake-remediation.js';

/**
 * With several clusters every cluster's remediation Lambda hears every alert of the shared on-call topic:
 * each acts only on its own cluster's (the alert's `cluster` label), so an alert for B never changes A.
 */
const T0 = Date.parse('2026-12-01T12:00:00Z');

function imbalance(labels: Record<string, string>): Alert {
  return {
    name: 'ExpertLoadImbalance',
    status: 'firing',
    labels: { alertname: 'ExpertLoadImbalance', namespace: 'ml', deployment: 'moe-trainer', ...labels },
    startsAt: T0 - 60_000,
    endsAt: undefined,
    episode: `fp-${JSON.stringify(labels)}`,
    source: 'alertmanager',
  };
}

async function deliver(alert: Alert, cluster: (typeof ENABLED)['cluster']) {
  const world = await remediationWorld(() => T0);
  const report = await remediate(
    world.ports,
    { ...ENABLED, cluster },
    { kind: 'alerts', alerts: [alert], rejected: [] },
  );
  return { report, writes: world.cluster.writes };
}

describe('remediation of several clusters', () => {
  const alpha = { name: 'alpha', labelRequired: true };

  it('acts on an alert labelled with its own cluster', async () => {
    const { report, writes } = await deliver(imbalance({ cluster: 'alpha' }), alpha);
    expect(report.results).toEqual([expect.objectContaining({ outcome: 'applied' })]);
    expect(writes.length).toBeGreaterThan(0);
  });

  it("never acts on another cluster's alert, even for a workload of the same name", async () => {
    const { report, writes } = await deliver(imbalance({ cluster: 'beta' }), alpha);
    expect(report.results).toEqual([
      expect.objectContaining({
        outcome: 'other-cluster',
        message: 'the alert is for cluster beta, not alpha',
      }),
    ]);
    expect(writes).toEqual([]);
  });

  it('leaves an unlabelled alert alone when it could be any cluster’s', async () => {
    const { report, writes } = await deliver(imbalance({}), alpha);
    expect(report.results).toEqual([expect.objectContaining({ outcome: 'other-cluster' })]);
    expect(writes).toEqual([]);
  });

  it('acts on an unlabelled alert when it governs one cluster, as before clusters', async () => {
    const { report } = await deliver(imbalance({}), { name: 'alpha', labelRequired: false });
    expect(report.results).toEqual([expect.objectContaining({ outcome: 'applied' })]);
    const unscoped = await deliver(imbalance({}), undefined);
    expect(unscoped.report.results).toEqual([expect.objectContaining({ outcome: 'applied' })]);
  });
});
