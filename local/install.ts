// What `kubectl apply -k deploy/` and the webhook templates' `envsubst | kubectl apply` do, through the
// Kubernetes API, so local mode needs no kubectl of its own when it governs an existing cluster.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  loadAllYaml,
  loadYaml,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';

const deployDir = fileURLToPath(new URL('../deploy/', import.meta.url));
const FIELD_MANAGER = 'ibcp-local';
const [GROUP, VERSION, PLURAL] = ['inference.eh-ops.io', 'v1alpha1', 'inferencemodels'];
const CRD_NAME = `${PLURAL}.${GROUP}`;

/**
 * Server-side applies deploy/ (the kustomization's resources) and waits until InferenceModels can be
 * listed: the CRD Established, and its storage past the "(re)initializing" 429s that follow.
 */
export async function installDeploy(config: KubeConfig, timeoutMs = 60_000): Promise<void> {
  await apply(config, await kustomizationObjects(deployDir));
  const extensions = config.makeApiClient(ApiextensionsV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crd = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    const served =
      established &&
      (await custom
        .listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, limit: 1 })
        .then(() => true)
        .catch(() => false));
    if (served) return;
    if (Date.now() > deadline) {
      throw new Error(`InferenceModels (CRD ${CRD_NAME}) not served after ${timeoutMs / 1000}s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The manifests a kustomization lists, in order; a folder it lists is a kustomization of its own. */
async function kustomizationObjects(dir: string): Promise<KubernetesObject[]> {
  const kustomization = loadYaml<{ resources: string[] }>(
    await readFile(join(dir, 'kustomization.yaml'), 'utf8'),
  );
  const objects: KubernetesObject[] = [];
  for (const resource of kustomization.resources) {
    const path = join(dir, resource);
    objects.push(
      ...((await stat(path)).isDirectory()
        ? await kustomizationObjects(path)
        : (loadAllYaml(await readFile(path, 'utf8')) as KubernetesObject[])),
    );
  }
  return objects;
}

/**
 * Registers the admission webhook at `url` (the validating route; the mutating one is `url/mutate`) from
 * deploy/webhook/'s templates, rendered as envsubst would with WEBHOOK_URL and CA_BUNDLE.
 */
export async function registerWebhook(config: KubeConfig, url: string, caPem: string): Promise<void> {
  const caBundle = Buffer.from(caPem).toString('base64');
  for (const kind of ['validating', 'mutating']) {
    const template = await readFile(join(deployDir, 'webhook', `${kind}-webhook-configuration.yaml`), 'utf8');
    const rendered = template.replaceAll('${WEBHOOK_URL}', url).replaceAll('${CA_BUNDLE}', caBundle);
    await apply(config, loadAllYaml(rendered) as KubernetesObject[]);
  }
}

async function apply(config: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(config);
  for (const object of objects) {
    await client.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }
}
