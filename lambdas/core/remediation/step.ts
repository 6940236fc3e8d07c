// One remediation action as a Step (what changes, the message, the undo, and how to apply it), and the
// building blocks planners compose it from.
import { ConflictError, type ConfigMapState, type MoeCluster } from '../moe/ports.js';
import type { MoeWorkload } from '../moe/workload.js';
import { checkpointToRestartFrom, type KeyChange } from './plans.js';
import type { RemediationPorts } from './ports.js';

const CHECKPOINT_ENV = 'CHECKPOINT_PATH';

export interface Step {
  /** Counted against the hourly limit: it changes the workload. Notifications alone are not. */
  counted: boolean;
  before: Record<string, string | null>;
  after: Record<string, string | null>;
  message: string;
  undo: string[];
  /** Performs the change; returns what happened if it was not applied as planned (blocked). */
  apply?: () => Promise<{ outcome: 'blocked'; message: string } | void>;
  /** A notification that the budget stands in the way. */
  blocked?: boolean;
}

export function notifyOnly(message: string): Step {
  return { counted: false, before: {}, after: {}, message, undo: [] };
}

/** ConfigMap edits, each guarded by the resourceVersion it was planned from. */
export function configChanges(cluster: MoeCluster, edits: [ConfigMapState, KeyChange[]][]): Step {
  const before: Record<string, string | null> = {};
  const after: Record<string, string | null> = {};
  const undo: string[] = [];
  const said: string[] = [];
  for (const [configMap, changes] of edits) {
    for (const change of changes) {
      before[`${configMap.name}.${change.key}`] = change.before ?? null;
      after[`${configMap.name}.${change.key}`] = change.after;
    }
    said.push(
      `${configMap.name}: ${changes.map((c) => `${c.key} ${c.before ?? '(unset)'} -> ${c.after}`).join(', ')}`,
    );
    const restore = Object.fromEntries(changes.map((c) => [c.key, c.before ?? null]));
    undo.push(
      `kubectl patch configmap ${configMap.name} -n ${configMap.namespace} --type merge -p '${JSON.stringify({ data: restore })}'`,
    );
  }
  if (edits.length === 0) return notifyOnly('nothing to change');
  return {
    counted: true,
    before,
    after,
    message: `Set ${said.join('; ')}`,
    undo,
    apply: async () => {
      const written: Record<string, string | null> = { ...before };
      for (const [index, [configMap, changes]] of edits.entries()) {
        try {
          await writeConfig(configMap, changes);
        } catch (error) {
          if (index === 0) throw new NothingWritten(error);
          throw new PartlyWritten(messageOf(error), written);
        }
        for (const change of changes) written[`${configMap.name}.${change.key}`] = change.after;
      }
    },
  };

  async function writeConfig(configMap: ConfigMapState, changes: KeyChange[]): Promise<void> {
    await cluster.patchConfigMap(configMap, Object.fromEntries(changes.map((c) => [c.key, c.after])));
  }
}

/** Adds a rollout restart (from the newest reported checkpoint, when there is one) after the step's writes. */
export function withRestart(ports: RemediationPorts, workload: MoeWorkload, step: Step, why: string): Step {
  const checkpoint = checkpointToRestartFrom(workload.latestCheckpoint, workload.checkpointLocation);
  const env: Record<string, string> = checkpoint.path ? { [CHECKPOINT_ENV]: checkpoint.path } : {};
  const ref = `deployment/${workload.name} -n ${workload.namespace}`;
  return {
    counted: true,
    before: { ...step.before, [CHECKPOINT_ENV]: workload.checkpointPath ?? null },
    after: { ...step.after, [CHECKPOINT_ENV]: checkpoint.path ?? workload.checkpointPath ?? null },
    message:
      `${step.message}. Restarted ${workload.name} ${why}` +
      (checkpoint.path
        ? ` (${CHECKPOINT_ENV}=${checkpoint.path})`
        : ` (${checkpoint.problem}; ${CHECKPOINT_ENV} left as it was)`),
    undo: [...step.undo, `kubectl rollout undo ${ref}`],
    apply: async () => {
      await step.apply?.();
      try {
        await ports.cluster.restart(workload, ports.clock(), env);
      } catch (error) {
        if (!step.apply) throw new NothingWritten(error);
        throw new PartlyWritten(
          `the restart failed after the config was written: ${messageOf(error)}`,
          step.after,
        );
      }
    },
  };
}

export function fields(workload: MoeWorkload): Record<string, string> {
  return { workload: workload.name, namespace: workload.namespace, role: workload.role };
}

export function messageOf(error: unknown): string {
  if (error instanceof ConflictError)
    return `${error.message} (changed by someone else meanwhile; retried with the next delivery)`;
  return error instanceof Error ? error.message : String(error);
}

/** The change failed before its first write: the claim is given back and the delivery retried. */
export class NothingWritten extends Error {
  constructor(override readonly cause: unknown) {
    super(messageOf(cause));
  }
}

export class PartlyWritten extends Error {
  constructor(
    message: string,
    readonly after: Record<string, string | null>,
  ) {
    super(message);
  }
}
