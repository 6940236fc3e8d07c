// The Cluster contract (test/support/cluster-contract.ts) on the real adapter and kube-apiserver; the same
// cases run on the in-memory FakeCluster in test/unit/core/reconcile/fake-cluster-contract.test.ts.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { kubeConfigFromFile } from '../../../services/kube-config.js';
import { kubeConfigEndpoint } from '../../../lambdas/adapters/kubeconfig-file.js';
import { INFERENCE_MODELS } from '../../../lambdas/adapters/kubernetes-cluster-mappers.js';
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import { harnessEnv } from '../../../services/service.js';
import { clusterContract } from '../../support/cluster-contract.js';
import { installDeploy, kubectl, uniqueName } from '../../../services/kubectl.js';
import { inferenceModelWithSpec } from '../../support/builders.js';

const namespace = uniqueName('contract');
const config = kubeConfigFromFile(harnessEnv('IBCP_KUBECONFIG'));
const custom = config.makeApiClient(CustomObjectsApi);
const core = config.makeApiClient(CoreV1Api);
const cluster = new KubernetesCluster(kubeConfigEndpoint(config), { namespaces: [namespace] });

beforeAll(async () => {
  await installDeploy();
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  // Finalizers would keep the namespace terminating forever once no control plane runs.
  for (const model of await cluster.listModels()) await cluster.removeFinalizer(model);
  await kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

describe('KubernetesCluster keeps the Cluster contract', () => {
  clusterContract(() => ({
    cluster,
    namespace,
    store: async (model) => {
      const { namespace, name } = model;
      await custom.createNamespacedCustomObject({
        ...INFERENCE_MODELS,
        namespace,
        body: inferenceModelWithSpec(name, model.spec, namespace),
      });
      return (await cluster.getModel(model))!;
    },
    startDeleting: async ({ namespace, name }) => {
      await custom.deleteNamespacedCustomObject({ ...INFERENCE_MODELS, namespace, name });
    },
  }));
});
