/** Number formats shared by the table and the HTML report. */

export function hours(value: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

export function usd(value: number): string {
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** Seconds as `45s`, `4m10s`, `1h2m`. */
export function seconds(value: number): string {
  const total = Math.round(value);
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(total / 3600)}h${String(Math.floor((total % 3600) / 60)).padStart(2, '0')}m`;
}

/** `-70%` against a baseline (`—` when there is none). */
export function change(value: number, baseline: number): string {
  if (baseline === 0) return '—';
  const percent = Math.round(((value - baseline) / baseline) * 100);
  return `${percent > 0 ? '+' : ''}${percent}%`;
}

export function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
