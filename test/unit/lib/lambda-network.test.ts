import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { synthStack } from './stack-fixture.js';

const vpc = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
  clusterSecurityGroupId: 'sg-0123456789abcdef0',
};

describe('LambdaNetwork', () => {
  const { stack, template } = synthStack({ vpc });
  const groupId = () =>
    stack.getLogicalId(
      stack.node.findChild('Network').node.findChild('Functions').node.defaultChild as Parameters<
        typeof stack.getLogicalId
      >[0],
    );

  it('runs every function in the configured subnets with a group that only opens HTTPS out', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.VpcConfig).toEqual({
        SubnetIds: vpc.subnetIds,
        SecurityGroupIds: [{ 'Fn::GetAtt': [groupId(), 'GroupId'] }],
      });
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: vpc.vpcId,
      SecurityGroupEgress: [
        {
          CidrIp: '0.0.0.0/0',
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          Description: Match.anyValue(),
        },
      ],
    });
  });

  it("opens the cluster's security group to the functions on 443", () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: vpc.clusterSecurityGroupId,
      SourceSecurityGroupId: { 'Fn::GetAtt': [groupId(), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
    });
  });

  it('leaves the functions outside any VPC when none is configured', () => {
    const { template: plain } = synthStack({ vpc: undefined, webhookEndpoint: 'public' });
    for (const fn of Object.values(plain.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.VpcConfig).toBeUndefined();
    }
    plain.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it('leaves `cdk synth` without warnings about the VPC and subnets it builds from their IDs', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});
