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
    const where = `${path}:${number}`;
    const request = format === 'csv' ? csvRow(line, where) : jsonRow(line, where);
    if (!models.has(`${request.namespace}/${request.name}`)) {
      throw new InputError(
        `${where}: no InferenceModel ${request.namespace}/${request.name} among the models`,
      );
    }
    if (request.atMs < previous) {
      throw new InputError(
        `${where}: ${new Date(request.atMs).toISOString()} is before the line above (${new Date(previous).toISOString()}); the trace must be in time order (sort it, e.g. sort -t, -k1,1)`,
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

function csvRow(line: string, where: string): TraceRequest {
  const fields = line.split(',');
  if (fields.length !== 3) {
    throw new InputError(
      `${where}: expected 3 fields (timestamp,namespace,name), found ${fields.length}: ${clip(line)}`,
    );
  }
  return { atMs: timestamp(fields[0]!.trim(), where), namespace: fields[1]!.trim(), name: fields[2]!.trim() };
}

function jsonRow(line: string, where: string): TraceRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new InputError(`${where}: not a JSON object: ${clip(line)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${where}: not a JSON object: ${clip(line)}`);
  }
  const { timestamp: at, namespace, name } = value as Record<string, unknown>;
  if (typeof namespace !== 'string' || typeof name !== 'string') {
    throw new InputError(`${where}: "namespace" and "name" must be strings: ${clip(line)}`);
  }
  if (typeof at !== 'string' && typeof at !== 'number') {
    throw new InputError(`${where}: "timestamp" must be an RFC 3339 string or Unix seconds: ${clip(line)}`);
  }
  return { atMs: timestamp(String(at), where), namespace, name };
}

function timestamp(text: string, where: string): number {
  const ms = RFC3339.test(text) ? Date.parse(text) : UNIX_SECONDS.test(text) ? Number(text) * 1000 : NaN;
  if (!Number.isFinite(ms)) {
    throw new InputError(
      `${where}: "${clip(text)}" is not a timestamp: use RFC 3339 with a zone (2026-12-01T09:30:00Z) or Unix seconds`,
    );
  }
  return ms;
}

function clip(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
