import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { harnessEnv } from '../../../services/service.js';

const run = promisify(execFile);

describe('harness: cfn-lint', () => {
  it('passes a valid template and reports an error in a broken one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfn-lint-smoke-'));
    const valid = join(dir, 'valid.json');
    const broken = join(dir, 'broken.json');
    const topic = { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'on-call' } };
    await writeFile(valid, JSON.stringify({ Resources: { Topic: topic } }));
    await writeFile(
      broken,
      JSON.stringify({ Resources: { Topic: { ...topic, Properties: { TopicNam: 1 } } } }),
    );
    const cfnLint = harnessEnv('IBCP_CFN_LINT');

    await expect(run(cfnLint, [valid])).resolves.toBeDefined();
    const failure = await run(cfnLint, [broken]).then(
      () => undefined,
      (error: { stdout: string }) => error.stdout,
    );
    expect(failure).toMatch(/E3002|TopicNam/);
  });
});
