// Problems with a field, worded as the API server words them, so a denial reads like the CRD's own.
import { printable } from '../ledger/rules.js';

/** Kubernetes asks warnings to stay short; longer ones may be cut by clients. */
export const MAX_WARNING_LENGTH = 120;
const MAX_MESSAGES = 20;

/** An own property only: a key such as `constructor` or `__proto__` never reaches the prototype. */
export function field(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** An integer as the API server's JSON decoding keeps one (int64). */
export function isJsonInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63;
}

/** `field: Invalid value: <value>: reason`, the API server's own form; the value is cut short and cleaned. */
export function invalid(path: string, value: unknown, reason: string): string {
  return `${path}: Invalid value: ${shown(value)}: ${reason}`;
}

export function shown(value: unknown): string {
  if (typeof value === 'string') return `"${printable(value)}"`;
  if (Array.isArray(value)) return '"array"';
  if (value !== null && typeof value === 'object') return '"object"';
  return printable(String(value));
}

export function capped(problems: string[]): string[] {
  if (problems.length <= MAX_MESSAGES) return problems;
  return [...problems.slice(0, MAX_MESSAGES), `and ${problems.length - MAX_MESSAGES} more problems`];
}

export function warning(text: string): string {
  return text.length > MAX_WARNING_LENGTH ? `${text.slice(0, MAX_WARNING_LENGTH - 1)}…` : text;
}

/** Characters as Kubernetes counts them for maxLength (code points, not UTF-16 units). */
export function runeCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
