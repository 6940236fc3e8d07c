import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../services/kubectl.js';

/**
 * The user's seed documents: `shared/seeds/` beside the repository, as laid out for developers and CI.
 * A missing seed is an error, not a reason to skip: the tests that read it are the spec's check.
 */
export function seedFile(name: string): string {
  const path = join(repoRoot, '..', 'shared', 'seeds', name);
  if (!existsSync(path))
    throw new Error(`seed document ${path} is missing: the shared/ folder must sit beside the repo`);
  return path;
}

export const OBSERVABILITY_SEED = '000_887327fde4744b83.txt';

/** The seed's ```promql examples, one expression per line, comment lines dropped, in the seed's order. */
export function seedPromqlExamples(text: string): string[] {
  return [...text.matchAll(/```promql\n([\s\S]*?)```/g)].flatMap((block) =>
    (block[1] ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}
