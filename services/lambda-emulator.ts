import { createHash } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cached } from './cache.js';
import { goBuild } from './go-build.js';
import { freePort } from './ports.js';
import { HarnessError, progress, runCommand, sleep, startProcess } from './processes.js';
import type { StartedService } from './service.js';

/** AWS publishes no tagged version of the emulator on the module proxy; this is a commit of its main branch. */
export const RIE_VERSION = 'v0.0.0-20261030222936-bef5c4ba774d';
const RIE_MODULE = 'github.com/aws/aws-lambda-runtime-interface-emulator';

/** `services/aws-lambda-ric/`: the runtime client's pinned package.json and lockfile. */
const RIC_PACKAGE = join(dirname(fileURLToPath(import.meta.url)), 'aws-lambda-ric');

/**
 * The AWS Lambda Runtime Interface Emulator (built from the Go module proxy): the Runtime API and the init
 * and invoke phases of Lambda, around the `aws-lambda-ric` runtime client (npm), which is the runtime
 * interface client AWS publishes for Node.js. A command, not a server: each run starts one.
 */
export async function prepareLambdaEmulator(): Promise<StartedService> {
  const [bin, runtimeClient] = await Promise.all([
    goBuild({
      component: 'aws-lambda-rie',
      cacheKey: `go/aws-lambda-rie-${RIE_VERSION}`,
      module: RIE_MODULE,
      version: RIE_VERSION,
      binaries: { 'aws-lambda-rie': `${RIE_MODULE}/cmd/aws-lambda-rie` },
    }),
    installRuntimeClient(),
  ]);
  return {
    name: `aws-lambda-rie ${RIE_VERSION.slice(-12)}`,
    env: { IBCP_LAMBDA_RIE: `${bin}/aws-lambda-rie`, IBCP_LAMBDA_RIC: runtimeClient },
    stop: async () => undefined,
  };
}

/**
 * `aws-lambda-ric` compiles curl, aws-lambda-cpp and its addon when installed (minutes), so it lives in
 * the harness cache, keyed by its lockfile, rather than in devDependencies that every `npm ci` rebuilds.
 * Its install scripts run on this repo's Node 22 (first on PATH), the Node that runs the bundles.
 */
async function installRuntimeClient(): Promise<string> {
  const lockfile = await readFile(join(RIC_PACKAGE, 'package-lock.json'));
  const lockHash = createHash('sha256').update(lockfile).digest('hex').slice(0, 12);
  const dir = await cached(`npm/aws-lambda-ric-${lockHash}`, async (target) => {
    progress(`installing aws-lambda-ric from npm into ${target} (first run only; it compiles for minutes)`);
    await copyFile(join(RIC_PACKAGE, 'package.json'), join(target, 'package.json'));
    await copyFile(join(RIC_PACKAGE, 'package-lock.json'), join(target, 'package-lock.json'));
    await runCommand('aws-lambda-ric', 'npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: target,
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    });
  });
  return join(dir, 'node_modules', 'aws-lambda-ric', 'index.mjs');
}

export interface LambdaRun {
  /** What the function returned (parsed JSON), or the runtime's error object. */
  response: unknown;
  /** The emulator's `INIT REPORT(durationMs)`: from starting the runtime to its first `/next`. */
  initMs: number;
  /** The emulator's `INVOKE RTDONE(duration)`: from handing the event to the runtime to its response. */
  invokeMs: number;
  /** The emulator's and the function's output. */
  log: string;
}

export interface LambdaSpec {
  /** The RIE binary (`IBCP_LAMBDA_RIE`). */
  emulator: string;
  /** The runtime client's entry point (`IBCP_LAMBDA_RIC`). */
  runtimeClient: string;
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
const INVOKE_DONE = /INVOKE RTDONE\(.*duration: ([\d.]+)ms\)/;

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
      spec.runtimeClient,
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
    const log = await logWith(running.logFile, INVOKE_DONE);
    const initMs = Number(INIT_REPORT.exec(log)?.[1]);
    if (Number.isNaN(initMs)) throw new HarnessError(name, `the emulator reported no init phase:\n${log}`);
    const invokeMs = Number(INVOKE_DONE.exec(log)?.[1]);
    if (Number.isNaN(invokeMs)) throw new HarnessError(name, `the emulator reported no invocation:\n${log}`);
    return { response: text ? (JSON.parse(text) as unknown) : undefined, initMs, invokeMs, log };
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
