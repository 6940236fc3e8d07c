import { createRequire } from 'node:module';
import { freePort } from './ports.js';
import { startProcess } from './processes.js';
import type { StartedService } from './service.js';

/**
 * dynalite (npm, LevelDB-backed): an open-source implementation of the DynamoDB API. Amazon's DynamoDB
 * Local is not used: its licence is the vendor's own terms, not an open-source one. In memory unless
 * `path` names a folder for its LevelDB store (local mode keeps the ledger across starts that way).
 */
export async function startDynalite(
  runDir: string,
  options: { path?: string } = {},
): Promise<StartedService> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const script = createRequire(import.meta.url).resolve('dynalite/cli.js');
  const running = await startProcess({
    name: 'dynalite',
    command: process.execPath,
    args: [
      script,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--createTableMs',
      '0',
      '--deleteTableMs',
      '0',
      ...(options.path ? ['--path', options.path] : []),
    ],
    logDir: runDir,
    // dynalite answers any POST; a GET returns 400 with a JSON error, which still proves it listens.
    isReady: () => fetch(endpoint).then(() => true),
  });
  return { name: 'dynalite', env: { IBCP_DYNALITE_ENDPOINT: endpoint }, stop: running.stop };
}
