import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Raised when a service of the harness cannot be built or started; its message names the service. */
export class HarnessError extends Error {
  constructor(service: string, reason: string) {
    super(`[harness] ${service} could not start: ${reason}`);
    this.name = 'HarnessError';
  }
}

export interface RunningProcess {
  readonly name: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  logDir: string;
  env?: NodeJS.ProcessEnv;
  /** The process gets `env` alone, none of the caller's variables (a Lambda sees only its own). */
  isolatedEnv?: boolean;
  cwd?: string;
  /** Resolves true once the service answers; polled until `timeoutMs`. */
  isReady: () => Promise<boolean>;
  timeoutMs?: number;
}

const STOP_GRACE_MS = 5_000;

/** Starts a long-running service, waits until it is ready, and fails with its log tail if it is not. */
export async function startProcess(spec: ProcessSpec): Promise<RunningProcess> {
  await mkdir(spec.logDir, { recursive: true });
  const logFile = join(spec.logDir, `${spec.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.isolatedEnv ? spec.env : { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
  } catch (error) {
    throw new HarnessError(spec.name, `spawning ${spec.command} failed: ${String(error)}`);
  }
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exit: string | undefined;
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) =>
      reject(new HarnessError(spec.name, `${spec.command}: ${error.message}. Is it installed?`)),
    ),
  );
  spawnError.catch(() => undefined);
  child.once('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  const running: RunningProcess = { name: spec.name, logFile, stop: () => stopChild(child) };
  stopOnExit.add(child);

  const deadline = Date.now() + (spec.timeoutMs ?? 60_000);
  for (;;) {
    if (exit !== undefined) {
      throw new HarnessError(
        spec.name,
        `it exited (${exit}) before it was ready.\n${await logTail(logFile)}`,
      );
    }
    if (await Promise.race([spec.isReady().catch(() => false), spawnError])) return running;
    if (Date.now() > deadline) {
      await running.stop();
      throw new HarnessError(
        spec.name,
        `not ready after ${(spec.timeoutMs ?? 60_000) / 1000}s.\n${await logTail(logFile)}`,
      );
    }
    await sleep(200);
  }
}

/** Runs a command to completion (a build or an install step); throws with its output when it fails. */
export function runCommand(
  service: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => reject(new HarnessError(service, `${command}: ${error.message}`)));
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else
        reject(
          new HarnessError(
            service,
            `\`${command} ${args.join(' ')}\` failed (exit ${code}):\n${tail(output)}`,
          ),
        );
    });
  });
}

/** Progress for long steps goes to stderr so it shows while jest collects its own output. */
export function progress(message: string): void {
  process.stderr.write(`[harness] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  return response.ok;
}

const stopOnExit = new Set<ChildProcess>();
// A crashed or interrupted test run must not leave services behind; process groups die with us.
process.once('exit', () => {
  for (const child of stopOnExit) killGroup(child, 'SIGKILL');
});
// Ctrl-C or a kill ends the run without 'exit' handlers unless the signal is handled: stop the services.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of stopOnExit) killGroup(child, 'SIGKILL');
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  stopOnExit.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return `--- last lines of ${logFile} ---\n${tail(text)}`;
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
