import { restrictedImports } from '../../support/restricted-imports.js';

// The lint rule that keeps `cdk synth` from loading a Lambda handler (middy, a logger, SDK clients).
describe('lint: lib/ never imports a handler', () => {
  it.each([
    ['lib/probe.ts', "import { handler } from '../lambdas/handlers/remediation.js';"],
    ['lib/probe.ts', "import { ledgerTable } from '../lambdas/handlers/composition-root/ledger-table.js';"],
    ['bin/probe.ts', "import { handler } from '../lambdas/handlers/warmup-api.js';"],
  ])('rejects in %s: %s', async (filePath, line) => {
    expect(await restrictedImports(`${line}\nexport {};\n`, filePath)).toEqual([
      expect.stringContaining('lib/ must not import handlers: read Lambda settings through lambdas/config.'),
    ]);
  });

  it('allows lib/ to read Lambda settings through lambdas/config, and local/ to import handlers', async () => {
    const config = "import { remediationConfig } from '../lambdas/config.js';\nexport {};\n";
    expect(await restrictedImports(config, 'lib/probe.ts')).toEqual([]);
    const local = "import { handler } from '../lambdas/handlers/warmup-api.js';\nexport {};\n";
    expect(await restrictedImports(local, 'local/probe.ts')).toEqual([]);
  });
});
