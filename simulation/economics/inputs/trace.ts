import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { InputError, type TraceRequest } from '../scenario.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const UNIX_SECONDS = /^\d{1,12}(\.\d{1,9})?$/;
const CSV_HEADER = 'timestamp,namespace,name';

export type TraceFormat = 'csv' | 'jsonl';

/**
 * `--trace FILE`: one request per line, `timestamp,namespace,name` (CSV, an optional header line) or
 * `{"timestamp":...,"namespace":...,"name":...}` (JSON Lines), in time order. A timestamp is RFC 3339
 * with a zone (`2026-12-01T09:30:00Z`) or Unix seconds. Read line by line, never whole: a trace of
 * millions of rows takes the memory of one. Every bad row stops the run with its line number.
 */
export async function* readTrace(path: string, models: ReadonlySet<string>): AsyncGenerator<TraceRequest> {
  try {
    if (!(await stat(path)).isFile()) throw new InputError(`--trace ${path}: not a file`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `--trace ${path}: cannot read it: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let format = formatOf(path);
  let previous = -Infinity;
  let number = 0;
  for await (const raw of lines) {
    number++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    format ??= line.startsWith('{') ? 'jsonl' : 'csv';
    if (format === 'csv' && previous === -Infinity && line.toLowerCase().replace(/\s/g, '') === CSV_HEADER)
      continue;
    // The line's place is written out only for an error: a million rows would make a million strings.
    const where: Where = { path, number };
    const request = format === 'csv' ? csvRow(line, where) : jsonRow(line, where);
    if (!models.has(`${request.namespace}/${request.name}`)) {
      throw new InputError(
        `${path}:${number}: no InferenceModel ${request.namespace}/${request.name} among the models`,
      );
    }
    if (request.atMs < previous) {
      throw new InputError(
        `${path}:${number}: ${new Date(request.atMs).toISOString()} is before the line above (${new Date(previous).toISOString()}); the trace must be in time order (sort it, e.g. sort -t, -k1,1)`,
      );
    }
    previous = request.atMs;
    yield request;
  }
}

function formatOf(path: string): TraceFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  return undefined;
}

/** Where a row is, for its error message. */
interface Where {
  readonly path: string;
  readonly number: number;
}

function csvRow(line: string, where: Where): TraceRequest {
  // The two commas found, not the line split: a million rows make a million arrays otherwise.
  const first = line.indexOf(',');
  const second = first < 0 ? -1 : line.indexOf(',', first + 1);
  if (second < 0 || line.includes(',', second + 1)) {
    throw new InputError(
      `${where.path}:${where.number}: expected 3 fields (timestamp,namespace,name), found ${line.split(',').length}: ${clip(line)}`,
    );
  }
  return {
    atMs: timestamp(line.slice(0, first).trim(), where),
    namespace: line.slice(first + 1, second).trim(),
    name: line.slice(second + 1).trim(),
  };
}

function jsonRow(line: string, where: Where): TraceRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new InputError(`${where.path}:${where.number}: not a JSON object: ${clip(line)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${where.path}:${where.number}: not a JSON object: ${clip(line)}`);
  }
  const { timestamp: at, namespace, name } = value as Record<string, unknown>;
  if (typeof namespace !== 'string' || typeof name !== 'string') {
    throw new InputError(
      `${where.path}:${where.number}: "namespace" and "name" must be strings: ${clip(line)}`,
    );
  }
  if (typeof at !== 'string' && typeof at !== 'number') {
    throw new InputError(
      `${where.path}:${where.number}: "timestamp" must be an RFC 3339 string or Unix seconds: ${clip(line)}`,
    );
  }
  return { atMs: timestamp(String(at), where), namespace, name };
}

function timestamp(text: string, where: Where): number {
  const ms =
    isoMilliseconds(text) ??
    (RFC3339.test(text) ? Date.parse(text) : UNIX_SECONDS.test(text) ? Number(text) * 1000 : NaN);
  if (!Number.isFinite(ms)) {
    throw new InputError(
      `${where.path}:${where.number}: "${clip(text)}" is not a timestamp: use RFC 3339 with a zone (2026-12-01T09:30:00Z) or Unix seconds`,
    );
  }
  return ms;
}

/**
 * `2026-12-01T09:30:00.000Z`, the form `toISOString` writes and most traces use, read digit by digit:
 * the number `Date.parse` gives, without its cost or a regex. Undefined for any other form, and for
 * fields out of the ranges where the two are known to agree (a year before 100, a day of 0, hour 24, a
 * leap second): `Date.parse` has the last word on those.
 */
function isoMilliseconds(text: string): number | undefined {
  if (text.length !== 24 || text[4] !== '-' || text[7] !== '-' || text[10] !== 'T') return undefined;
  if (text[13] !== ':' || text[16] !== ':' || text[19] !== '.' || text[23] !== 'Z') return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  const millisecond = digits(text, 20, 23);
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  if (millisecond < 0) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, millisecond);
}

/** The decimal number in text[from, to), or -1 if a character there is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function clip(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
