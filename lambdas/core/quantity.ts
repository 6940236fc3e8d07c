/** GPU memory quantities as the CRD writes them: `^[0-9]+(Ki|Mi|Gi|Ti)$`, held as a byte count. */

export const QUANTITY_PATTERN = /^([0-9]+)(Ki|Mi|Gi|Ti)$/;

const UNITS = [
  ['Ti', 2 ** 40],
  ['Gi', 2 ** 30],
  ['Mi', 2 ** 20],
  ['Ki', 2 ** 10],
] as const;

export class QuantityError extends Error {
  override readonly name = 'QuantityError';
}

/** Bytes of a quantity such as `80Gi`; rejects anything the CRD pattern rejects, and sizes past 2^53. */
export function parseQuantity(text: string): number {
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) {
    throw new QuantityError(
      `"${truncate(text)}" is not a GPU memory quantity: write a whole number and Ki, Mi, Gi or Ti, e.g. 80Gi`,
    );
  }
  const unit = UNITS.find(([suffix]) => suffix === match[2]);
  const bytes = Number(match[1]) * (unit?.[1] ?? 1);
  if (!Number.isSafeInteger(bytes)) throw new QuantityError(`"${truncate(text)}" is too large`);
  return bytes;
}

/** Bytes printed in the largest binary unit that divides them exactly: `48Gi`, `84480Mi`, `1023`. */
export function formatQuantity(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [suffix, size] of UNITS) {
    if (bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
