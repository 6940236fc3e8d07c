import { restrictedImports } from '../../support/restricted-imports.js';

// Lambda code takes only types from @kubernetes/client-node: its runtime would be most of every bundle.
const RULES = ['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax'];
const lint = (code: string, filePath: string) => restrictedImports(`${code}\nexport {};\n`, filePath, RULES);

describe('lint: Lambda code imports no client-node runtime', () => {
  it.each([
    "import { KubeConfig } from '@kubernetes/client-node';",
    "import { ObjectCoreV1Api } from '@kubernetes/client-node/dist/gen/types/ObjectParamAPI.js';",
    "export const load = () => import('@kubernetes/client-node');",
  ])('rejects %s', async (line) => {
    expect(await lint(line, 'lambdas/adapters/probe.ts')).toHaveLength(1);
    expect(await lint(line, 'lambdas/handlers/composition-root/probe.ts')).toHaveLength(1);
  });

  it('allows its types', async () => {
    expect(
      await lint("import type { V1Pod } from '@kubernetes/client-node';", 'lambdas/adapters/probe.ts'),
    ).toEqual([]);
  });

  it('allows the kubeconfig-file target its dynamic import, and local mode, services and tests anything', async () => {
    const dynamic = "export const load = () => import('@kubernetes/client-node');";
    expect(await lint(dynamic, 'lambdas/adapters/kubeconfig-file.ts')).toEqual([]);
    const value = "import { KubeConfig } from '@kubernetes/client-node';";
    for (const path of ['local/probe.ts', 'services/probe.ts', 'test/support/probe.ts']) {
      expect(await lint(value, path)).toEqual([]);
    }
  });
});
