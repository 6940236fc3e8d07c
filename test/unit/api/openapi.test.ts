import { readFileSync } from 'node:fs';
import { loadYaml } from '@kubernetes/client-node';
import { ROUTES } from '../../../lambdas/core/api/routes.js';

interface OpenApi {
  paths: Record<
    string,
    Record<string, { operationId: string; parameters?: { name?: string; in?: string }[] }>
  >;
}

describe('docs/openapi.yaml', () => {
  const spec = loadYaml<OpenApi>(
    readFileSync(new URL('../../../docs/openapi.yaml', import.meta.url), 'utf8'),
  );
  const documented = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      operation: op.operationId,
    })),
  );

  it('documents exactly the routes the handler serves', () => {
    const served = ROUTES.map(({ method, path, operationId }) => ({ method, path, operation: operationId }));
    expect(documented.sort(byKey)).toEqual([...served].sort(byKey));
  });

  it('documents exactly the query parameters each route accepts', () => {
    for (const route of ROUTES) {
      const op = spec.paths[route.path]?.[route.method.toLowerCase()];
      const query = (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      expect(query).toEqual([...route.query]);
    }
  });
});

function byKey(a: { method: string; path: string }, b: { method: string; path: string }): number {
  return `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`);
}
