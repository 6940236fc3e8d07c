// `npm run simulate`: replays traffic through the control plane's own logic and compares policies
// (docs/simulate.md). The table goes to stdout, progress and warnings to stderr, the report to --out.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { holderOf } from '../../lambdas/core/inference-model.js';
import { defaultDay } from './default-day.js';
import { readModels } from './inputs/models.js';
import { readPools } from './inputs/pools.js';
import {
  DEFAULT_NODE_BOOT_SECONDS,
  DEFAULT_RECONCILE_INTERVAL_SECONDS,
  DEFAULT_STARTUP,
} from './inputs/startup.js';
import { readTrace } from './inputs/trace.js';
import { parseOptions, USAGE, type Options } from './options.js';
import { htmlReport } from './report/html.js';
import { sideBySide, whatIfTable } from './report/table.js';
import { simulate } from './replay/simulate.js';
import { InputError, type Scenario } from './scenario.js';
import { parseWhatIf } from './what-if.js';
import { writeDefaultDay } from './write-default-day.js';

const progress = (line: string) => process.stderr.write(`[simulate] ${line}\n`);

export async function main(args: readonly string[]): Promise<number> {
  try {
    const options = parseOptions(args);
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (options.writeDefaultDay !== undefined) {
      const files = await writeDefaultDay(options.writeDefaultDay, dayOptions(options));
      progress(`wrote ${files.join(', ')}`);
      return 0;
    }
    const scenario = withStartup(await scenarioOf(options), options);
    const whatIf = options.whatIf === undefined ? undefined : parseWhatIf(options.whatIf, scenario);
    const result = await simulate(scenario, whatIf, progress);
    process.stdout.write(sideBySide(result) + whatIfTable(result));
    const out = resolve(options.out);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'report.html'), htmlReport(result));
    await writeFile(join(out, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
    progress(
      `report: ${join(out, 'report.html')} (data: result.json), ${result.elapsedSeconds.toFixed(1)} s`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    process.stderr.write(`simulate: ${error.message}\n`);
    return 2;
  }
}

async function scenarioOf(options: Options): Promise<Scenario> {
  if (!options.inputs) return defaultDay(dayOptions(options));
  const { models: dir, pools: poolsFile, trace } = options.inputs;
  const pools = await readPools(poolsFile, options.nodeBootSeconds ?? DEFAULT_NODE_BOOT_SECONDS);
  const read = await readModels(dir, pools);
  for (const warning of read.warnings) progress(warning);
  if (read.skipped > 0) progress(`${dir}: ${read.skipped} document(s) that are not InferenceModels left out`);
  const known = new Set(read.models.map(holderOf));
  return {
    description: `${trace} (${read.models.length} models from ${dir}, ${pools.length} pools from ${poolsFile})`,
    models: read.models,
    pools,
    startup: DEFAULT_STARTUP,
    reconcileIntervalSeconds: DEFAULT_RECONCILE_INTERVAL_SECONDS,
    openTrace: () => readTrace(trace, known),
  };
}

function dayOptions(options: Options): { seed?: number; requestsPerDay?: number } {
  return {
    ...(options.seed !== undefined && { seed: options.seed }),
    ...(options.requests !== undefined && { requestsPerDay: options.requests }),
  };
}

/** The start-up and interval flags over the scenario's own; `--node-boot` also over the default day's pools. */
function withStartup(scenario: Scenario, options: Options): Scenario {
  return {
    ...scenario,
    startup: {
      imagePullSeconds: options.imagePullSeconds ?? scenario.startup.imagePullSeconds,
      weightLoadGiBPerSecond: options.weightLoadGiBPerSecond ?? scenario.startup.weightLoadGiBPerSecond,
    },
    reconcileIntervalSeconds: options.intervalSeconds ?? scenario.reconcileIntervalSeconds,
    pools:
      options.nodeBootSeconds !== undefined && !options.inputs
        ? scenario.pools.map((p) => ({ ...p, nodeBootSeconds: options.nodeBootSeconds! }))
        : scenario.pools,
  };
}

process.exitCode = await main(process.argv.slice(2));
