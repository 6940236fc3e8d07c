import { restrictedImports } from '../../support/restricted-imports.js';

// The lint rule that keeps test code out of everything else: run ESLint as `npm run lint` does.
describe('lint: only test/ imports test/', () => {
  it.each([
    ['local/probe.ts', "import { kubectl } from '../test/support/kubectl.js';"],
    ['bench/probe.ts', "import { fakeCluster } from '../test/support/fake-cluster.js';"],
    ['services/probe.ts', "import { seeds } from '../test/support/seeds.js';"],
    ['lambdas/handlers/probe.ts', "import { seeds } from '../../test/support/seeds.js';"],
    ['lambdas/core/ledger/probe.ts', "import { seeds } from '../../../test/support/seeds.js';"],
    ['lib/probe.ts', "import { seeds } from '../test/support/seeds.js';"],
    ['simulation/probe.ts', "import { seeds } from '../test/support/seeds.js';"],
  ])('rejects in %s: %s', async (filePath, line) => {
    expect(await restrictedImports(`${line}\nexport {};\n`, filePath)).toEqual([
      expect.stringContaining('Only test/ imports test/: move what is shared to services/ or lambdas/.'),
    ]);
  });

  it('allows it inside test/, and services/ everywhere', async () => {
    const code = "import { seeds } from '../support/seeds.js';\nexport {};\n";
    expect(await restrictedImports(code, 'test/unit/probe.test.ts')).toEqual([]);
    const services = "import { startDynalite } from '../services/dynalite.js';\nexport {};\n";
    expect(await restrictedImports(services, 'local/probe.ts')).toEqual([]);
  });
});
