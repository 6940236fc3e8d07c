import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { kubernetesTarget } from '../../../lambdas/config.js';
import { KubeConfigSource } from '../../../lambdas/handlers/composition-root/kube-config-source.js';
import { harnessEnv } from '../../../services/service.js';
import { motoClients } from '../../../services/node-groups.js';

describe('KubeConfigSource on EKS (DescribeCluster on moto)', () => {
  beforeAll(() => {
    // The SDK reads the EKS endpoint from the environment, as the Lambda's client does.
    process.env.AWS_ENDPOINT_URL_EKS = harnessEnv('IBCP_MOTO_ENDPOINT');
  });
  afterAll(() => {
    delete process.env.AWS_ENDPOINT_URL_EKS;
  });

  it('asks DescribeCluster again after a failure, instead of keeping the failure for the environment’s life', async () => {
    const name = `kube-config-${Date.now()}`;
    const kubeConfigs = new KubeConfigSource(
      kubernetesTarget({ EKS_CLUSTER_NAME: name, AWS_REGION: 'us-east-1' }),
    );
    // The cluster does not exist yet: DescribeCluster fails, as a throttle or an outage would.
    await expect(kubeConfigs.current()).rejects.toThrow(name);
    await motoClients().eks.send(
      new CreateClusterCommand({
        name,
        roleArn: 'arn:aws:iam::123456789012:role/eks',
        resourcesVpcConfig: { subnetIds: ['subnet-1'] },
      }),
    );
    await expect(kubeConfigs.current()).resolves.toBeDefined();
  });
});
