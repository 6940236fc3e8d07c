import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './kubectl.js';

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
