import { isObject } from '../json.js';

/**
 * Dependency cycles among the InferenceModels of one namespace, for the admission webhook: a model in a
 * cycle waits for itself and never starts, so the change that would close one is refused, naming it.
 *
 * A dependency resolves as the reconciler resolves it (`resolveDependency` in reconcile/view.ts):
 * the model with that object name, else the first with that `modelName`, in the list's order (the API
 * server lists by name). Pure: the caller lists the namespace.
 */

/** What a model contributes to the dependency graph. */
export interface DependencyNode {
  /** The object name; a create by `generateName` uses a name no dependency can match. */
  readonly name: string;
  readonly modelName: string;
  readonly dependencies: readonly string[];
}

/** An InferenceModel object as a node: its name given, its `modelName` and `dependencies` read leniently. */
export function dependencyNodeOf(object: unknown, name: string): DependencyNode {
  const spec = isObject(object) && Object.hasOwn(object, 'spec') ? object.spec : undefined;
  const modelName = isObject(spec) && Object.hasOwn(spec, 'modelName') ? spec.modelName : undefined;
  const dependencies = isObject(spec) && Object.hasOwn(spec, 'dependencies') ? spec.dependencies : undefined;
  return {
    name,
    modelName: typeof modelName === 'string' ? modelName : '',
    dependencies: Array.isArray(dependencies)
      ? dependencies.filter((d: unknown): d is string => typeof d === 'string')
      : [],
  };
}

/**
 * Whether an update can add a dependency edge, so that it needs the namespace listed: its dependencies
 * changed (and are not empty), or its modelName did, which other models' dependencies may resolve by.
 */
export function mayCloseCycle(admitted: DependencyNode, old: DependencyNode | undefined): boolean {
  if (!old) return admitted.dependencies.length > 0;
  if (admitted.modelName !== old.modelName) return true;
  return (
    admitted.dependencies.length > 0 &&
    (admitted.dependencies.length !== old.dependencies.length ||
      admitted.dependencies.some((d, i) => d !== old.dependencies[i]))
  );
}

/**
 * A cycle the admitted model would close, as object names from the model back to itself
 * (`['a', 'b', 'a']`), or undefined. `stored` is the namespace as the API server holds it: on an update
 * it holds the model's old version, which the admitted one replaces. Only a cycle through a dependency
 * the change adds counts: one already stored is not this change's to answer for.
 */
export function closedCycle(
  stored: readonly DependencyNode[],
  admitted: DependencyNode,
): string[] | undefined {
  const before = graphOf(stored);
  const at = stored.findIndex((node) => node.name === admitted.name);
  const nodes =
    at >= 0
      ? stored.map((node, i) => (i === at ? admitted : node))
      : [...stored, admitted].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const after = graphOf(nodes);
  // The admitted model's own dependencies first, then those of models whose dependency now resolves to
  // another model (a modelName that appeared or moved).
  const order = [admitted.name, ...nodes.map((node) => node.name).filter((name) => name !== admitted.name)];
  for (const from of order) {
    const old = before.get(from) ?? [];
    for (const to of after.get(from) ?? []) {
      if (old.includes(to)) continue;
      const back = pathBetween(after, to, from);
      if (back) return startingAt(admitted.name, [from, ...back]);
    }
  }
  return undefined;
}

/** The denial: `spec.dependencies forms a cycle: a -> b -> a`. */
export function cycleMessage(cycle: readonly string[]): string {
  return (
    `spec.dependencies forms a cycle: ${cycle.join(' -> ')}: ` +
    'a model in a cycle waits for itself and never starts; remove one of these dependencies'
  );
}

type Graph = Map<string, string[]>;

/** Each model's resolved dependencies, by object name; a dependency that names no model has no edge. */
function graphOf(nodes: readonly DependencyNode[]): Graph {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const byModelName = new Map<string, DependencyNode>();
  for (const node of nodes) if (!byModelName.has(node.modelName)) byModelName.set(node.modelName, node);
  return new Map(
    nodes.map((node) => [
      node.name,
      node.dependencies.flatMap((name) => {
        const target = byName.get(name) ?? byModelName.get(name);
        return target ? [target.name] : [];
      }),
    ]),
  );
}

/** A path of dependencies from `from` to `to` (depth first, each model visited once), both included. */
function pathBetween(graph: Graph, from: string, to: string): string[] | undefined {
  if (from === to) return [to];
  const parent = new Map<string, string>();
  const stack = [from];
  const seen = new Set([from]);
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const next of graph.get(current) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      parent.set(next, current);
      if (next === to) {
        const path = [to];
        for (let at = current; at !== from; at = parent.get(at)!) path.push(at);
        return [from, ...path.reverse()];
      }
      stack.push(next);
    }
  }
  return undefined;
}

/** The same cycle told from `name` when it runs through it: `[b, a, b]` from a is `[a, b, a]`. */
function startingAt(name: string, cycle: string[]): string[] {
  const ring = cycle.slice(0, -1);
  const at = ring.indexOf(name);
  if (at <= 0) return cycle;
  const rotated = [...ring.slice(at), ...ring.slice(0, at)];
  return [...rotated, name];
}
