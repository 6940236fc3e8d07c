// `cdk synth` of the checked-in configuration as a user runs it: cfn-lint finds no error in its template,
// and every Lambda bundle it writes, started as Lambda starts it (the Runtime Interface Emulator and
// AWS's Node.js runtime client, only the template's environment), answers a real event against the
// harness's services: a module missing from a bundle, or an ESM/CommonJS clash, fails here.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeOnce } from '../../../services/lambda-emulator.js';
import { harnessEnv } from '../../../services/service.js';
import { kubectlOk, installDeploy, uniqueName } from '../../../services/kubectl.js';
import {
  harnessResources,
  invocationOf,
  resolveEnvironment,
  synthesize,
  synthesizedFunctions,
  type SynthesizedFunction,
} from '../../../services/lambda-functions.js';
import { cfnLintErrors } from '../../support/cfn-lint.js';

const namespace = uniqueName('bundles');
let outDir = '';
let functions: SynthesizedFunction[] = [];
let environment: (fn: SynthesizedFunction) => Record<string, string>;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'ibcp-bundles-'));
  await installDeploy();
  await kubectlOk(['create', 'namespace', namespace]);
  const [, { resources, harness }] = await Promise.all([
    synthesize(outDir),
    harnessResources(
      {
        dynalite: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
        moto: harnessEnv('IBCP_MOTO_ENDPOINT'),
        kubeconfig: harnessEnv('IBCP_KUBECONFIG'),
        prometheus: harnessEnv('IBCP_PROMETHEUS_URL'),
      },
      namespace,
      namespace,
    ),
  ]);
  functions = await synthesizedFunctions(outDir);
  environment = (fn) => ({ ...resolveEnvironment(fn, resources), ...harness });
});

afterAll(async () => {
  await kubectlOk(['delete', 'namespace', namespace, '--wait=false']);
  await rm(outDir, { recursive: true, force: true });
});

it('synthesizes a template that cfn-lint finds no error in', async () => {
  expect(await cfnLintErrors(join(outDir, 'InferenceBudgetControlPlane.template.json'))).toBe('');
});

describe('the synthesized Lambda bundles', () => {
  it('are the five control plane functions', () => {
    expect(functions.map((fn) => fn.name)).toEqual([
      'AdmissionWebhook',
      'ReconcileModel',
      'ReconcileScheduled',
      'Remediation',
      'WarmUpApi',
    ]);
  });

  it('hold nothing of @kubernetes/client-node: on EKS they need none, and load it only for a kubeconfig file', async () => {
    for (const fn of functions) {
      const map = JSON.parse(await readFile(join(fn.taskRoot, 'index.mjs.map'), 'utf8')) as {
        sources: string[];
      };
      const client = map.sources.filter((source) => /node_modules\/(@kubernetes|undici)\//.test(source));
      expect({ name: fn.name, client }).toEqual({ name: fn.name, client: [] });
      // The bundles' own Kubernetes code is in them.
      expect(map.sources).toContainEqual(expect.stringMatching(/lambdas\/adapters\/kubernetes-api\.ts$/));
    }
  });

  it.each(['AdmissionWebhook', 'ReconcileModel', 'ReconcileScheduled', 'Remediation', 'WarmUpApi'])(
    '%s starts under the Lambda emulator and answers a real event',
    async (name) => {
      const fn = functions.find((f) => f.name === name)!;
      const { event, answered } = invocationOf(name, namespace);
      const run = await invokeOnce(
        {
          emulator: harnessEnv('IBCP_LAMBDA_RIE'),
          runtimeClient: harnessEnv('IBCP_LAMBDA_RIC'),
          ...fn,
          environment: environment(fn),
          logDir: join(outDir, 'logs'),
        },
        event,
      );
      const outcome = answered(run.response) ? 'answered' : `${JSON.stringify(run.response)}\n${run.log}`;
      expect(outcome).toBe('answered');
      expect(run.log).not.toMatch(/Runtime\.ImportModuleError|Runtime\.UserCodeSyntaxError|ERR_REQUIRE_ESM/);
    },
  );
});
