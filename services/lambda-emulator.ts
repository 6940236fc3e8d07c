import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { goBuild } from './go-build.js';
import { freePort } from './ports.js';
import { HarnessError, sleep, startProcess } from './processes.js';
import type { StartedService } from './service.js';

/** AWS publishes no tagged version of the emulator on the module proxy; this is a commit of its main branch. */
export const RIE_VERSION = 'v0.0.0-20261030222936-bef5c4ba774d';
const RIE_MODULE = 'github.com/aws/aws-lambda-runtime-interface-emulator';

/**
 * The AWS Lambda Runtime Interface Emulator (built from the Go module proxy): the Runtime API and the init
 * and invoke phases of Lambda, around the `aws-lambda-ric` runtime client (npm, devDependency), which is
 * the runtime interface client AWS publishes for Node.js. A command, not a server: each run starts one.
 */
export async function prepareLambdaEmulator(): Promise<StartedService> {
  const bin = await goBuild({
    component: 'aws-lambda-rie',
    cacheKey: `go/aws-lambda-rie-${RIE_VERSION}`,
    module: RIE_MODULE,
    version: RIE_VERSION,
    binaries: { 'aws-lambda-rie': `${RIE_MODULE}/cmd/aws-lambda-rie` },
  });
  return {
    name: `aws-lambda-rie ${RIE_VERSION.slice(-12)}`,
    env: { IBCP_LAMBDA_RIE: `${bin}/aws-lambda-rie` },
    stop: async () => undefined,
  };
}

export interface LambdaRun {
  /** What the function returned (parsed JSON), or the runtime's error object. */
  response: unknown;
  /** The emulator's `INIT REPORT(durationMs)`: from starting the runtime to its first `/next`. */
  initMs: number;
  /** The emulator's and the function's output. */
  log: string;
}

export interface LambdaSpec {
  /** The RIE binary (`IBCP_LAMBDA_RIE`). */
  emulator: string;
  /** The unzipped bundle, as Lambda lays it out in /var/task. */
  taskRoot: string;
  /** `file.export`, e.g. `index.handler`. */
  handler: string;
  /** The function's environment variables (plus, in tests, the endpoints of the harness's services). */
  environment: Record<string, string>;
  logDir: string;
  timeoutSeconds?: number;
}

const INIT_REPORT = /INIT REPORT\(durationMs: ([\d.]+)\)/;

/**
 * Starts a fresh execution environment (emulator + runtime client + function), invokes it once with
 * `event` and stops it. Only what the template sets reaches the function: no variable of the caller.
 */
export async function invokeOnce(spec: LambdaSpec, event: unknown): Promise<LambdaRun> {
  const [apiPort, invokePort] = [await freePort(), await freePort()];
  const name = `lambda-${invokePort}`;
  const running = await startProcess({
    name,
    command: spec.emulator,
    args: [
      `--runtime-api-address=127.0.0.1:${apiPort}`,
      `--runtime-interface-emulator-address=127.0.0.1:${invokePort}`,
      // Lambda's own Node 22 stands in as this repo's pinned Node 22; the runtime client is AWS's.
      process.execPath,
      createRequire(import.meta.url).resolve('aws-lambda-ric'),
      spec.handler,
    ],
    cwd: spec.taskRoot,
    isolatedEnv: true,
    env: {
      PATH: '/usr/bin:/bin',
      LAMBDA_TASK_ROOT: spec.taskRoot,
      AWS_LAMBDA_FUNCTION_TIMEOUT: String(spec.timeoutSeconds ?? 30),
      LOG_LEVEL: 'info',
      ...spec.environment,
    },
    logDir: spec.logDir,
    // The emulator answers on its port at once (404 here) and starts the runtime on the first invocation.
    isReady: () => fetch(`http://127.0.0.1:${invokePort}/`).then((r) => (void r.body?.cancel(), true)),
  });
  try {
    const answer = await fetch(`http://127.0.0.1:${invokePort}/2015-03-31/functions/function/invocations`, {
      method: 'POST',
      body: JSON.stringify(event),
    });
    const text = await answer.text();
    const log = await logWith(running.logFile, INIT_REPORT);
    const initMs = Number(INIT_REPORT.exec(log)?.[1]);
    if (Number.isNaN(initMs)) throw new HarnessError(name, `the emulator reported no init phase:\n${log}`);
    return { response: text ? (JSON.parse(text) as unknown) : undefined, initMs, log };
  } finally {
    await running.stop();
  }
}

/** The log once it holds `line` (its writes trail the process by a moment), or as it is after a second. */
async function logWith(logFile: string, line: RegExp): Promise<string> {
  let log = '';
  for (let waited = 0; waited < 1_000; waited += 20) {
    log = await readFile(logFile, 'utf8');
    if (line.test(log)) break;
    await sleep(20);
  }
  return log;
}
