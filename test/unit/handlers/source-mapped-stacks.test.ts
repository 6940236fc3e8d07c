// A bundle built as the Lambdas are (minified ES module, source map without the sources' text), run
// without --enable-source-maps: its stack traces still name the TypeScript file and line.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { repoRoot } from '../../../services/kubectl.js';

const run = promisify(execFile);
const THROWING_LINE = 4;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ibcp-stacks-'));
  await writeFile(
    join(dir, 'entry.ts'),
    [
      `import '${join(repoRoot, 'lambdas/handlers/source-mapped-stacks.ts')}';`,
      'export function failing(detail: string): never {',
      '  const reason = `failed: ${detail}`;',
      '  throw new Error(reason);',
      '}',
      'try { failing("x"); } catch (error) { console.log((error as Error).stack); }',
    ].join('\n'),
  );
  await build({
    entryPoints: [join(dir, 'entry.ts')],
    outfile: join(dir, 'out', 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
  });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const stackOf = async () =>
  (await run(process.execPath, [join(dir, 'out', 'index.mjs')], { env: { PATH: process.env.PATH } })).stdout;

describe('source-mapped stacks in a bundle', () => {
  it('name the TypeScript source and line', async () => {
    const stack = await stackOf();
    expect(stack.split('\n')[0]).toBe('Error: failed: x');
    expect(stack).toContain(`${join(dir, 'entry.ts')}:${THROWING_LINE}:`);
  });

  it('leave the frames as V8 writes them when the bundle has no map', async () => {
    await rm(join(dir, 'out', 'index.mjs.map'));
    const stack = await stackOf();
    expect(stack).toContain(`${join(dir, 'out', 'index.mjs')}:`);
    expect(stack).not.toContain('entry.ts');
  });
});
