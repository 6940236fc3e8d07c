import type { Ledger } from '../../lambdas/core/ledger/ledger.js';
import { Gi } from './builders.js';

/**
 * The pools the webhook tests admit models into: `default` (40Gi, one node) and `gpu-a100` (160Gi in
 * 80Gi nodes) with 128Gi of it held by `holder`, so a 48Gi model fits its total but not what is free.
 */
export async function defineWebhookPools(ledger: Ledger, holder: string): Promise<void> {
  await ledger.definePool({
    name: 'default',
    totalBytes: 40 * Gi,
    bytesPerNode: 40 * Gi,
    nodeGroup: 'ng-default',
  });
  await ledger.definePool({
    name: 'gpu-a100',
    totalBytes: 160 * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: 'ng-a100',
  });
  await ledger.allocate({ pool: 'gpu-a100', holder, bytes: 128 * Gi, now: Date.now() });
}
