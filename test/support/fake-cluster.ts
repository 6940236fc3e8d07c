import {
  FINALIZER,
  holderOf,
  type InferenceModel,
  type InferenceModelStatus,
  type ModelRef,
} from '../../lambdas/core/inference-model.js';
import {
  newDeployment,
  type Cluster,
  type DeploymentNotes,
  type KubernetesEvent,
  type ManagedDeployment,
  type ReconcileLog,
} from '../../lambdas/core/reconcile/ports.js';
import { podTemplateFor } from '../../lambdas/core/reconcile/pod-template.js';

/** An in-memory Cluster for pure-logic tests of the reconciler (the real one is tested on kube-apiserver). */
export class FakeCluster implements Cluster {
  readonly models = new Map<string, InferenceModel>();
  readonly deployments = new Map<string, ManagedDeployment>();
  readonly events: KubernetesEvent[] = [];
  readonly calls: string[] = [];

  put(model: InferenceModel): InferenceModel {
    this.models.set(holderOf(model), model);
    return model;
  }

  /** Plays the Deployment controller and the kubelet: every wanted replica becomes ready. */
  becomeReady(ref: ModelRef): void {
    const d = this.deployments.get(holderOf(ref));
    if (d) this.deployments.set(holderOf(ref), { ...d, readyReplicas: d.replicas });
  }

  model(ref: ModelRef): InferenceModel | undefined {
    return this.models.get(holderOf(ref));
  }

  async listModels() {
    this.calls.push('listModels');
    return [...this.models.values()].map((m) => structuredClone(m));
  }
  async getModel(ref: ModelRef) {
    this.calls.push('getModel');
    const m = this.models.get(holderOf(ref));
    return m && structuredClone(m);
  }
  async listManagedDeployments() {
    this.calls.push('listManagedDeployments');
    return [...this.deployments.values()].map((d) => ({ ...d }));
  }
  async getManagedDeployment(ref: ModelRef) {
    this.calls.push('getManagedDeployment');
    const d = this.deployments.get(holderOf(ref));
    return d && { ...d };
  }
  async addFinalizer(model: InferenceModel) {
    this.calls.push('addFinalizer');
    const stored = this.models.get(holderOf(model));
    if (stored && !stored.finalizers.includes(FINALIZER)) stored.finalizers.push(FINALIZER);
  }
  async removeFinalizer(model: InferenceModel) {
    this.calls.push('removeFinalizer');
    const stored = this.models.get(holderOf(model));
    if (!stored) return;
    stored.finalizers = stored.finalizers.filter((f) => f !== FINALIZER);
    if (stored.deleting && stored.finalizers.length === 0) this.models.delete(holderOf(model));
  }
  async createDeployment(model: InferenceModel, replicas: number, at: number) {
    this.calls.push('createDeployment');
    if (this.deployments.has(holderOf(model))) return;
    this.deployments.set(holderOf(model), newDeployment(model, replicas, at));
  }
  async scaleDeployment(model: InferenceModel, replicas: number, at: number, startFailure?: string) {
    this.calls.push('scaleDeployment');
    const d = this.deployment(model);
    this.deployments.set(holderOf(model), {
      ...d,
      replicas,
      readyReplicas: Math.min(d.readyReplicas, replicas),
      memoryAnnotation: model.spec.memory,
      scaledToZeroAt: replicas === 0 ? at : undefined,
      scaledUpAt: replicas > 0 ? at : undefined,
      startFailure: replicas === 0 ? startFailure : undefined,
      ...(replicas > 0 && model.spec.containerImage ? { template: podTemplateFor(model) } : {}),
    });
  }
  async rollOut(model: InferenceModel, at: number) {
    this.calls.push('rollOut');
    // A rollout replaces the pods: none is ready until the new ones are.
    this.deployments.set(holderOf(model), {
      ...this.deployment(model),
      template: podTemplateFor(model),
      readyReplicas: 0,
      scaledUpAt: at,
    });
  }
  async annotateDeployment(ref: ModelRef, notes: DeploymentNotes) {
    this.calls.push('annotateDeployment');
    const d = this.deployment(ref);
    this.deployments.set(holderOf(ref), {
      ...d,
      ...(notes.memory !== undefined && { memoryAnnotation: notes.memory }),
      ...(notes.resizeRefusedFor !== undefined && { resizeRefusedFor: notes.resizeRefusedFor ?? undefined }),
    });
  }
  /** Reasons set by a test with `problems.set(holder, message)`. */
  readonly problems = new Map<string, string>();
  async startProblems(ref?: ModelRef) {
    this.calls.push('startProblems');
    return new Map([...this.problems].filter(([holder]) => !ref || holder === holderOf(ref)));
  }
  private deployment(ref: ModelRef): ManagedDeployment {
    const d = this.deployments.get(holderOf(ref));
    if (!d) throw new Error(`no Deployment ${holderOf(ref)}`);
    return d;
  }
  async deleteDeployment(ref: ModelRef) {
    this.calls.push('deleteDeployment');
    this.deployments.delete(holderOf(ref));
  }
  async patchStatus(model: InferenceModel, status: InferenceModelStatus) {
    this.calls.push('patchStatus');
    const stored = this.models.get(holderOf(model));
    if (stored) stored.status = { ...stored.status, ...structuredClone(status) };
  }
  async emitEvent(event: KubernetesEvent) {
    this.events.push({ ...event, model: { namespace: event.model.namespace, name: event.model.name } });
  }
}

export class RecordingLog implements ReconcileLog {
  readonly lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  info(message: string, fields: Record<string, unknown>) {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields: Record<string, unknown>) {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, fields: Record<string, unknown>) {
    this.lines.push({ level: 'error', message, fields });
  }
  messages(): string[] {
    return this.lines.map((l) => l.message);
  }
}
