import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// lambdas/core is pure domain logic: it must never reach an outside system directly.
const coreBoundary = {
  patterns: [
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
  ],
};

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
  {
    files: ['lambdas/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', coreBoundary] },
  },
  // The simulated world runs the real core and nothing else: no AWS, no Kubernetes, no adapters.
  {
    files: ['simulation/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', coreBoundary] },
  },
);
