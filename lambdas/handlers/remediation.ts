import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbRemediationStore } from '../adapters/dynamodb-remediation.js';
import { SnsAnnouncer } from '../adapters/sns-announcer.js';
import { AlertPayloadError, parseRemediationEvent } from '../core/remediation/alerts.js';
import type { RemediationPorts, RemediationReport } from '../core/remediation/ports.js';
import { remediate } from '../core/remediation/remediate.js';
import { remediationConfig, runtimeConfig, type RemediationSettings, type RuntimeConfig } from '../config.js';
import { logger } from './logger.js';
import { ClusterAccess, moeWorkloads } from './composition-root/cluster-access.js';
import { ledgerTable, type LedgerTable } from './composition-root/ledger-table.js';

/**
 * Runbook automation for the MoE lab (docs/remediation.md). Triggers: the on-call SNS topic that the AMP
 * alert manager publishes to, EventBridge CloudWatch alarm state changes, and a schedule that scales
 * latency replicas back. A malformed payload is logged and dropped (a retry cannot fix it); any other
 * failure throws, so Lambda's async retry redelivers it, and the claims make sure it acts once. The
 * settings are read and the adapters wired at the first event.
 */
export function createRemediationHandler(
  settingsOf: () => RemediationSettings,
  configOf: () => RuntimeConfig,
) {
  let wiring: { table: LedgerTable; access: ClusterAccess } | undefined;
  let settings: RemediationSettings | undefined;
  let sns: SNSClient | undefined;
  return middy(async (event: unknown): Promise<RemediationReport> => {
    settings ??= settingsOf();
    if (!wiring) {
      const config = configOf();
      wiring = { table: ledgerTable(config), access: new ClusterAccess(config) };
    }
    sns ??= new SNSClient({});
    let parsed;
    try {
      parsed = parseRemediationEvent(event, { alarmArnPrefix: settings.alarmArnPrefix });
    } catch (error) {
      if (!(error instanceof AlertPayloadError)) throw error;
      logger.error('Alert payload rejected', { reason: error.message });
      return { results: [], rejected: [error.message] };
    }
    const store = new DynamoDbRemediationStore(wiring.table.client, wiring.table.name);
    const ports: RemediationPorts = {
      cluster: await wiring.access.client(moeWorkloads),
      ledger: wiring.table.ledger,
      claims: store,
      actions: store,
      announcer: new SnsAnnouncer(sns, settings.topicArn),
      log: logger,
      clock: Date.now,
    };
    const report = await remediate(ports, settings, parsed);
    logger.info('Remediation finished', {
      results: report.results.map((r) => `${r.alert} ${r.status} ${r.workload ?? '-'}: ${r.outcome}`),
      rejected: report.rejected.length,
    });
    return report;
  }).use(injectLambdaContext(logger));
}

/** The Lambda's entry point: settings from the environment. */
export const handler = createRemediationHandler(
  () => remediationConfig(),
  () => runtimeConfig(),
);
