import { Annotations, Fn } from 'aws-cdk-lib';
import { Peer, Port, SecurityGroup, Subnet, Vpc, type ISubnet, type IVpc } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { VpcConfig } from './config.js';

/**
 * The network of the Lambdas when the cluster's API endpoint is private: the configured private subnets
 * and a security group that may only open HTTPS connections (the cluster endpoint and the AWS APIs).
 */
export class LambdaNetwork extends Construct {
  readonly vpc: IVpc;
  readonly subnets: ISubnet[];
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: VpcConfig) {
    super(scope, id);
    // Built from attributes, not looked up, so `cdk synth` needs no AWS credentials.
    this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: props.vpcId, availabilityZones: Fn.getAzs() });
    this.subnets = props.subnetIds.map((subnetId) => Subnet.fromSubnetId(this, subnetId, subnetId));
    // The functions take the subnets by ID and never read the VPC's subnet lists or route tables, which
    // is what CDK warns about for a VPC and subnets built from attributes: `cdk synth` stays clean.
    Annotations.of(this.vpc).acknowledgeWarning(
      '@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      'the functions take subnets by ID, not from the VPC',
    );
    for (const subnet of this.subnets) {
      Annotations.of(subnet).acknowledgeWarning(
        '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        'no route table of these subnets is read',
      );
    }
    this.securityGroup = new SecurityGroup(this, 'Functions', {
      vpc: this.vpc,
      description: 'Inference budget control plane Lambdas: HTTPS out only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs and the cluster endpoint');
    if (props.clusterSecurityGroupId) {
      const cluster = SecurityGroup.fromSecurityGroupId(this, 'Cluster', props.clusterSecurityGroupId, {
        mutable: true,
      });
      cluster.addIngressRule(this.securityGroup, Port.tcp(443), 'Inference budget control plane Lambdas');
    }
  }
}
