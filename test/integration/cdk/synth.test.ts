// `cdk synth` as a user runs it (the CLI, the app in bin/, local esbuild bundling), then cfn-lint on the
// template it wrote: zero errors.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { harnessEnv } from '../../../services/service.js';
import { repoRoot } from '../../../services/kubectl.js';

const run = promisify(execFile);

describe('cdk synth', () => {
  const outDirs: string[] = [];
  afterAll(() => Promise.all(outDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  // Two clusters from the command line over cdk.json's single-cluster form, which empty values clear.
  const twoClusters = [
    '-c',
    'inferenceBudget.clusterName=',
    '-c',
    'inferenceBudget.pools=',
    '-c',
    `inferenceBudget.clusters=${JSON.stringify([
      {
        name: 'gpu-inference',
        pools: [{ name: 'gpu-a100', nodeGroup: 'a100', gpuMemoryPerNode: '320Gi', minNodes: 0, maxNodes: 4 }],
      },
      {
        name: 'gpu-staging',
        pools: [{ name: 'gpu-a100', nodeGroup: 'a100', gpuMemoryPerNode: '320Gi', minNodes: 0, maxNodes: 1 }],
      },
    ])}`,
  ];

  it.each([
    ['the checked-in configuration', []],
    ['two clusters', twoClusters],
  ])('synthesizes %s into a template that cfn-lint finds no error in', async (_name, extra) => {
    const outDir = await mkdtemp(join(tmpdir(), 'cdk-out-'));
    outDirs.push(outDir);
    await run(
      join(repoRoot, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', outDir, ...extra],
      {
        cwd: repoRoot,
        env: { ...process.env, PATH: `${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH}` },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const templates = (await readdir(outDir)).filter((f) => f.endsWith('.template.json'));
    expect(templates).toEqual(['InferenceBudgetControlPlane.template.json']);
    // cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational. Only errors fail.
    const result = await run(harnessEnv('IBCP_CFN_LINT'), [join(outDir, templates[0]!)]).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect({ errors: (result.code & 2) !== 0, output: result.code & 2 ? result.stdout : '' }).toEqual({
      errors: false,
      output: '',
    });
  });
});
