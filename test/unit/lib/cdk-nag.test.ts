import { synthStack } from './stack-fixture.js';

describe('cdk-nag AwsSolutions', () => {
  // Synthesis throws, listing each finding, when any is not acknowledged (bin/app.ts runs the same pack).
  it.each([
    ['the smallest configuration', {}],
    [
      'a private cluster endpoint',
      {
        vpc: {
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          clusterSecurityGroupId: 'sg-0123456789abcdef0',
        },
      },
    ],
    ['the public webhook endpoint (WAF) without a VPC', { vpc: undefined, webhookEndpoint: 'public' }],
  ])('finds nothing unacknowledged with %s', (_name, context) => {
    expect(() => synthStack(context, { nag: true })).not.toThrow();
  });
});
