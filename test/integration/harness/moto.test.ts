import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DescribeNodegroupCommand,
  EKSClient,
} from '@aws-sdk/client-eks';
import { harnessEnv } from '../../../services/service.js';

describe('harness: moto', () => {
  const eks = new EKSClient({ endpoint: harnessEnv('IBCP_MOTO_ENDPOINT'), region: 'us-east-1' });
  afterAll(() => eks.destroy());

  it('creates and describes an EKS node group', async () => {
    await eks.send(
      new CreateClusterCommand({
        name: 'harness-smoke',
        roleArn: 'arn:aws:iam::123456789012:role/eks',
        resourcesVpcConfig: { subnetIds: ['subnet-1'] },
      }),
    );
    await eks.send(
      new CreateNodegroupCommand({
        clusterName: 'harness-smoke',
        nodegroupName: 'gpu-a100',
        nodeRole: 'arn:aws:iam::123456789012:role/node',
        subnets: ['subnet-1'],
        scalingConfig: { minSize: 0, maxSize: 4, desiredSize: 1 },
        labels: { 'inference-pool': 'gpu-a100' },
      }),
    );
    const { nodegroup } = await eks.send(
      new DescribeNodegroupCommand({ clusterName: 'harness-smoke', nodegroupName: 'gpu-a100' }),
    );
    expect(nodegroup?.scalingConfig).toEqual({ minSize: 0, maxSize: 4, desiredSize: 1 });
    expect(nodegroup?.labels).toEqual({ 'inference-pool': 'gpu-a100' });
  });
});
