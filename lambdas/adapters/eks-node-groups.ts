import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { DescribeNodegroupCommand, EKSClient, UpdateNodegroupConfigCommand } from '@aws-sdk/client-eks';
import type { NodeGroups, NodeGroupState } from '../core/nodes/ports.js';

/**
 * EKS managed node groups and their Auto Scaling groups. Scale-out goes through EKS (UpdateNodegroupConfig
 * desiredSize); scale-in terminates one chosen instance through Auto Scaling with a decrement of desired
 * capacity, because lowering desiredSize would let the Auto Scaling group pick which instance dies.
 */
export class EksNodeGroups implements NodeGroups {
  /** A node group's Auto Scaling group never changes name; one lookup per Lambda instance. */
  private readonly groupNames = new Map<string, Promise<string>>();

  constructor(
    private readonly eks: EKSClient,
    private readonly autoScaling: AutoScalingClient,
    private readonly clusterName: string,
  ) {}

  async describe(nodeGroup: string): Promise<NodeGroupState> {
    const [{ nodegroup }, group] = await Promise.all([
      this.eks.send(
        new DescribeNodegroupCommand({ clusterName: this.clusterName, nodegroupName: nodeGroup }),
      ),
      this.autoScalingGroup(nodeGroup),
    ]);
    const scaling = nodegroup?.scalingConfig ?? {};
    return {
      // The Auto Scaling group holds the truth: EKS writes desiredSize into it, a terminate-and-decrement
      // changes it directly.
      desiredSize: group.DesiredCapacity ?? 0,
      minSize: scaling.minSize ?? group.MinSize ?? 0,
      maxSize: scaling.maxSize ?? group.MaxSize ?? 0,
      instanceIds: (group.Instances ?? [])
        .filter((i) => !i.LifecycleState?.startsWith('Terminating'))
        .flatMap((i) => (i.InstanceId ? [i.InstanceId] : [])),
    };
  }

  async scaleOut(nodeGroup: string, desiredSize: number): Promise<void> {
    await this.eks.send(
      new UpdateNodegroupConfigCommand({
        clusterName: this.clusterName,
        nodegroupName: nodeGroup,
        scalingConfig: { desiredSize },
      }),
    );
  }

  async terminate(nodeGroup: string, instanceId: string): Promise<void> {
    const group = await this.autoScalingGroup(nodeGroup);
    if (!(group.Instances ?? []).some((i) => i.InstanceId === instanceId)) {
      throw new Error(
        `instance ${instanceId} is not in node group ${nodeGroup}'s Auto Scaling group ${group.AutoScalingGroupName}`,
      );
    }
    await this.autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: instanceId,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
  }

  private async autoScalingGroup(nodeGroup: string): Promise<AutoScalingGroup> {
    let name = this.groupNames.get(nodeGroup);
    if (!name) {
      name = this.findGroupName(nodeGroup);
      this.groupNames.set(nodeGroup, name);
      name.catch(() => this.groupNames.delete(nodeGroup));
    }
    const { AutoScalingGroups } = await this.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [await name] }),
    );
    const group = AutoScalingGroups?.[0];
    if (!group) throw new Error(`node group ${nodeGroup}: Auto Scaling group ${await name} not found`);
    return group;
  }

  /** EKS names the group in the node group's resources once the node group has been created. */
  private async findGroupName(nodeGroup: string): Promise<string> {
    const { nodegroup } = await this.eks.send(
      new DescribeNodegroupCommand({ clusterName: this.clusterName, nodegroupName: nodeGroup }),
    );
    const name = nodegroup?.resources?.autoScalingGroups?.[0]?.name;
    if (!name) {
      throw new Error(
        `node group ${nodeGroup} of cluster ${this.clusterName} has no Auto Scaling group yet (status ${nodegroup?.status})`,
      );
    }
    return name;
  }
}
