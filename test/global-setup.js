// Jest loads global setup outside its module transform, so this stays plain JS and lets tsx load the
// TypeScript harness (which imports its siblings as `./x.js`, NodeNext style).
import { tsImport } from 'tsx/esm/api';

/** Services start once per run; jest's workers inherit their endpoints through the environment. */
export default async function globalSetup() {
  const { startHarness } = await tsImport('../services/all-services.ts', import.meta.url);
  const harness = await startHarness();
  Object.assign(process.env, harness.env);
  globalThis.ibcpHarness = harness;
}
