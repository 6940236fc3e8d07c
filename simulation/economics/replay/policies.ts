/** The policies a replay compares. Eviction and the admission queue join when that issue lands. */
export interface PolicyDefinition {
  readonly id: 'always-on' | 'control-plane' | 'scale-from-zero';
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
