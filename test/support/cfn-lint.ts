import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { harnessEnv } from '../../services/service.js';

const run = promisify(execFile);

/**
 * What cfn-lint reports as errors in a synthesized template ('' when none). Its exit code is a bit mask:
 * 2 errors, 4 warnings, 8 informational; only errors count.
 */
export async function cfnLintErrors(templatePath: string): Promise<string> {
  const result = await run(harnessEnv('IBCP_CFN_LINT'), [templatePath]).then(
    () => ({ code: 0, stdout: '' }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  return result.code & 2 ? result.stdout || `cfn-lint exited ${result.code}` : '';
}
