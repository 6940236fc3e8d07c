import { fileURLToPath } from 'node:url';

/**
 * The Node built-ins the bundled handlers and their dependencies import. Adding one here needs its shim in
 * lib/node-builtins/ (`fs/promises` is `fs-promises.cjs`); test/unit/lib/control-plane-functions.test.ts
 * fails when a bundle imports one that is missing.
 */
const BUNDLED_BUILTINS = [
  'child_process',
  'console',
  'crypto',
  'fs',
  'fs/promises',
  'http',
  'https',
  'module',
  'os',
  'path',
  'process',
  'stream',
  'timers',
  'url',
  'util',
  'zlib',
] as const;

const shims = fileURLToPath(new URL('./node-builtins/', import.meta.url));

/**
 * esbuild arguments that make every `import ... from 'node:x'` in a bundle a `process.getBuiltinModule`
 * call. An ES module import of a built-in builds its namespace from every export, which runs the lazy
 * getters CommonJS leaves alone: `node:http`'s load undici, http2, worker_threads and perf_hooks,
 * `node:process`'s its stdio streams and readline, `node:util`'s its whole API. On Node 22.23 importing
 * `node:http` so took 70 ms against 8 ms for `require` on a loaded machine; with these aliases each
 * Lambda's import was a quarter to a third shorter (docs/deploy.md). `process.getBuiltinModule` is
 * Node ≥ 22.3; Lambda's nodejs22.x runtime started at 22.11.
 */
export const NODE_BUILTIN_ALIASES: Record<string, string> = Object.fromEntries(
  BUNDLED_BUILTINS.map((name) => [`--alias:node:${name}`, `${shims}${name.replace('/', '-')}.cjs`]),
);
