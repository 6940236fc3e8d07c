import { join } from 'node:path';
import { freePort } from './ports.js';
import { httpOk, startProcess } from './processes.js';
import { pythonTool } from './python-venv.js';
import type { StartedService } from './service.js';

export const MOTO_REQUIREMENT = 'moto[server]==5.2.5';

/** moto in server mode: one endpoint that answers EKS, Auto Scaling, CloudWatch, SNS, EventBridge, STS, DynamoDB. */
export async function startMoto(runDir: string): Promise<StartedService> {
  const bin = await pythonTool('moto', MOTO_REQUIREMENT);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const running = await startProcess({
    name: 'moto',
    command: join(bin, 'moto_server'),
    args: ['-H', '127.0.0.1', '-p', String(port)],
    logDir: runDir,
    isReady: () => httpOk(`${endpoint}/moto-api/data.json`),
  });
  return {
    name: 'moto',
    env: {
      IBCP_MOTO_ENDPOINT: endpoint,
      // Fixed fake credentials: moto accepts any, and the SDK must never look for real ones in tests.
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
    },
    stop: running.stop,
  };
}
