import { parseQuantity } from '../quantity.js';
import {
  holderOf,
  type InferenceModel,
  type InferenceModelStatus,
  type ModelRef,
} from '../inference-model.js';
import { type Cluster, type ReconcileLog } from '../reconcile/ports.js';
import { kubernetesTime } from '../reconcile/status.js';
import { rightSize } from './right-sizing.js';

/** Where observed GPU memory comes from (DCGM through Prometheus or AMP in production). */
export interface PeakMemorySource {
  /**
   * The peak GPU memory, in bytes, of each model over the `windowSeconds` that end at `atMs`, keyed by
   * `holderOf(model)`. A model without data is absent from the map (never 0). One query for all models.
   */
  peakBytes(models: readonly ModelRef[], windowSeconds: number, atMs: number): Promise<Map<string, number>>;
}

export interface ObservePorts {
  cluster: Pick<Cluster, 'patchStatus'>;
  peaks: PeakMemorySource;
  clock: () => number;
  log: ReconcileLog;
}

export interface ObserveReport {
  /** Models looked at (those being deleted are skipped). */
  models: number;
  /** Models the source had a peak for. */
  withData: number;
  /** Holders whose status was patched. */
  patched: string[];
  /** Status patches that failed; the next pass tries again. */
  errors: { model: string; message: string }[];
  /** Set when the peak query failed: no status was touched (a failed query is not "no data"). */
  queryError?: string;
}

/** The status fields this module owns; the reconciler owns the rest and merge patches keep them apart. */
export type ObservedStatus = Pick<
  InferenceModelStatus,
  'observedPeakMemory' | 'utilizationPercent' | 'recommendation' | 'lastObservation'
>;

const PATCHES_IN_FLIGHT = 8;

/**
 * One observation pass: one peak query for every model not being deleted, then a status patch for each
 * model whose observation changed (see `observedStatus`). Models are patched a few at a time.
 */
export async function observeModels(
  ports: ObservePorts,
  models: readonly InferenceModel[],
  windowSeconds: number,
): Promise<ObserveReport> {
  const now = ports.clock();
  const live = models.filter((model) => !model.deleting);
  const report: ObserveReport = { models: live.length, withData: 0, patched: [], errors: [] };
  if (live.length === 0) return report;
  let peaks: Map<string, number>;
  try {
    peaks = await ports.peaks.peakBytes(
      live.map(({ namespace, name }) => ({ namespace, name })),
      windowSeconds,
      now,
    );
  } catch (error) {
    report.queryError = messageOf(error);
    ports.log.error('Peak memory query failed', { error: report.queryError });
    return report;
  }
  const updates = live.flatMap((model) => {
    const peak = peaks.get(holderOf(model));
    if (peak !== undefined) report.withData += 1;
    const status = observedStatus(model, peak, windowSeconds, now);
    return status ? [{ model, status }] : [];
  });
  let next = 0;
  const worker = async () => {
    for (let update = updates[next++]; update; update = updates[next++]) {
      const { model, status } = update;
      try {
        await ports.cluster.patchStatus(model, status);
        report.patched.push(holderOf(model));
        if (status.recommendation && status.recommendation !== model.status.recommendation) {
          ports.log.info('Right-sizing recommendation', {
            model: model.name,
            namespace: model.namespace,
            recommendation: status.recommendation,
          });
        }
      } catch (error) {
        report.errors.push({ model: holderOf(model), message: messageOf(error) });
        ports.log.error('Status update failed', {
          model: model.name,
          namespace: model.namespace,
          error: messageOf(error),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PATCHES_IN_FLIGHT, updates.length) }, worker));
  return report;
}

/**
 * The status patch for one model, or undefined when there is nothing to write:
 *
 * - with a peak: the three observed fields and `lastObservation = now`, written when one of the three
 *   changed, or when `lastObservation` is missing or a window old (so it tells that data is still coming,
 *   without a write per model per pass);
 * - without a peak: the three fields cleared (`undefined`, sent as null) if any is set; `lastObservation`
 *   is left as it is, the last time there was data.
 */
export function observedStatus(
  model: InferenceModel,
  peakBytes: number | undefined,
  windowSeconds: number,
  now: number,
): ObservedStatus | undefined {
  const sizing = rightSize(declaredBytes(model), peakBytes);
  const fields: ObservedStatus = {
    observedPeakMemory: sizing.observedPeakMemory,
    utilizationPercent: sizing.utilizationPercent,
    recommendation: sizing.recommendation,
  };
  const current = model.status;
  const changed =
    current.observedPeakMemory !== fields.observedPeakMemory ||
    current.utilizationPercent !== fields.utilizationPercent ||
    current.recommendation !== fields.recommendation;
  if (sizing.observedPeakMemory === undefined) return changed ? fields : undefined;
  const last = current.lastObservation === undefined ? NaN : Date.parse(current.lastObservation);
  const fresh = now - last < windowSeconds * 1000; // NaN (missing, unreadable) is never fresh
  return changed || !fresh ? { ...fields, lastObservation: kubernetesTime(now) } : undefined;
}

function declaredBytes(model: InferenceModel): number | undefined {
  try {
    return parseQuantity(model.spec.memory);
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
