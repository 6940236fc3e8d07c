import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { InputError } from '../scenario.js';

/** The documents of a YAML (or JSON: YAML reads it too) file; errors name the file and line. */
export async function readDocuments(path: string): Promise<unknown[]> {
  const text = await readText(path);
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(documents)) return [];
  const values: unknown[] = [];
  for (const document of documents) {
    const [error] = document.errors;
    if (error) {
      const line = error.linePos?.[0]?.line;
      throw new InputError(
        `${path}${line ? `:${line}` : ''}: not valid ${isJson(path) ? 'JSON' : 'YAML'}: ${error.message.split('\n')[0]}`,
      );
    }
    const value = document.toJS({ maxAliasCount: 100 }) as unknown;
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function isJson(path: string): boolean {
  return extname(path).toLowerCase() === '.json';
}
