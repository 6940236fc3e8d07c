// `cdk synth` as a user runs it (the CLI, the app in bin/, local esbuild bundling) with two clusters given
// on the command line, then cfn-lint on the template it wrote: zero errors. The checked-in configuration's
// synth is lambda-bundles.test.ts's, which lints its template too (one synth of it per run is enough).
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../../services/kubectl.js';
import { cfnLintErrors } from '../../support/cfn-lint.js';

const run = promisify(execFile);

describe('cdk synth', () => {
  let outDir = '';
  afterAll(() => rm(outDir, { recursive: true, force: true }));

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

  it('synthesizes two clusters into a template that cfn-lint finds no error in', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'cdk-out-'));
    await run(
      join(repoRoot, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', outDir, ...twoClusters],
      {
        cwd: repoRoot,
        env: { ...process.env, PATH: `${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH}` },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const templates = (await readdir(outDir)).filter((f) => f.endsWith('.template.json'));
    expect(templates).toEqual(['InferenceBudgetControlPlane.template.json']);
    expect(await cfnLintErrors(join(outDir, templates[0]!))).toBe('');
  });
});
