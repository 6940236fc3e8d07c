import { formatQuantity, parseQuantity } from '../lambdas/core/quantity.js';
import {
  DEFAULT_POOL,
  FINALIZER,
  POOL_LABEL,
  holderOf,
  type InferenceModel,
  type InferenceModelStatus,
  type ModelRef,
} from '../lambdas/core/inference-model.js';
import {
  type Cluster,
  type DeploymentNotes,
  type KubernetesEvent,
  type ManagedDeployment,
  type PodTemplate,
} from '../lambdas/core/reconcile/ports.js';
import { podTemplateFor } from '../lambdas/core/reconcile/pod-template.js';
import { copyData } from './copy-data.js';
import type { SimulatedNodes } from './simulated-nodes.js';

/** How long a pod takes to start once it has a node: pull the image, then load the weights. */
export interface StartupModel {
  imagePullMs: number;
  /** Weight loading time per GiB of the model's GPU memory. */
  loadMsPerGi: number;
}

/** What can go wrong with a model's pods, set per model by the history. */
export type PodFault = 'none' | 'crash-loop' | 'image-pull' | 'unschedulable' | 'slow';

interface SimulatedPod {
  name: string;
  node: string | undefined;
  /** When it got its node; undefined while pending. */
  placedAt: number | undefined;
  /** How long its weights take to load, fixed when it starts (a later note of the size changes nothing). */
  loadMs: number;
  fault: PodFault;
}

export interface SimulatedDeployment {
  namespace: string;
  name: string;
  replicas: number;
  template: PodTemplate;
  memory: string | undefined;
  scaledToZeroAt: number | undefined;
  scaledUpAt: number | undefined;
  startFailure: string | undefined;
  resizeRefusedFor: string | undefined;
  pods: SimulatedPod[];
  /** When its pods last became ready (0 -> some ready), and when they last stopped being ready. */
  readySince: number | undefined;
  readyEndedAt: number | undefined;
  /** When its pods last became ready, kept after they stop (for the idle-clock invariant). */
  lastReadySince: number | undefined;
  /** When its pods were last started: a scale-up from zero or a rollout (for the start deadline). */
  startedAt: number | undefined;
  /** When a pod of it last lost its node (a restart the control plane does not make, nor always see). */
  evictedAt?: number;
}

/** A write the cluster saw, for the invariants: who scaled what, when. */
export interface ScaleRecord {
  holder: string;
  from: number;
  to: number;
  at: number;
  /** Dependencies (direct) that were neither ready then nor ready within `recentMs` before. */
  dependenciesDown: string[];
}

/**
 * Kubernetes as the control plane sees it, in memory: InferenceModels with finalizers and status,
 * Deployments whose pods get a node (from SimulatedNodes, or at once for a pool without nodes), pull,
 * load their weights and become ready, or fail as the history says. Plays the Deployment controller,
 * the scheduler and the kubelet on `tick()`.
 */
export class SimulatedCluster implements Cluster {
  readonly models = new Map<string, InferenceModel>();
  readonly deployments = new Map<string, SimulatedDeployment>();
  readonly faults = new Map<string, PodFault>();
  readonly events: KubernetesEvent[] = [];
  readonly scales: ScaleRecord[] = [];
  private podSerial = 0;

  constructor(
    private readonly clock: () => number,
    readonly startup: StartupModel,
    private readonly nodes: SimulatedNodes | undefined,
  ) {}

  /** An independent copy of the cluster's state (for replaying a world forward from a moment). */
  copyInto(target: SimulatedCluster): void {
    for (const [k, v] of this.models) target.models.set(k, structuredClone(v));
    for (const [k, v] of this.deployments) target.deployments.set(k, structuredClone(v));
    for (const [k, v] of this.faults) target.faults.set(k, v);
    target.podSerial = this.podSerial;
  }

  // ---- the world's side: what users and the cluster's own controllers do ----

  apply(model: InferenceModel): void {
    const existing = this.models.get(holderOf(model));
    if (existing?.deleting) return; // a terminating object cannot be replaced until it is gone
    const generation = existing ? existing.generation + 1 : 1;
    this.models.set(holderOf(model), {
      ...structuredClone(model),
      generation,
      finalizers: existing?.finalizers ?? [],
      status: existing?.status ?? {},
    });
  }

  delete(ref: ModelRef): void {
    const model = this.models.get(holderOf(ref));
    if (!model) return;
    if (model.finalizers.length === 0) this.removeModel(ref);
    else model.deleting = true;
  }

  /** The controllers' turn: pods follow replicas and templates, get nodes, start, fail. */
  tick(): void {
    const now = this.clock();
    for (const deployment of this.deployments.values()) {
      while (deployment.pods.length > deployment.replicas) this.removePod(deployment.pods.pop()!);
      while (deployment.pods.length < deployment.replicas) {
        const holder = holderOf(deployment);
        deployment.pods.push({
          name: `${deployment.name}-${++this.podSerial}`,
          node: undefined,
          placedAt: undefined,
          loadMs: (this.givenBytes(deployment) / 2 ** 30) * this.startup.loadMsPerGi,
          fault: this.faults.get(holder) ?? 'none',
        });
      }
      for (const pod of deployment.pods) if (pod.placedAt === undefined) this.place(deployment, pod, now);
      const ready = this.readyPods(deployment, now) > 0;
      if (ready && deployment.readySince === undefined) {
        deployment.readySince = now;
        deployment.lastReadySince = now;
      }
      if (!ready && deployment.readySince !== undefined) {
        deployment.readySince = undefined;
        deployment.readyEndedAt = now;
      }
    }
  }

  /**
   * The earliest time a `tick()` could change anything if nothing else happens in between (no port
   * call, no eviction): with every Deployment's pods made and placed, only a pod finishing its start
   * moves. `now` when a tick now would change something. Lets a caller that moves time in small steps
   * skip the ticks that would do nothing.
   */
  nextChangeAt(now = this.clock()): number {
    let next = Infinity;
    for (const deployment of this.deployments.values()) {
      if (deployment.pods.length !== deployment.replicas) return now;
      let readyAt = Infinity;
      for (const pod of deployment.pods) {
        if (pod.placedAt === undefined) return now;
        readyAt = Math.min(readyAt, this.readyAtOf(pod, pod.placedAt));
      }
      // Pods only get closer to ready as time passes: a ready Deployment stays ready until a port call.
      if (readyAt <= now !== (deployment.readySince !== undefined)) return now;
      if (readyAt > now) next = Math.min(next, readyAt);
    }
    return next;
  }

  readyPods(deployment: SimulatedDeployment, now = this.clock()): number {
    let ready = 0;
    for (const pod of deployment.pods) if (this.phase(deployment, pod, now) === 'ready') ready++;
    return ready;
  }

  /** The memory a Deployment's pods were given, in bytes (the annotation), or 0 if none. */
  givenBytes(deployment: SimulatedDeployment): number {
    return deployment.memory ? parseQuantity(deployment.memory) : 0;
  }

  poolOfPods(deployment: SimulatedDeployment): string {
    return deployment.template.nodeSelector[POOL_LABEL] ?? DEFAULT_POOL;
  }

  /** The model the pods' node releases: for the node scaler's count of budgeted pods. */
  podsOn(node: string): number {
    let count = 0;
    for (const d of this.deployments.values()) count += d.pods.filter((p) => p.node === node).length;
    return count;
  }

  /** A node went away: its pods go back to pending. */
  evict(node: string): void {
    for (const d of this.deployments.values()) {
      for (const pod of d.pods) {
        if (pod.node === node) {
          pod.node = undefined;
          pod.placedAt = undefined;
          d.evictedAt = this.clock();
        }
      }
    }
  }

  // ---- the Cluster port ----

  async listModels() {
    return [...this.models.values()].map((m) => copyData(m));
  }
  async getModel(ref: ModelRef) {
    const m = this.models.get(holderOf(ref));
    return m && copyData(m);
  }
  async listManagedDeployments() {
    return [...this.deployments.values()].map((d) => this.view(d));
  }
  async getManagedDeployment(ref: ModelRef) {
    const d = this.deployments.get(holderOf(ref));
    return d && this.view(d);
  }
  async addFinalizer(model: InferenceModel) {
    const stored = this.models.get(holderOf(model));
    if (stored && !stored.finalizers.includes(FINALIZER)) stored.finalizers.push(FINALIZER);
  }
  async removeFinalizer(model: InferenceModel) {
    const stored = this.models.get(holderOf(model));
    if (!stored) return;
    stored.finalizers = stored.finalizers.filter((f) => f !== FINALIZER);
    if (stored.deleting && stored.finalizers.length === 0) this.removeModel(model);
  }
  async createDeployment(model: InferenceModel, replicas: number, at: number) {
    if (this.deployments.has(holderOf(model))) return;
    const stored = this.models.get(holderOf(model));
    // An owner already gone: the apiserver creates it and the garbage collector deletes it at once.
    if (!stored || stored.uid !== model.uid) return;
    const now = this.clock();
    this.deployments.set(holderOf(model), {
      namespace: model.namespace,
      name: model.name,
      replicas,
      template: podTemplateFor(model),
      memory: model.spec.memory,
      scaledToZeroAt: undefined,
      scaledUpAt: replicas > 0 ? at : undefined,
      startFailure: undefined,
      resizeRefusedFor: undefined,
      pods: [],
      readySince: undefined,
      readyEndedAt: undefined,
      lastReadySince: undefined,
      startedAt: replicas > 0 ? now : undefined,
    });
    this.record(model, 0, replicas, now);
    this.tick();
  }
  async scaleDeployment(model: InferenceModel, replicas: number, at: number, startFailure?: string) {
    const d = this.existing(model);
    this.record(model, d.replicas, replicas, at);
    if (d.replicas === 0 && replicas > 0) d.startedAt = at;
    d.replicas = replicas;
    d.memory = model.spec.memory;
    d.scaledToZeroAt = replicas === 0 ? at : undefined;
    d.scaledUpAt = replicas > 0 ? at : undefined;
    d.startFailure = replicas === 0 ? startFailure : undefined;
    if (replicas > 0 && model.spec.containerImage) {
      const template = podTemplateFor(model);
      if (JSON.stringify(template) !== JSON.stringify(d.template)) {
        d.template = template;
        for (const pod of d.pods.splice(0)) this.removePod(pod);
      }
    }
    this.tick();
  }
  async rollOut(model: InferenceModel, at: number) {
    const d = this.existing(model);
    d.template = podTemplateFor(model);
    d.scaledUpAt = at;
    d.startedAt = at;
    // The new ReplicaSet's pods replace the old ones (for the simulation, all at once).
    for (const pod of d.pods.splice(0)) this.removePod(pod);
    this.tick();
  }
  async annotateDeployment(ref: ModelRef, notes: DeploymentNotes) {
    const d = this.existing(ref);
    if (notes.memory !== undefined) d.memory = notes.memory;
    if (notes.resizeRefusedFor !== undefined) d.resizeRefusedFor = notes.resizeRefusedFor ?? undefined;
  }
  async startProblems(ref?: ModelRef) {
    const now = this.clock();
    const problems = new Map<string, string>();
    for (const d of this.deployments.values()) {
      if (ref && holderOf(ref) !== holderOf(d)) continue;
      const problem = d.pods.map((pod) => this.problem(d, pod, now)).find((p) => p !== undefined);
      if (problem) problems.set(holderOf(d), problem);
    }
    return problems;
  }
  async deleteDeployment(ref: ModelRef) {
    const d = this.deployments.get(holderOf(ref));
    if (!d) return;
    for (const pod of d.pods) this.removePod(pod);
    this.deployments.delete(holderOf(ref));
  }
  async patchStatus(model: InferenceModel, status: InferenceModelStatus) {
    const stored = this.models.get(holderOf(model));
    if (stored) stored.status = { ...stored.status, ...copyData(status) };
  }
  async emitEvent(event: KubernetesEvent) {
    this.events.push(copyData(event));
  }

  // ---- the controllers ----

  /** How long after a dependency stopped being ready a start still counts as in order (one pass). */
  recentMs = 60_000;

  private record(model: ModelRef, from: number, to: number, at: number): void {
    const stored = this.models.get(holderOf(model));
    // Dependencies are judged when the scale happens, not at the caller's `at` (when its Lambda
    // started): a dependency that became Ready in between is Ready for this start.
    const now = this.clock();
    const dependenciesDown =
      from === 0 && to > 0 && stored
        ? stored.spec.dependencies.filter((name) => {
            const candidates = [...this.models.values()].filter((m) => m.namespace === stored.namespace);
            const dependency =
              candidates.find((m) => m.name === name) ?? candidates.find((m) => m.spec.modelName === name);
            // A dependency the user deleted or never created is theirs to answer for, not an order broken.
            if (!dependency || dependency.deleting) return false;
            const d = this.deployments.get(holderOf(dependency));
            return (
              !d || (this.readyPods(d, now) === 0 && (d.readyEndedAt ?? -Infinity) < now - this.recentMs)
            );
          })
        : [];
    this.scales.push({ holder: holderOf(model), from, to, at, dependenciesDown });
  }

  private view(d: SimulatedDeployment): ManagedDeployment {
    return {
      namespace: d.namespace,
      name: d.name,
      replicas: d.replicas,
      readyReplicas: this.readyPods(d),
      failed: false,
      memoryAnnotation: d.memory,
      scaledToZeroAt: d.scaledToZeroAt,
      scaledUpAt: d.scaledUpAt,
      startFailure: d.startFailure,
      resizeRefusedFor: d.resizeRefusedFor,
      template: copyData(d.template),
    };
  }

  private phase(d: SimulatedDeployment, pod: SimulatedPod, now: number) {
    if (pod.placedAt === undefined) return 'pending';
    if (pod.fault === 'image-pull') return 'image-pull-error';
    const pulled = pod.placedAt + this.startup.imagePullMs;
    const loadMs = pod.loadMs * (pod.fault === 'slow' ? 4 : 1);
    if (now < pulled) return 'pulling';
    if (now < pulled + loadMs) return 'loading';
    return pod.fault === 'crash-loop' ? 'crash-loop' : 'ready';
  }

  /** When a placed pod's phase becomes 'ready' (as `phase` has it); never for a pod that cannot start. */
  private readyAtOf(pod: SimulatedPod, placedAt: number): number {
    if (pod.fault === 'image-pull' || pod.fault === 'crash-loop') return Infinity;
    return placedAt + this.startup.imagePullMs + pod.loadMs * (pod.fault === 'slow' ? 4 : 1);
  }

  private problem(d: SimulatedDeployment, pod: SimulatedPod, now: number): string | undefined {
    switch (this.phase(d, pod, now)) {
      case 'pending':
        return `pod ${pod.name} cannot be scheduled: ${this.unschedulableReason(d, pod)}`;
      case 'image-pull-error':
        return `pod ${pod.name}: ImagePullBackOff: Back-off pulling image "${d.template.image}"`;
      case 'crash-loop':
        return `pod ${pod.name}: CrashLoopBackOff: back-off 5m0s restarting failed container=inference-server`;
      default:
        return undefined;
    }
  }

  private unschedulableReason(d: SimulatedDeployment, pod: SimulatedPod): string {
    const total = this.nodes?.count() ?? 0;
    if (pod.fault === 'unschedulable') {
      return `0/${total} nodes are available: ${total} node(s) didn't match Pod's node affinity/selector.`;
    }
    return `0/${total} nodes are available: ${total} Insufficient nvidia.com/gpu (needs ${formatQuantity(this.givenBytes(d))} on one node of pool ${this.poolOfPods(d)}).`;
  }

  private place(d: SimulatedDeployment, pod: SimulatedPod, now: number): void {
    if (pod.fault === 'unschedulable') return;
    const pool = this.poolOfPods(d);
    if (!this.nodes?.hasPool(pool)) {
      pod.placedAt = now;
      return;
    }
    const node = this.nodes.place(pool, pod.name, this.givenBytes(d), now);
    if (node) {
      pod.node = node;
      pod.placedAt = now;
    }
  }

  private removePod(pod: SimulatedPod): void {
    if (pod.node) this.nodes?.free(pod.node, pod.name);
  }

  private removeModel(ref: ModelRef): void {
    this.models.delete(holderOf(ref));
    // Owner references: the garbage collector deletes the Deployment too.
    void this.deleteDeployment(ref);
  }

  private existing(ref: ModelRef): SimulatedDeployment {
    const d = this.deployments.get(holderOf(ref));
    if (!d) throw new Error(`deployments.apps "${ref.name}" not found`);
    return d;
  }
}
