import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The budget ledger's table (docs/ledger.md): pk/sk strings, on-demand, point-in-time recovery, a
 * customer-managed KMS key, deletion protection, and TTL expiring old activity items.
 */
export class LedgerTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: { key: IKey }) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      deletionProtection: true,
      timeToLiveAttribute: 'expiresAt',
      // Budgets outlive stacks: deleting the stack must never take the ledger with it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
