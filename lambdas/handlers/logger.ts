import { Logger } from '@aws-lambda-powertools/logger';

/** One logger per Lambda: JSON lines whose keys (`model`, `namespace`, ...) the seed's jq recipes read. */
export const logger = new Logger({ serviceName: 'inference-budget-control-plane' });
