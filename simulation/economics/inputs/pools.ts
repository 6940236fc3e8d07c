import { NodePoolConfigError, parseNodePools } from '../../../lambdas/core/nodes/node-pools.js';
import { DEFAULT_PRICES_PER_NODE_HOUR, pricePerNodeHour } from '../../../lambdas/core/economics/prices.js';
import { InputError, type SimulatedPool } from '../scenario.js';
import { DEFAULT_NODE_BOOT_SECONDS } from './startup.js';
import { readDocuments } from './structured-file.js';

/** What the simulator reads besides the `NODE_POOLS` fields. */
const SIMULATOR_FIELDS = ['nodeBootSeconds'] as const;
const MAX_BOOT_SECONDS = 3600;

/**
 * `--pools FILE` (JSON or YAML): the CDK `pools` list (docs/node-pools.md), or the whole `inferenceBudget`
 * object of cdk.json, each pool with a price: `pricePerNodeHour` or an `instanceType` with a default
 * price, and optionally its own `nodeBootSeconds`. Checked by the parser the Lambdas use.
 */
export async function readPools(
  path: string,
  nodeBootSeconds = DEFAULT_NODE_BOOT_SECONDS,
): Promise<SimulatedPool[]> {
  const documents = await readDocuments(path);
  if (documents.length !== 1)
    throw new InputError(`${path}: expected one JSON or YAML document, found ${documents.length}`);
  return parsePools(documents[0], path, nodeBootSeconds);
}

export function parsePools(document: unknown, where: string, defaultBootSeconds: number): SimulatedPool[] {
  const list = isRecord(document) && 'pools' in document ? document.pools : document;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InputError(
      `${where}: expected a list of pools (or an object with "pools"), each {name, nodeGroup, gpuMemoryPerNode, minNodes, maxNodes, instanceType or pricePerNodeHour}`,
    );
  }
  const boots = list.map((entry, index) =>
    bootSeconds(entry, `${where}: pools[${index}]`, defaultBootSeconds),
  );
  const stripped = list.map((entry) =>
    isRecord(entry)
      ? Object.fromEntries(
          Object.entries(entry).filter(([key]) => !(SIMULATOR_FIELDS as readonly string[]).includes(key)),
        )
      : entry,
  );
  let configs;
  try {
    configs = parseNodePools(JSON.stringify(stripped), `${where}: pools`);
  } catch (error) {
    if (error instanceof NodePoolConfigError) throw new InputError(error.message);
    throw error;
  }
  return configs.map((config, index) => {
    const price = pricePerNodeHour(config);
    if (price === undefined) {
      throw new InputError(
        `${where}: pools[${index}] (${config.name}) has no price: set pricePerNodeHour (USD), or an instanceType with a default price (${Object.keys(DEFAULT_PRICES_PER_NODE_HOUR).join(', ')})`,
      );
    }
    return { config, pricePerNodeHour: price, nodeBootSeconds: boots[index]! };
  });
}

function bootSeconds(entry: unknown, where: string, fallback: number): number {
  if (!isRecord(entry) || entry.nodeBootSeconds === undefined) return fallback;
  const value = entry.nodeBootSeconds;
  if (typeof value !== 'number' || !(value >= 0) || value > MAX_BOOT_SECONDS) {
    throw new InputError(
      `${where}.nodeBootSeconds must be a number of seconds from 0 to ${MAX_BOOT_SECONDS}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
