/**
 * Real concurrency on one thread: every port call of every running Lambda waits at a gate, and the
 * interleaver decides which waiting call goes next, so invocations interleave at every `await` in an
 * order a seed chooses. At a gate a Lambda can also stop for good (a crash or timeout) or have a write
 * succeed while its answer is lost.
 */
export interface Task {
  readonly id: number;
  readonly name: string;
  crashed: boolean;
  done: boolean;
}

export type GateOutcome = 'proceed' | 'lose-answer';

export interface FaultRates {
  /** Chance that a Lambda stops at a gate and never resumes. */
  crash: number;
  /** Chance that a write succeeds but its answer is lost (the SDK retries, or the client sees an error). */
  lostAnswer: number;
}

export const NO_FAULTS: FaultRates = { crash: 0, lostAnswer: 0 };

interface Waiting {
  task: Task;
  write: boolean;
  resume: (outcome: GateOutcome) => void;
}

/** A small seeded generator (mulberry32): the interleaving replays exactly from the seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Interleaver {
  private readonly waiting: Waiting[] = [];
  private nextId = 1;
  /** No call has run since the last drain ended (only `start` runs Lambda code between steps). */
  private quiet = false;
  readonly tasks: Task[] = [];
  faults: FaultRates = NO_FAULTS;

  constructor(
    readonly random: () => number,
    private readonly onStep: () => void = () => undefined,
  ) {}

  /** Starts a Lambda invocation; it runs until its first gate. Its errors are its own (a Lambda fails). */
  start<T>(name: string, body: (task: Task) => Promise<T>, onDone?: (result: T | Error) => void): Task {
    const task: Task = { id: this.nextId++, name, crashed: false, done: false };
    this.tasks.push(task);
    this.quiet = false;
    body(task).then(
      (result) => {
        task.done = true;
        onDone?.(result);
      },
      (error: unknown) => {
        task.done = true;
        onDone?.(error instanceof Error ? error : new Error(String(error)));
      },
    );
    return task;
  }

  /** Called by the ports before each call: resolves when the interleaver lets the task go on. */
  gate(task: Task, write: boolean): Promise<GateOutcome> {
    return new Promise((resume) => this.waiting.push({ task, write, resume }));
  }

  /** Lets one waiting call go (or stop its Lambda); false when nothing waits. */
  async step(): Promise<boolean> {
    // Each drain is a turn of the event loop, the suite's main cost; after a step's own drain, only a
    // start can have left calls short of their gate.
    if (!this.quiet) await drainMicrotasks();
    if (this.waiting.length === 0) return false;
    const index = Math.floor(this.random() * this.waiting.length);
    const [chosen] = this.waiting.splice(index, 1);
    this.onStep();
    const { task, write, resume } = chosen!;
    if (this.random() < this.faults.crash) {
      task.crashed = true;
      task.done = true; // never resumed: the Lambda stopped here
    } else {
      resume(write && this.random() < this.faults.lostAnswer ? 'lose-answer' : 'proceed');
    }
    await drainMicrotasks();
    this.quiet = true;
    return true;
  }

  /** Runs until every started Lambda has finished or stopped. */
  async settle(): Promise<void> {
    while (await this.step());
  }

  get busy(): boolean {
    return this.waiting.length > 0;
  }

  running(name: string): boolean {
    return this.tasks.some((t) => t.name === name && !t.done);
  }
}

/** Every resumed call runs on in microtasks until its next gate; a macrotask turn lets them all. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
