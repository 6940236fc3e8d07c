import { formatQuantity } from '../quantity.js';

/**
 * Right-sizing from the observed GPU memory peak (SPEC.md, "Recommendations"):
 *
 * - utilization = peak / declared;
 * - recommended size = peak × 1.1 (a 10% safety margin), rounded up to a whole Gi;
 * - recommend DOWN when utilization < 0.9, UP (OOM risk) when peak × 1.1 > declared, nothing otherwise;
 *   nothing either when the recommended size is not on the side the rule asks for (it equals the declared
 *   size, or a declared size that is not a whole Gi rounds the wrong way).
 *
 * Every comparison is done on whole numbers (peak × 10 < declared × 9, peak × 11 > declared × 10), so the
 * boundaries are exact: utilization of exactly 0.9, or peak × 1.1 exactly the declared size, recommend
 * nothing. Without a peak every field is undefined: an absent peak is never read as zero.
 */

const Mi = 2 ** 20;
const Gi = 2 ** 30;

export type Direction = 'down' | 'up';

export interface RightSizing {
  /** The peak as a CRD quantity, rounded up to a whole Mi: `75Gi`, `16589Mi`. Undefined without data. */
  observedPeakMemory?: string;
  /** ⌊100 × peak / declared⌋, at most 100 (the CRD's maximum; a peak above the declared size says 100). */
  utilizationPercent?: number;
  /** The advice in words, in the seed's form; undefined when the declared size fits the peak. */
  recommendation?: string;
  /** The same advice for code: which way, and to how many bytes (a whole Gi). */
  advice?: { direction: Direction; recommendedBytes: number };
}

/** `declaredBytes` undefined (an unparseable `spec.memory`) or not positive: only the peak is reported. */
export function rightSize(declaredBytes: number | undefined, peakBytes: number | undefined): RightSizing {
  if (peakBytes === undefined || !Number.isFinite(peakBytes) || peakBytes < 0) return {};
  const observedPeakMemory = formatPeakQuantity(peakBytes);
  if (declaredBytes === undefined || !Number.isFinite(declaredBytes) || declaredBytes <= 0) {
    return { observedPeakMemory };
  }
  const utilizationPercent = Math.min(100, Math.floor((peakBytes * 100) / declaredBytes));
  const recommendedBytes = recommendedSize(peakBytes);
  const direction = directionOf(declaredBytes, peakBytes, recommendedBytes);
  if (direction === undefined) return { observedPeakMemory, utilizationPercent };
  return {
    observedPeakMemory,
    utilizationPercent,
    recommendation: recommendationMessage({ direction, declaredBytes, recommendedBytes, peakBytes }),
    advice: { direction, recommendedBytes },
  };
}

/** Peak × 1.1 rounded up to a whole Gi, at least 1Gi (a model that held nothing still needs some memory). */
export function recommendedSize(peakBytes: number): number {
  return Math.max(1, Math.ceil((peakBytes * 11) / (10 * Gi))) * Gi;
}

function directionOf(declared: number, peak: number, recommended: number): Direction | undefined {
  if (peak * 11 > declared * 10) return 'up'; // peak × 1.1 > declared: recommended > declared always
  if (peak * 10 < declared * 9 && recommended < declared) return 'down';
  return undefined;
}

/**
 * The seed's sentence. Down: `Consider reducing memory from 80Gi to 78Gi (observed peak 75Gi, 6%
 * overprovisioned)`, where the percentage is ⌊100 × (declared − peak) / declared⌋ (80Gi with a 75Gi peak:
 * 6.25 → 6). Up: `Consider increasing memory from 16Gi to 18Gi (observed peak 16.2Gi, above the limit: OOM
 * risk)`, or `within 10% of the limit` while the peak is still under the declared size.
 */
export function recommendationMessage(advice: {
  direction: Direction;
  declaredBytes: number;
  recommendedBytes: number;
  peakBytes: number;
}): string {
  const { direction, declaredBytes, recommendedBytes, peakBytes } = advice;
  const change = `from ${formatQuantity(declaredBytes)} to ${formatQuantity(recommendedBytes)}`;
  const peak = `observed peak ${formatPeakForPeople(peakBytes)}`;
  if (direction === 'down') {
    const overprovisioned = Math.floor(((declaredBytes - peakBytes) * 100) / declaredBytes);
    return `Consider reducing memory ${change} (${peak}, ${overprovisioned}% overprovisioned)`;
  }
  const where = peakBytes > declaredBytes ? 'above the limit' : 'within 10% of the limit';
  return `Consider increasing memory ${change} (${peak}, ${where}: OOM risk)`;
}

/**
 * The status field: a quantity the CRD's memory pattern accepts (the metrics catalog parses it back), rounded
 * up to a whole Mi, the unit DCGM reports in: `75Gi`, `16589Mi`, `0Mi`.
 */
export function formatPeakQuantity(bytes: number): string {
  const mebibytes = Math.ceil(bytes / Mi);
  return mebibytes === 0 ? '0Mi' : formatQuantity(mebibytes * Mi);
}

/**
 * The peak in a sentence: Gi with at most one decimal, rounded to the nearest tenth (`75Gi`, `16.2Gi`);
 * under 1Gi, whole Mi rounded up (`512Mi`).
 */
export function formatPeakForPeople(bytes: number): string {
  if (bytes < Gi) return `${Math.ceil(bytes / Mi)}Mi`;
  const tenths = Math.round((bytes * 10) / Gi);
  return tenths % 10 === 0 ? `${tenths / 10}Gi` : `${(tenths / 10).toFixed(1)}Gi`;
}
