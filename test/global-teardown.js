/** Runs even when tests failed, so no service outlives the run. */
export default async function globalTeardown() {
  await globalThis.ibcpHarness?.stop();
}
