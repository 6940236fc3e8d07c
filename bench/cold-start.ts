// `npm run bench:cold-start`: synthesizes the stack and starts each Lambda bundle fresh under the AWS Lambda
// Runtime Interface Emulator with AWS's Node.js runtime client, as Lambda does, with the environment the
// template gives it (its references pointing at dynalite, moto and the harness's Kubernetes API), ten
// times, and prints the bundle size, the emulator's init duration and the duration of the first invocation
// (medians) next to the same figures for an empty handler bundled the same way (the floor). Work moved
// out of the import into the first invocation shows in the second.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FUNCTION_BUNDLING } from '../lib/control-plane-functions.js';
import { startDynalite } from '../services/dynalite.js';
import { startKubernetes } from '../services/kubernetes.js';
import { invokeOnce, prepareLambdaEmulator } from '../services/lambda-emulator.js';
import { startMoto } from '../services/moto.js';
import { progress } from '../services/processes.js';
import { startPrometheus } from '../services/prometheus.js';
import type { StartedService } from '../services/service.js';
import { installDeploy, kubectlOk } from '../services/kubectl.js';
import {
  harnessResources,
  invocationOf,
  resolveEnvironment,
  synthesize,
  synthesizedFunctions,
  type SynthesizedFunction,
} from '../services/lambda-functions.js';

const STARTS = 10;
const NAMESPACE = 'bench-cold-start';
const KiB = 1024;
const MiB = 1024 * KiB;

interface Row {
  name: string;
  bundleBytes: number;
  mapBytes: number;
  initMs: number;
  firstInvokeMs: number;
}

const runDir = await mkdtemp(join(tmpdir(), 'ibcp-bench-cold-start-'));
const services: StartedService[] = [];
try {
  services.push(
    await startDynalite(runDir),
    await startMoto(runDir),
    await startKubernetes(runDir),
    await startPrometheus(runDir),
    await prepareLambdaEmulator(),
  );
  for (const service of services) Object.assign(process.env, service.env);
  await installDeploy();
  await kubectlOk(['create', 'namespace', NAMESPACE]);

  progress('synthesizing the stack (bundles every Lambda)');
  const assembly = join(runDir, 'cdk.out');
  await synthesize(assembly);
  const functions = await synthesizedFunctions(assembly);
  const floor = await emptyHandlerBundle(join(runDir, 'floor.out'));
  const { resources, harness } = await harnessResources(
    {
      dynalite: process.env.IBCP_DYNALITE_ENDPOINT!,
      moto: process.env.IBCP_MOTO_ENDPOINT!,
      kubeconfig: process.env.IBCP_KUBECONFIG!,
      prometheus: process.env.IBCP_PROMETHEUS_URL!,
    },
    'bench-cold-start',
    NAMESPACE,
  );

  const targets = [
    { fn: floor, event: {} as unknown },
    ...functions.map((fn) => ({ fn, event: invocationOf(fn.name, NAMESPACE).event })),
  ];
  const runs = new Map<string, { initMs: number; invokeMs: number }[]>(
    targets.map(({ fn }) => [fn.name, []]),
  );
  progress(`starting the empty handler and each of ${functions.length} functions ${STARTS} times`);
  // Round by round, so that what else runs on the machine weighs on the floor as on the functions.
  for (let round = 0; round < STARTS; round++) {
    for (const { fn, event } of targets) {
      const environment = { ...resolveEnvironment(fn, resources), ...harness, POWERTOOLS_LOG_LEVEL: 'WARN' };
      const spec = {
        emulator: process.env.IBCP_LAMBDA_RIE!,
        runtimeClient: process.env.IBCP_LAMBDA_RIC!,
        ...fn,
        environment,
        logDir: join(runDir, 'logs'),
      };
      const { initMs, invokeMs } = await invokeOnce(spec, event);
      runs.get(fn.name)!.push({ initMs, invokeMs });
    }
  }
  const row = async (fn: SynthesizedFunction): Promise<Row> => {
    const bundle = join(fn.taskRoot, 'index.mjs');
    return {
      name: fn.name,
      bundleBytes: (await stat(bundle)).size,
      mapBytes: await stat(`${bundle}.map`).then(
        (s) => s.size,
        () => 0,
      ),
      initMs: median(runs.get(fn.name)!.map((r) => r.initMs)),
      firstInvokeMs: median(runs.get(fn.name)!.map((r) => r.invokeMs)),
    };
  };
  const floorRow = await row(floor);
  const rows = await Promise.all(functions.map(row));

  console.log(
    `\nLambda cold start under the Runtime Interface Emulator (aws-lambda-ric, Node ${process.versions.node}), median of ${STARTS} fresh starts; floor: an empty handler bundled the same way\n`,
  );
  console.log(
    '| function | bundle | source map | init (ms) | floor init (ms) | import (init − floor, ms) | ratio | first invocation (ms) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const summary: string[] = [];
  for (const row of rows) {
    const ratio = row.initMs / floorRow.initMs;
    summary.push(`${row.name} ${ratio.toFixed(2)}`);
    console.log(
      `| ${row.name} | ${size(row.bundleBytes)} | ${size(row.mapBytes)} | ${row.initMs.toFixed(0)} | ${floorRow.initMs.toFixed(0)} | ${(row.initMs - floorRow.initMs).toFixed(0)} | ${ratio.toFixed(2)} | ${row.firstInvokeMs.toFixed(0)} |`,
    );
  }
  console.log(
    `| (floor) empty handler | ${size(floorRow.bundleBytes)} | ${size(floorRow.mapBytes)} | ${floorRow.initMs.toFixed(0)} | ${floorRow.initMs.toFixed(0)} | 0 | 1.00 | ${floorRow.firstInvokeMs.toFixed(0)} |`,
  );
  const largest = Math.max(...rows.map((r) => r.bundleBytes));
  const slowest = Math.max(...rows.map((r) => r.initMs - floorRow.initMs));
  const invocations = rows.map((r) => r.firstInvokeMs);
  console.log(
    `\nSummary: init / floor: ${summary.join(', ')}; largest bundle ${size(largest)} (goal ≤ 1 MiB), slowest import ${slowest.toFixed(0)} ms (goal ≤ 100 ms); first invocation ${Math.min(...invocations).toFixed(0)}–${Math.max(...invocations).toFixed(0)} ms`,
  );
} finally {
  for (const service of services.reverse()) await service.stop();
  await rm(runDir, { recursive: true, force: true });
}

/** bench/empty-handler.ts through the same NodejsFunction bundling as the stack's functions. */
async function emptyHandlerBundle(outdir: string): Promise<SynthesizedFunction> {
  // The metadata the CDK CLI asks for, which tells a bundle's folder and construct path.
  const app = new App({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true },
  });
  const stack = new Stack(app, 'ColdStartFloor');
  new NodejsFunction(stack, 'EmptyHandler', {
    entry: new URL('./empty-handler.ts', import.meta.url).pathname,
    handler: 'handler',
    runtime: Runtime.NODEJS_22_X,
    bundling: FUNCTION_BUNDLING,
  });
  app.synth();
  const [fn] = await synthesizedFunctions(outdir, 'ColdStartFloor');
  if (!fn) throw new Error(`no bundled function in ${(await readdir(outdir)).join(', ')}`);
  return fn;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function size(bytes: number): string {
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(2)} MiB`;
  return bytes >= 10 * KiB ? `${(bytes / KiB).toFixed(0)} KiB` : `${bytes} B`;
}
