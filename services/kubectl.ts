import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { harnessEnv } from './service.js';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const CRD_NAME = 'inferencemodels.inference.eh-ops.io';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

// One discovery cache per test file (jest gives each its own module registry), so parallel files
// never share kubectl's cache directory.
const cacheDir = mkdtempSync(join(tmpdir(), 'ibcp-kubectl-cache-'));

/** Runs the harness's kubectl against its apiserver; never throws on a non-zero exit. */
export function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  return runKubectl(
    harnessEnv('IBCP_KUBECTL'),
    harnessEnv('IBCP_KUBECONFIG'),
    ['--cache-dir', cacheDir, ...args],
    input,
  );
}

/** A kubectl binary against a kubeconfig, from the repository folder (as the printed commands assume). */
export function runKubectl(
  binary: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<KubectlResult> {
  const child = spawn(binary, args, {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** kubectl that must succeed; the failure names the command and what kubectl said. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0) {
    throw new Error(
      `kubectl ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

/** `kubectl apply -k deploy/` until the CRD is Established; retried when a parallel test file's apply wins a conflict. */
export async function installDeploy(): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const result = await kubectl(['apply', '-k', join(repoRoot, 'deploy')]);
    if (result.code === 0) {
      await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`]);
      return result.stdout;
    }
    if (attempt === 3 || !/conflict|modified/i.test(result.stderr)) {
      throw new Error(`kubectl apply -k deploy/ failed (exit ${result.code}):\n${result.stderr}`);
    }
  }
}

/** A namespace of the test's own, so parallel test files never see each other's objects. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** `kubectl apply` of an InferenceModel as a model owner writes one: a GPU model with an image in a pool. */
export async function applyInferenceModel(
  ref: { namespace: string; name: string },
  spec: { memory: string; pool: string } & Record<string, unknown>,
): Promise<void> {
  const { memory, pool, ...extra } = spec;
  const manifest = {
    apiVersion: 'inference.eh-ops.io/v1alpha1',
    kind: 'InferenceModel',
    metadata: ref,
    spec: {
      modelName: ref.name,
      memory,
      backendUrl: `http://${ref.name}.${ref.namespace}.svc:8000`,
      nodeSelector: { 'inference-pool': pool },
      containerImage: 'registry.example/vllm-openai:v0.6.0',
      resources: { limits: { gpu: 1 } },
      ...extra,
    },
  };
  await kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest));
}
