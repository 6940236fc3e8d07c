import { Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { LedgerTable } from './ledger-table.js';

/** One stack per AWS account: the control plane's resources, one construct per concern. */
export class InferenceBudgetStack extends Stack {
  readonly ledger: LedgerTable;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const key = new Key(this, 'DataKey', {
      description: 'Encrypts the inference budget ledger',
      enableKeyRotation: true,
    });
    this.ledger = new LedgerTable(this, 'Ledger', { key });
  }
}
