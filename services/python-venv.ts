import { join } from 'node:path';
import { cached } from './cache.js';
import { progress, runCommand } from './processes.js';

/** A pinned PyPI package in its own virtualenv under the cache; returns the venv's bin folder. */
export async function pythonTool(service: string, requirement: string): Promise<string> {
  const venv = await cached(`python/${requirement.replace(/[^\w.]+/g, '-')}`, async (dir) => {
    progress(`installing ${requirement} from PyPI into ${dir} (first run only)`);
    await runCommand(service, 'python3', ['-m', 'venv', dir]);
    await runCommand(service, join(dir, 'bin', 'pip'), [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      requirement,
    ]);
  });
  return join(venv, 'bin');
}
