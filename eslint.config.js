import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Test code is for tests: product code, local mode, the benchmarks and the services harness never load it.
const noTestImports = [
  {
    group: ['**/test', '**/test/**'],
    message: 'Only test/ imports test/: move what is shared to services/ or lambdas/.',
  },
];

// The CDK app reads deployment settings through lambdas/config: loading a handler would pull middy, a
// logger and the SDK clients into `cdk synth`.
const noHandlerImports = [
  {
    group: ['**/handlers', '**/handlers/**'],
    message: 'lib/ must not import handlers: read Lambda settings through lambdas/config.',
  },
];

// lambdas/core is pure domain logic: it must never reach an outside system directly.
const coreBoundary = [
  { group: ['@aws-sdk/*', 'aws-sdk'], message: 'lambdas/core is pure: put AWS calls in lambdas/adapters.' },
  {
    group: ['@kubernetes/*'],
    message: 'lambdas/core is pure: put Kubernetes calls in lambdas/adapters.',
  },
  {
    group: ['**/adapters', '**/adapters/*', '**/adapters/**'],
    message: 'lambdas/core must not import adapters.',
  },
  { group: ['**/handlers', '**/handlers/**'], message: 'lambdas/core must not import handlers.' },
];

// Flat config gives a file the last matching `no-restricted-imports`, so each block lists every group
// that applies to its files.
const restrict = (...groups) => ({ 'no-restricted-imports': ['error', { patterns: groups.flat() }] });

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'coverage/', '.local/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['**/*.{ts,js,mjs}'], ignores: ['test/**'], rules: restrict(noTestImports) },
  { files: ['lib/**/*.ts', 'bin/**/*.ts'], rules: restrict(noTestImports, noHandlerImports) },
  { files: ['lambdas/core/**/*.ts'], rules: restrict(noTestImports, coreBoundary) },
  // The simulated world runs the real core and nothing else: no AWS, no Kubernetes, no adapters.
  { files: ['simulation/**/*.ts'], rules: restrict(noTestImports, coreBoundary) },
  // A value from the Kubernetes client's root puts exec, attach and cp (ws, tar-fs) into every Lambda
  // bundle: the Lambdas take values from lambdas/adapters/kubernetes-client.ts (types are erased).
  {
    files: ['lambdas/**/*.ts'],
    ignores: ['lambdas/adapters/kubernetes-client.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message:
                'Import values from lambdas/adapters/kubernetes-client.ts: the root bundles exec, attach and cp.',
            },
          ],
        },
      ],
    },
  },
);
