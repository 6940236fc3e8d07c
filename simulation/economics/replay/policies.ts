/** The policies a replay compares. */
export interface PolicyDefinition {
  readonly id: 'always-on' | 'control-plane' | 'scale-from-zero' | 'eviction-queue';
  readonly label: string;
  readonly description: string;
}

export const ALWAYS_ON: PolicyDefinition = {
  id: 'always-on',
  label: 'always-on',
  description:
    'every model up all the time, with the nodes to hold them all (packed as the control plane packs)',
};

export const CONTROL_PLANE: PolicyDefinition = {
  id: 'control-plane',
  label: 'control plane',
  description:
    'this control plane as configured: warm-up on a cold request, activity on every request, scale to zero after the cooldown, node scale-out and targeted scale-in',
};

export const SCALE_FROM_ZERO: PolicyDefinition = {
  id: 'scale-from-zero',
  label: 'idle from scale-up',
  description:
    "a scale-from-zero policy that counts idle time from scale-up, not from the last request (as KEDA's HTTP add-on does): the same control plane, told of no request to a running model",
};

export const EVICTION_QUEUE: PolicyDefinition = {
  id: 'eviction-queue',
  label: 'eviction + queue',
  description:
    'the control plane with every pool allowing eviction (minIdle 5m) and queueing by default (entries expire 10m after their last request): a warm-up that does not fit evicts idle models of no higher priority, else waits in line',
};
