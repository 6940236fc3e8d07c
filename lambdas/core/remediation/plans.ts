/** What each playbook step changes in a ConfigMap, computed from what is there now (pure). */

export interface KeyChange {
  key: string;
  before: string | undefined;
  after: string;
}

export type Plan = { changes: KeyChange[]; problem: undefined } | { changes: []; problem: string };

/**
 * GPUMemoryUsageHigh: halve `batch_size` (not below the floor), raise `gradient_accumulation_steps` so the
 * effective batch (batch x steps) stays at least what it was, and turn on `gradient_checkpointing`.
 */
export function planGpuMemoryRelief(data: Readonly<Record<string, string>>, batchSizeFloor: number): Plan {
  const batch = wholeNumber(data.batch_size);
  if (batch === undefined) return problem(`batch_size is ${describe(data.batch_size)}, not a whole number`);
  const steps =
    data.gradient_accumulation_steps === undefined ? 1 : wholeNumber(data.gradient_accumulation_steps);
  if (steps === undefined) {
    return problem(
      `gradient_accumulation_steps is ${describe(data.gradient_accumulation_steps)}, not a whole number`,
    );
  }
  const changes: KeyChange[] = [];
  const halved = Math.max(batchSizeFloor, Math.floor(batch / 2));
  if (halved < batch) {
    changes.push({ key: 'batch_size', before: data.batch_size, after: String(halved) });
    const newSteps = Math.ceil((batch * steps) / halved);
    changes.push({
      key: 'gradient_accumulation_steps',
      before: data.gradient_accumulation_steps,
      after: String(newSteps),
    });
  }
  if (data.gradient_checkpointing !== 'true') {
    changes.push({ key: 'gradient_checkpointing', before: data.gradient_checkpointing, after: 'true' });
  }
  if (changes.length === 0) {
    return problem(
      `batch_size is already at its floor (${batchSizeFloor}) and gradient_checkpointing is on: nothing left to lower automatically`,
    );
  }
  return { changes, problem: undefined };
}

/** The playbook's starting coefficient, for a config that does not set it. */
export const DEFAULT_LOAD_BALANCE_LOSS_COEF = 0.01;
export const TARGET_EXPERT_CAPACITY_FACTOR = 1.5;

/** ExpertLoadImbalance, training ConfigMap: double `load_balance_loss_coef` (0.01 -> 0.02), up to the cap. */
export function planLoadBalanceCoef(data: Readonly<Record<string, string>>, cap: number): Plan {
  const current =
    data.load_balance_loss_coef === undefined
      ? DEFAULT_LOAD_BALANCE_LOSS_COEF
      : decimal(data.load_balance_loss_coef);
  if (current === undefined || current <= 0) {
    return problem(
      `load_balance_loss_coef is ${describe(data.load_balance_loss_coef)}, not a positive number`,
    );
  }
  const raised = Math.min(cap, round(current * 2));
  if (raised <= current) return { changes: [], problem: undefined };
  return {
    changes: [{ key: 'load_balance_loss_coef', before: data.load_balance_loss_coef, after: String(raised) }],
    problem: undefined,
  };
}

/** ExpertLoadImbalance: `expert_capacity_factor` to 1.5, never lowered. */
export function planCapacityFactor(data: Readonly<Record<string, string>>): Plan {
  const text = data.expert_capacity_factor;
  const current = text === undefined ? undefined : decimal(text);
  if (text !== undefined && current === undefined) {
    return problem(`expert_capacity_factor is ${describe(text)}, not a number`);
  }
  if (current !== undefined && current >= TARGET_EXPERT_CAPACITY_FACTOR)
    return { changes: [], problem: undefined };
  return {
    changes: [{ key: 'expert_capacity_factor', before: text, after: String(TARGET_EXPERT_CAPACITY_FACTOR) }],
    problem: undefined,
  };
}

/** The newest checkpoint the trainer reported, if it lies in the declared location and is named step-N. */
export function checkpointToRestartFrom(
  reported: string | undefined,
  location: string | undefined,
): { path: string; problem: undefined } | { path: undefined; problem: string } {
  if (!reported) return { path: undefined, problem: 'the trainer has reported no checkpoint' };
  if (!location) return { path: undefined, problem: 'the workload declares no checkpoint location' };
  const base = location.replace(/\/+$/, '');
  if (!new RegExp(`^${escape(base)}/step-[0-9]+$`).test(reported)) {
    return {
      path: undefined,
      problem: `the reported checkpoint ${JSON.stringify(reported.slice(0, 200))} is not ${base}/step-<N>`,
    };
  }
  return { path: reported, problem: undefined };
}

function problem(text: string): Plan {
  return { changes: [], problem: text };
}

function wholeNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*[0-9]+\s*$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function decimal(text: string): number | undefined {
  if (!/^\s*[0-9]*\.?[0-9]+(e-?[0-9]+)?\s*$/i.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** Doubling 0.01 must print 0.02, not 0.020000000000000004. */
function round(value: number): number {
  return Number(value.toPrecision(12));
}

function describe(text: string | undefined): string {
  return text === undefined ? 'missing' : JSON.stringify(text.slice(0, 40));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
