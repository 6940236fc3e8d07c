import fc from 'fast-check';
import {
  closedCycle,
  cycleMessage,
  type DependencyNode,
} from '../../../../lambdas/core/validation/dependency-cycles.js';

/** `node('a', 'b c')`: model a (modelName a) depending on b and c; `node('a', '', 'llama')` names its model. */
function node(name: string, dependencies = '', modelName = name): DependencyNode {
  return { name, modelName, dependencies: dependencies.split(' ').filter((d) => d !== '') };
}

describe('closedCycle', () => {
  it.each<[string, DependencyNode[], DependencyNode, string[] | undefined]>([
    ['no dependencies', [node('b')], node('a'), undefined],
    ['a chain', [node('b', 'c'), node('c')], node('a', 'b'), undefined],
    ['a diamond', [node('b', 'd'), node('c', 'd'), node('d')], node('a', 'b c'), undefined],
    ['a dependency on a model not there yet', [], node('a', 'b'), undefined],
    ['two models', [node('b', 'a')], node('a', 'b'), ['a', 'b', 'a']],
    ['three models', [node('b', 'c'), node('c', 'a')], node('a', 'b'), ['a', 'b', 'c', 'a']],
    [
      'a long chain back',
      [node('b', 'c'), node('c', 'd'), node('d', 'e'), node('e', 'a')],
      node('a', 'b'),
      ['a', 'b', 'c', 'd', 'e', 'a'],
    ],
    [
      'the cycle among several branches',
      [node('b', 'x'), node('c', 'y'), node('x'), node('y', 'a')],
      node('a', 'b c'),
      ['a', 'c', 'y', 'a'],
    ],
    ['itself through its own modelName', [], node('a', 'llama', 'llama'), ['a', 'a']],
    ['a dependency by modelName', [node('b', 'llama-2-70b')], node('a', 'b', 'llama-2-70b'), ['a', 'b', 'a']],
    [
      'the object name before the modelName',
      [node('b', 'c'), node('c'), node('x', '', 'c')],
      node('a', 'b', 'x'),
      undefined,
    ],
    ['an update that closes a cycle', [node('a', ''), node('b', 'a')], node('a', 'b'), ['a', 'b', 'a']],
    ['an update that opens one', [node('a', 'b'), node('b', 'a')], node('a', ''), undefined],
    [
      'a create by generateName, reached by its modelName',
      [node('b', 'new-llama')],
      node('llama-*', 'b', 'new-llama'),
      ['llama-*', 'b', 'llama-*'],
    ],
    ['a stored cycle the change does not touch', [node('x', 'y'), node('y', 'x')], node('a', 'x'), undefined],
    [
      'a new model that a stored cycle was waiting for',
      [node('b', 'a c'), node('c', 'b')],
      node('a'),
      undefined,
    ],
    [
      'a modelName that moves and re-points another model into a cycle',
      // c depends on "llama": a's modelName until now; after the change, b's (the next by name).
      [node('a', '', 'llama'), node('b', 'c', 'llama'), node('c', 'llama')],
      node('a', '', 'mistral'),
      ['c', 'b', 'c'],
    ],
  ])('%s', (_case, stored, admitted, cycle) => {
    expect(closedCycle(stored, admitted)).toEqual(cycle);
  });

  it('finds every cycle through the admitted model, and only real ones', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const graphs = fc.tuple(...names.map(() => fc.subarray(names)));
    fc.assert(
      fc.property(graphs, (edges) => {
        const nodes = names.map((name, i) => ({ name, modelName: name, dependencies: edges[i]! }));
        const [admitted, ...stored] = nodes;
        const cycle = closedCycle(stored, admitted!);
        // Reachability of a from a, computed the plain way.
        const reach = new Set<string>();
        const todo = [...admitted!.dependencies];
        while (todo.length > 0) {
          const at = todo.pop()!;
          if (reach.has(at)) continue;
          reach.add(at);
          todo.push(...nodes.find((n) => n.name === at)!.dependencies);
        }
        expect(cycle !== undefined).toBe(reach.has('a'));
        if (cycle) {
          expect(cycle[0]).toBe('a');
          expect(cycle.at(-1)).toBe('a');
          cycle.slice(1).forEach((to, i) => {
            expect(nodes.find((n) => n.name === cycle[i])!.dependencies).toContain(to);
          });
          expect(new Set(cycle.slice(1)).size).toBe(cycle.length - 1);
        }
      }),
    );
  });
});

describe('cycleMessage', () => {
  it('names the cycle in the field it is about', () => {
    expect(cycleMessage(['a', 'b', 'c', 'a'])).toMatch(
      /^spec\.dependencies forms a cycle: a -> b -> c -> a: /,
    );
  });
});
