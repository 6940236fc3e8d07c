import { Key } from 'aws-cdk-lib/aws-kms';
import { LedgerTable } from '../../../lib/ledger-table.js';
import { onBareStack, synthStack } from './stack-fixture.js';

describe('LedgerTable', () => {
  const { template } = onBareStack(
    (stack) => new LedgerTable(stack, 'Ledger', { key: new Key(stack, 'Key') }),
  );

  it('is on-demand, encrypted with a customer key, recoverable, protected and expires activity', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  it('is encrypted with a key that rotates (the stack’s data key)', () => {
    synthStack().template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });
});
