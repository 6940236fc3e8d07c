import { restrictedImports } from '../../support/restricted-imports.js';

// The lint rule that keeps lambdas/core pure: run ESLint as `npm run lint` does, on code placed in core.
describe('lint: lambdas/core stays pure', () => {
  it.each([
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
    "import { KubeConfig } from '@kubernetes/client-node';",
    "import { DynamoDbLedger } from '../adapters/dynamodb-ledger.js';",
    "import { handler } from '../../handlers/reconcile.js';",
  ])('rejects %s', async (line) => {
    expect(await restrictedImports(`${line}\nexport {};\n`, 'lambdas/core/ledger/probe.ts')).toHaveLength(1);
  });

  it('allows the same imports in adapters', async () => {
    const code = "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport {};\n";
    expect(await restrictedImports(code, 'lambdas/adapters/probe.ts')).toEqual([]);
  });
});
