// The parts of @kubernetes/client-node the adapters use, imported from the modules that define them. The
// package root re-exports every module, and the package declares no `sideEffects`, so a bundle importing
// the root keeps what exec, attach, port-forward and cp load (ws, tar-fs and their dependencies) though
// no function uses them. The package has no `exports` map: these paths are its published files.
// Types need no such care (they are erased): import them from the package root.
import '@kubernetes/client-node/dist/polyfill.js';

export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
export {
  ObjectAppsV1Api as AppsV1Api,
  ObjectCoreV1Api as CoreV1Api,
  ObjectCustomObjectsApi as CustomObjectsApi,
} from '@kubernetes/client-node/dist/gen/types/ObjectParamAPI.js';
export { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
export { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
export { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
