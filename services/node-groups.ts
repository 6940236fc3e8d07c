import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DescribeNodegroupCommand,
  EKSClient,
  ResourceInUseException,
} from '@aws-sdk/client-eks';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createGpuNode } from './gpu-nodes.js';
import { harnessEnv } from './service.js';

const MOTO_AMI = 'ami-12c6146b';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export function motoClients() {
  const endpoint = harnessEnv('IBCP_MOTO_ENDPOINT');
  return {
    eks: new EKSClient({ endpoint, region: 'us-east-1', credentials }),
    autoScaling: new AutoScalingClient({ endpoint, region: 'us-east-1', credentials }),
  };
}

export interface TestNodeGroup {
  cluster: string;
  nodeGroup: string;
  pool: string;
  autoScalingGroup: string;
}

/**
 * An EKS managed node group on moto with a real moto Auto Scaling group behind it. moto's CreateNodegroup
 * names an Auto Scaling group in `resources` but does not create it, so this creates it under that name,
 * from a launch configuration, as EKS would.
 */
export async function createNodeGroup(
  clients: ReturnType<typeof motoClients>,
  spec: { cluster: string; nodeGroup: string; pool: string; min: number; max: number; desired: number },
): Promise<TestNodeGroup> {
  await clients.eks
    .send(
      new CreateClusterCommand({
        name: spec.cluster,
        roleArn: 'arn:aws:iam::123456789012:role/eks',
        resourcesVpcConfig: { subnetIds: ['subnet-1'] },
      }),
    )
    .catch((error: unknown) => {
      if (!(error instanceof ResourceInUseException)) throw error;
    });
  await clients.eks.send(
    new CreateNodegroupCommand({
      clusterName: spec.cluster,
      nodegroupName: spec.nodeGroup,
      nodeRole: 'arn:aws:iam::123456789012:role/node',
      subnets: ['subnet-1'],
      scalingConfig: { minSize: spec.min, maxSize: spec.max, desiredSize: spec.desired },
      labels: { 'inference-pool': spec.pool },
    }),
  );
  const { nodegroup } = await clients.eks.send(
    new DescribeNodegroupCommand({ clusterName: spec.cluster, nodegroupName: spec.nodeGroup }),
  );
  const autoScalingGroup = nodegroup!.resources!.autoScalingGroups![0]!.name!;
  await clients.autoScaling.send(
    new CreateLaunchConfigurationCommand({
      LaunchConfigurationName: autoScalingGroup,
      ImageId: MOTO_AMI,
      InstanceType: 'p4d.24xlarge',
    }),
  );
  await clients.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: autoScalingGroup,
      LaunchConfigurationName: autoScalingGroup,
      MinSize: spec.min,
      MaxSize: spec.max,
      DesiredCapacity: spec.desired,
      AvailabilityZones: ['us-east-1a'],
      Tags: [
        { Key: 'eks:cluster-name', Value: spec.cluster, PropagateAtLaunch: true },
        { Key: 'eks:nodegroup-name', Value: spec.nodeGroup, PropagateAtLaunch: true },
      ],
    }),
  );
  return { cluster: spec.cluster, nodeGroup: spec.nodeGroup, pool: spec.pool, autoScalingGroup };
}

export async function describeGroup(
  clients: ReturnType<typeof motoClients>,
  group: TestNodeGroup,
): Promise<{ nodeGroupDesired: number; asg: AutoScalingGroup }> {
  const [{ nodegroup }, { AutoScalingGroups }] = await Promise.all([
    clients.eks.send(
      new DescribeNodegroupCommand({ clusterName: group.cluster, nodegroupName: group.nodeGroup }),
    ),
    clients.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.autoScalingGroup] }),
    ),
  ]);
  return { nodeGroupDesired: nodegroup!.scalingConfig!.desiredSize!, asg: AutoScalingGroups![0]! };
}

/**
 * Plays EKS and the kubelet: the node group's desiredSize goes to its Auto Scaling group (which moto
 * does not do), and every instance of the group that has no node yet joins the cluster as a KWOK GPU
 * node whose providerID names the instance. Returns the names of the nodes that joined.
 */
export async function nodesJoin(
  clients: ReturnType<typeof motoClients>,
  group: TestNodeGroup,
  gpuMemoryGi = 80,
): Promise<string[]> {
  const { nodeGroupDesired, asg } = await describeGroup(clients, group);
  if (nodeGroupDesired > (asg.DesiredCapacity ?? 0)) {
    await clients.autoScaling.send(
      new SetDesiredCapacityCommand({
        AutoScalingGroupName: group.autoScalingGroup,
        DesiredCapacity: nodeGroupDesired,
      }),
    );
  }
  const { asg: grown } = await describeGroup(clients, group);
  const kubeconfig = harnessEnv('IBCP_KUBECONFIG');
  const core = coreApi(kubeconfig);
  const existing = await core.listNode({ labelSelector: `inference-pool=${group.pool}` });
  const known = new Set(existing.items.map((n) => n.spec?.providerID));
  const joined: string[] = [];
  for (const instance of grown.Instances ?? []) {
    const providerID = `aws:///${instance.AvailabilityZone}/${instance.InstanceId}`;
    if (known.has(providerID)) continue;
    const name = `${group.pool}-${instance.InstanceId}`;
    await createGpuNode(kubeconfig, { name, pool: group.pool, gpus: 8, gpuMemoryGi: gpuMemoryGi / 8 });
    // The cloud provider sets providerID once, from "" to the instance: the apiserver allows exactly that.
    await core.patchNode(
      { name, body: { spec: { providerID } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    joined.push(name);
  }
  return joined;
}

export function coreApi(kubeconfigPath = harnessEnv('IBCP_KUBECONFIG')): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  return config.makeApiClient(CoreV1Api);
}
