import type { NodePoolConfig } from '../nodes/node-pools.js';

/**
 * On-demand prices (USD per instance-hour, Linux, us-east-1) of common GPU instance types, as the AWS
 * EC2 on-demand pricing page (https://aws.amazon.com/ec2/pricing/on-demand/) listed them after the
 * June 2025 P4/P5 price cut. They are a starting point, not a quote: prices move and differ by region,
 * reservation and Savings Plan, so a pool's `pricePerNodeHour` always wins. Used by showback
 * (`GET /v1/usage`) and by `npm run simulate`, so the two cost the same node-hour the same way.
 */
export const DEFAULT_PRICES_PER_NODE_HOUR: Readonly<Record<string, number>> = {
  'p5.48xlarge': 55.04, // 8 x H100 80GB
  'p4de.24xlarge': 27.45, // 8 x A100 80GB
  'p4d.24xlarge': 21.96, // 8 x A100 40GB
  'g6e.12xlarge': 10.49, // 4 x L40S 48GB
  'g6e.xlarge': 1.861, // 1 x L40S 48GB
  'g6.12xlarge': 4.602, // 4 x L4 24GB
  'g6.xlarge': 0.805, // 1 x L4 24GB
  'g5.48xlarge': 16.288, // 8 x A10G 24GB
  'g5.12xlarge': 5.672, // 4 x A10G 24GB
  'g5.xlarge': 1.006, // 1 x A10G 24GB
};

/** A pool's price per node-hour: its own, else its instance type's default, else unknown. */
export function pricePerNodeHour(
  pool: Pick<NodePoolConfig, 'instanceType' | 'pricePerNodeHour'>,
): number | undefined {
  if (pool.pricePerNodeHour !== undefined) return pool.pricePerNodeHour;
  return pool.instanceType === undefined ? undefined : DEFAULT_PRICES_PER_NODE_HOUR[pool.instanceType];
}
