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

const KUBERNETES_RUNTIME =
  'Lambda code imports only types from client-node: call the API through lambdas/adapters/kubernetes-api.ts.';

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
  // lib/node-builtins/: the one-line CommonJS modules the bundles take Node built-ins from.
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
  { files: ['lib/**/*.ts', 'bin/**/*.ts'], rules: restrict(noTestImports, noHandlerImports) },
  { files: ['lambdas/core/**/*.ts'], rules: restrict(noTestImports, coreBoundary) },
  // The simulated world runs the real core and nothing else: no AWS, no Kubernetes, no adapters.
  { files: ['simulation/**/*.ts'], rules: restrict(noTestImports, coreBoundary) },
  // @kubernetes/client-node's runtime (generated clients, model serializer, undici) would be most of every
  // Lambda bundle: Lambda code takes its types only (erased) and calls the API through
  // lambdas/adapters/kubernetes-api.ts. kubeconfig-file.ts, the local target, loads KubeConfig
  // dynamically, which the bundles leave out (lib/control-plane-functions.ts).
  {
    files: ['lambdas/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@kubernetes/client-node', allowTypeImports: true, message: KUBERNETES_RUNTIME }],
          patterns: [
            { group: ['@kubernetes/client-node/*'], allowTypeImports: true, message: KUBERNETES_RUNTIME },
          ],
        },
      ],
      // no-restricted-imports does not see `import()` (\u002F: a slash would end esquery's regex).
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/^@kubernetes\\u002Fclient-node/]',
          message: KUBERNETES_RUNTIME,
        },
      ],
    },
  },
  { files: ['lambdas/adapters/kubeconfig-file.ts'], rules: { 'no-restricted-syntax': 'off' } },
);
