/** Go-style durations, as the original operator's CRD and API used them: `10m`, `1h30m`, `5m30s`. */

const DURATION_PATTERN = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const MAX_DURATION_MS = 366 * 24 * 3600 * 1000;

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** Milliseconds of a duration made of hours, minutes and seconds (`10m`, `1h30m`, `90s`, `1h0m0s`). */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match || text === '') {
    throw new DurationError(
      `"${text.slice(0, 40)}" is not a duration: use hours, minutes and seconds, e.g. 10m or 1h30m`,
    );
  }
  const [, hours = '0', minutes = '0', seconds = '0'] = match;
  const ms = ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  if (ms > MAX_DURATION_MS) throw new DurationError(`"${text}" is longer than a year`);
  return ms;
}

/** Whole seconds written as Go prints a duration: `45s`, `5m30s`, `1h30m0s`, `0s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
