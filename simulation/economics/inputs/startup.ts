import type { StartupModel } from '../scenario.js';

/**
 * Start-up defaults, each an estimate to replace with your own measurements: the control plane exports
 * exactly these (`inference_node_scale_out_seconds`, `inference_model_cold_start_seconds`,
 * docs/metrics.md). Where the numbers come from is in docs/simulate.md.
 */
export const DEFAULT_NODE_BOOT_SECONDS = 300;
export const DEFAULT_STARTUP: StartupModel = { imagePullSeconds: 60, weightLoadGiBPerSecond: 1 };
export const DEFAULT_RECONCILE_INTERVAL_SECONDS = 60;
