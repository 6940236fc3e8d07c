import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Built binaries, virtualenvs and downloads live outside the repo, keyed by version, so a second run is fast. */
export const cacheRoot =
  process.env.IBCP_CACHE_DIR ?? join(homedir(), '.cache', 'inference-budget-control-plane');

const COMPLETE_MARKER = '.complete';

/**
 * Returns `<cacheRoot>/<key>`, creating it with `build` the first time. The build works in the final
 * folder (virtualenvs are not relocatable) and a marker written last tells a finished build from an
 * interrupted one, which is wiped and redone.
 */
export async function cached(key: string, build: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(cacheRoot, key);
  if (existsSync(join(dir, COMPLETE_MARKER))) return dir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await build(dir);
  await writeFile(join(dir, COMPLETE_MARKER), new Date().toISOString());
  return dir;
}
