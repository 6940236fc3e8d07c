import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DAY_POOLS, dayManifests, defaultDay } from './default-day.js';

/**
 * `--write-default-day DIR`: the default day as the files `--models`, `--pools` and `--trace` read, to
 * start a scenario of your own from, or to see the formats. Replaying them gives the default day's figures.
 */
export async function writeDefaultDay(
  dir: string,
  options: { seed?: number; requestsPerDay?: number },
): Promise<string[]> {
  const models = join(dir, 'models');
  await mkdir(models, { recursive: true });
  for (const manifest of dayManifests()) {
    const { name, namespace } = manifest.metadata as { name: string; namespace: string };
    await writeFile(join(models, `${namespace}-${name}.yaml`), stringify(manifest));
  }
  const pools = join(dir, 'pools.json');
  await writeFile(pools, `${JSON.stringify(DAY_POOLS, null, 2)}\n`);
  const trace = join(dir, 'trace.csv');
  const file = createWriteStream(trace);
  file.write('timestamp,namespace,name\n');
  for await (const request of defaultDay(options).openTrace()) {
    if (!file.write(`${new Date(request.atMs).toISOString()},${request.namespace},${request.name}\n`)) {
      await new Promise<void>((resolve) => file.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve, reject) => file.end(() => resolve()).once('error', reject));
  return [models, pools, trace];
}
