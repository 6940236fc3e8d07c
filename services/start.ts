// `npm run harness`: builds what is missing, starts every service, prints endpoints and timing, stops.
// Used to warm the cache (.ci/run calls it before the tests) and to measure cold and warm set-up.
import { startHarness } from './all-services.js';

const began = Date.now();
const harness = await startHarness();
for (const [name, value] of Object.entries(harness.env)) console.log(`${name}=${value}`);
console.log(`harness set-up took ${((Date.now() - began) / 1000).toFixed(1)}s`);
await harness.stop();
