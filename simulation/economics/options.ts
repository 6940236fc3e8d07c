import { parseArgs } from 'node:util';
import { InputError } from './scenario.js';

export const USAGE = `Usage: npm run simulate [-- options]

Replays request traffic through the control plane's own logic (lambdas/core) in a simulated cluster
and compares policies side by side: GPU node-hours, cost, cold starts, waits, 429s (docs/simulate.md).
With no input it replays the embedded default: a generated bursty day of 20 models in 3 pools.

Inputs (all three, or none for the default day):
  --models DIR         InferenceModel YAML/JSON manifests, as you kubectl apply them
  --pools FILE         the CDK "pools" list (JSON or YAML), each pool with pricePerNodeHour or an
                       instanceType with a default price, optionally nodeBootSeconds
  --trace FILE         requests in time order: CSV "timestamp,namespace,name" or JSON Lines
                       {"timestamp","namespace","name"}; timestamps RFC 3339 or Unix seconds

Start-up model and control plane:
  --node-boot SECONDS  node boot time for pools without nodeBootSeconds (default 300)
  --image-pull SECONDS image pull on a node that does not have it yet (default 60)
  --load-rate GIB/S    weight loading rate into GPU memory (default 1)
  --interval SECONDS   scheduled reconcile pass interval (default 60)

Default day:
  --seed N             the generator's seed (default 20261201)
  --requests N         requests in the day (default about 31,000)
  --write-default-day DIR
                       write the default day as --models, --pools and --trace files, and stop

Output:
  --out DIR            where report.html and result.json go (default simulate-report)
  --what-if KNOB=VALUES
                       replay the control plane once per value and print the trade-off curve. KNOB is
                       POOL.maxNodes, cooldown (every model) or NAMESPACE/NAME.cooldown; VALUES a list
                       (5m,10m,30m) or, for maxNodes, a range (1..6)
  --help               this text

The table goes to stdout, progress to stderr. Exit status 2 for bad input.`;

export interface Options {
  readonly inputs: { readonly models: string; readonly pools: string; readonly trace: string } | undefined;
  readonly out: string;
  readonly whatIf: string | undefined;
  readonly seed: number | undefined;
  readonly requests: number | undefined;
  readonly nodeBootSeconds: number | undefined;
  readonly imagePullSeconds: number | undefined;
  readonly weightLoadGiBPerSecond: number | undefined;
  readonly intervalSeconds: number | undefined;
  readonly writeDefaultDay: string | undefined;
  readonly help: boolean;
}

const SPEC = {
  models: { type: 'string' },
  pools: { type: 'string' },
  trace: { type: 'string' },
  out: { type: 'string' },
  'what-if': { type: 'string' },
  seed: { type: 'string' },
  requests: { type: 'string' },
  'node-boot': { type: 'string' },
  'image-pull': { type: 'string' },
  'load-rate': { type: 'string' },
  interval: { type: 'string' },
  'write-default-day': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseOptions(args: readonly string[]): Options {
  let values: Partial<Record<keyof typeof SPEC, string | boolean>>;
  try {
    ({ values } = parseArgs({ args: [...args], options: SPEC, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new InputError(`${(error as Error).message.split('\n')[0]} (see --help)`);
  }
  const text = (key: keyof typeof SPEC) => values[key] as string | undefined;
  const given = (['models', 'pools', 'trace'] as const).filter((key) => text(key) !== undefined);
  if (given.length > 0 && given.length < 3) {
    throw new InputError('--models, --pools and --trace go together (or give none for the default day)');
  }
  if (given.length === 3 && (text('seed') !== undefined || text('requests') !== undefined)) {
    throw new InputError('--seed and --requests shape the default day; they do not apply to --trace');
  }
  return {
    inputs:
      given.length === 3
        ? { models: text('models')!, pools: text('pools')!, trace: text('trace')! }
        : undefined,
    out: text('out') ?? 'simulate-report',
    whatIf: text('what-if'),
    seed: number(text('seed'), '--seed', { integer: true, min: 0, max: 2 ** 32 - 1 }),
    requests: number(text('requests'), '--requests', { integer: true, min: 1, max: 100_000_000 }),
    nodeBootSeconds: number(text('node-boot'), '--node-boot', { min: 0, max: 3600 }),
    imagePullSeconds: number(text('image-pull'), '--image-pull', { min: 0, max: 3600 }),
    weightLoadGiBPerSecond: number(text('load-rate'), '--load-rate', { min: 0.001, max: 1000 }),
    intervalSeconds: number(text('interval'), '--interval', { integer: true, min: 1, max: 3600 }),
    writeDefaultDay: text('write-default-day'),
    help: values.help === true,
  };
}

function number(
  text: string | undefined,
  flag: string,
  rule: { integer?: boolean; min: number; max: number },
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const kind = rule.integer ? 'a whole number' : 'a number';
  if (
    text.trim() === '' ||
    !Number.isFinite(value) ||
    (rule.integer && !Number.isInteger(value)) ||
    value < rule.min ||
    value > rule.max
  ) {
    throw new InputError(`${flag} must be ${kind} from ${rule.min} to ${rule.max}, got "${text}"`);
  }
  return value;
}
