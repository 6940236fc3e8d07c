// `npm run simulate` as a user runs it: a process, its exit status, stdout and stderr.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SimulationResult } from '../../../simulation/economics/result.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

async function simulate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      join(root, 'node_modules/.bin/tsx'),
      ['simulation/economics/cli.ts', ...args],
      { cwd: root },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simulate-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('npm run simulate', () => {
  it('refuses a bad flag with exit status 2, the reason on stderr and nothing on stdout', async () => {
    const bad = await simulate('--what-if', 'gpu-x.maxNodes=2');
    expect(bad).toEqual({
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(/^simulate: --what-if gpu-x\.maxNodes: no pool "gpu-x"/),
    });
    const help = await simulate('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run simulate/);
  });

  it('writes the default day as files, and replaying those files gives the default day figures', async () => {
    const files = join(dir, 'day');
    expect((await simulate('--write-default-day', files)).code).toBe(0);
    const embedded = await simulate('--out', join(dir, 'embedded'));
    const fromFiles = await simulate(
      '--models',
      join(files, 'models'),
      '--pools',
      join(files, 'pools.json'),
      '--trace',
      join(files, 'trace.csv'),
      '--out',
      join(dir, 'files'),
    );
    expect(embedded.code).toBe(0);
    expect(fromFiles.code).toBe(0);
    expect(embedded.stdout).toMatch(/^GPU node-hours\s/m);
    expect(embedded.stderr).toMatch(/\[simulate\] report: .*report\.html/);
    const figures = async (out: string) => {
      const result = JSON.parse(await readFile(join(dir, out, 'result.json'), 'utf8')) as SimulationResult;
      // The files list the models by file name, the embedded day in its own order.
      return result.policies.map(({ description: _d, models, ...figures }) => ({
        ...figures,
        models: [...models].sort((a, b) => a.model.localeCompare(b.model)),
      }));
    };
    expect(await figures('files')).toEqual(await figures('embedded'));
    expect(await readFile(join(dir, 'embedded', 'report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });
});
