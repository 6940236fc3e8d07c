/**
 * The cost model shared by showback (`GET /v1/usage`) and the simulator (`npm run simulate`): a pool's
 * nodes are the unit of the bill, so GPU memory held for a time is worth the share of node-hours it
 * fills, and a node-hour costs the pool's price. One module, so the replay's prediction and what the
 * running control plane measured can be compared line by line.
 */

export const SECONDS_PER_HOUR = 3600;

/** The node-hours that GPU memory held for `byteSeconds` fills in a pool of `bytesPerNode` nodes. */
export function nodeHoursOfHeldMemory(byteSeconds: number, bytesPerNode: number): number {
  return byteSeconds / bytesPerNode / SECONDS_PER_HOUR;
}

/** What `nodeHours` cost at `pricePerNodeHour` USD, to the cent; unknown when the price is. */
export function costOf(nodeHours: number, pricePerNodeHour: number | undefined): number | undefined {
  return pricePerNodeHour === undefined ? undefined : roundToCents(nodeHours * pricePerNodeHour);
}

export function roundToCents(usd: number): number {
  return Math.round(usd * 100) / 100;
}

/** Sums of costs some of which may be unknown: unknown only when every part is. */
export function sumCosts(costs: readonly (number | undefined)[]): number | undefined {
  const known = costs.filter((c): c is number => c !== undefined);
  return known.length === 0 ? undefined : roundToCents(known.reduce((a, b) => a + b, 0));
}
