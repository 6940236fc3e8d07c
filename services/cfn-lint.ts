import { join } from 'node:path';
import { pythonTool } from './python-venv.js';
import type { StartedService } from './service.js';

export const CFN_LINT_REQUIREMENT = 'cfn-lint==1.58.0';

/** cfn-lint is a command, not a server: "starting" it means installing it and publishing its path. */
export async function prepareCfnLint(): Promise<StartedService> {
  const bin = await pythonTool('cfn-lint', CFN_LINT_REQUIREMENT);
  return { name: 'cfn-lint', env: { IBCP_CFN_LINT: join(bin, 'cfn-lint') }, stop: async () => undefined };
}
