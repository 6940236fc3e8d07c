// Local mode (`npm start`) as a user runs it, for the end-to-end tests: `tsx local/start.ts` in a child
// process with only what a user's shell has plus the documented LOCAL_* options, and the clients a user
// has (kubectl, HTTP).
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../services/ports.js';
import { repoRoot } from '../../services/kubectl.js';
import { inferenceModelManifest } from './builders.js';

/** A cold first start builds Kubernetes (about 25 min); the harness's global setup has built it already. */
export const START_TIMEOUT_MS = 10 * 60_000;
const RUNNING = 'The control plane is running';
const STOP_GRACE_MS = 30_000;

export interface Ports {
  api: number;
  metrics: number;
  webhook: number;
}

/** One `npm start`: its output so far, and what it printed to try. */
export class LocalMode {
  stdout = '';
  stderr = '';
  private readonly exit: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts with only what a user's shell has, plus the documented LOCAL_* options. */
  static async start(dataDir: string, ports: Ports, env: Record<string, string> = {}): Promise<LocalMode> {
    const inherited = Object.entries(process.env).filter(
      ([name]) =>
        ['PATH', 'HOME', 'TMPDIR', 'LANG', 'IBCP_CACHE_DIR'].includes(name) || name.startsWith('GO'),
    );
    const child = spawn(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
      cwd: repoRoot,
      env: {
        ...Object.fromEntries(inherited),
        LOCAL_API_PORT: String(ports.api),
        LOCAL_METRICS_PORT: String(ports.metrics),
        LOCAL_WEBHOOK_PORT: String(ports.webhook),
        LOCAL_DATA_DIR: dataDir,
        LOCAL_RECONCILE_SECONDS: '2',
        // Allocations of the first start's models are settled as soon as the second start sees them.
        ORPHAN_GRACE_SECONDS: '5',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const local = new LocalMode(child);
    const exited = local.exit.then((code) => {
      throw new Error(`local mode exited (${code}) while starting:\n${local.stderr}\n${local.stdout}`);
    });
    // The poll stops when the child exits: left polling for START_TIMEOUT_MS after a start that failed,
    // it kept jest from exiting for minutes after the last test.
    const running = eventually(
      '"running" printed',
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error('local mode exited');
        return local.stdout.includes(RUNNING);
      },
      START_TIMEOUT_MS,
    );
    await Promise.race([running, exited]).catch(async (error: unknown) => {
      await local.stop();
      throw error;
    });
    return local;
  }

  /** A line `export NAME=value` of the what-to-try text. */
  exported(name: string): string {
    const match = new RegExp(`export ${name}=(\\S+)`).exec(this.stdout);
    if (!match) throw new Error(`local mode printed no "export ${name}=":\n${this.stdout}`);
    return match[1]!;
  }

  /** The handlers' JSON log lines so far. */
  logs(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Ctrl-C: SIGINT, as the terminal sends it; resolves with the exit code. */
  interrupt(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exit;
  }

  /**
   * Ctrl-C first, so local mode stops the services it started (each in a process group of its own, which
   * a kill of local mode's group never reaches: left running, they would hold jest's pipes open); its
   * process group is killed only if it has not exited within STOP_GRACE_MS.
   */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(resolve, STOP_GRACE_MS, 'timeout').unref(),
    );
    if ((await Promise.race([this.exit, timeout])) !== 'timeout') return;
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exit;
  }
}

/** One small pool (LOCAL_POOLS), which keeps a run of several clusters' KWOK light. */
export const ONE_GPU_POOL = JSON.stringify([
  { name: 'gpu', nodeGroup: 'gpu', gpuMemoryPerNode: '80Gi', minNodes: 1, maxNodes: 1, gpusPerNode: 1 },
]);

/** A model of `memory` on `gpus` GPUs in the default namespace, as a user applies it (`kubectl apply -f -`). */
export function modelManifest(name: string, memory: string, gpus = 1, pool?: string): string {
  return JSON.stringify(
    inferenceModelManifest(
      name,
      {
        memory,
        containerImage: 'vllm/vllm-openai:v0.6.0',
        ...(pool ? { nodeSelector: { 'inference-pool': pool } } : {}),
        resources: { limits: { gpu: gpus } },
      },
      'default',
    ),
  );
}

/** Three free loopback ports, so parallel runs never collide. */
export async function freePorts(): Promise<Ports> {
  return { api: await freePort(), metrics: await freePort(), webhook: await freePort() };
}

export interface PoolView {
  name: string;
  totalBytes: number;
  allocatedBytes: number;
  availableBytes: number;
  allocations: { holder: string; memory: string }[];
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function pools(ports: Ports): Promise<Map<string, PoolView>> {
  const body = await getJson<{ pools: PoolView[] }>(`http://127.0.0.1:${ports.api}/v1/pools`);
  return new Map(body.pools.map((p) => [p.name, p]));
}

export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Whether something accepts connections on the loopback port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
