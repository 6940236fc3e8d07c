import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalWrite } from './dynamodb-conditional-write.js';
import type { ActionClaims, ActionLog, ActionRecord, ClaimResult } from '../core/remediation/remediate.js';

const HOUR_MS = 3600_000;
/** How long a claim is remembered: a redelivery later than this is treated as new. */
export const CLAIM_RETENTION_MS = 24 * HOUR_MS;
const RECORD_RETENTION_SECONDS = 90 * 24 * 3600;
const MAX_CONTENTION_RETRIES = 20;
/** Old claims pruned per write, so one write stays small. */
const MAX_PRUNED_PER_WRITE = 25;

interface ClaimsItem {
  claims?: Record<string, { at: number; counted: boolean }>;
  version?: number;
}

/**
 * Remediation state in the ledger table (docs/remediation.md): per workload one claims item
 * (`pk = remediation#<ns>/<name>`, `sk = claims`) written with a version condition, so the duplicate check
 * and the hourly limit hold in the same single-item conditional write; and one audit item per action.
 */
export class DynamoDbRemediationStore implements ActionClaims, ActionLog {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async claim(request: {
    workload: string;
    key: string;
    counted: boolean;
    limit: number;
    now: number;
  }): Promise<ClaimResult> {
    const { key, now } = request;
    for (let tries = 1; tries <= MAX_CONTENTION_RETRIES; tries++) {
      const { Item } = await this.documents.send(
        new GetCommand({ TableName: this.tableName, Key: claimsKey(request.workload), ConsistentRead: true }),
      );
      const item = Item as ClaimsItem | undefined;
      const claims = item?.claims ?? {};
      if (Object.hasOwn(claims, key)) return 'duplicate';
      const recent = Object.values(claims).filter((c) => c.counted && c.at > now - HOUR_MS).length;
      const limited = request.counted && recent >= request.limit;
      const claim = { at: now, counted: request.counted && !limited };
      const written = item
        ? await this.update(request.workload, key, claim, item.version ?? 0, prunable(claims, now))
        : await this.create(request.workload, key, claim);
      if (written) return limited ? 'rate-limited' : 'claimed';
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** tries)));
    }
    throw new Error(
      `claims of ${request.workload} kept changing; gave up after ${MAX_CONTENTION_RETRIES} tries`,
    );
  }

  async unclaim(request: { workload: string; key: string }): Promise<void> {
    // False when the claim was already given back: nothing to do.
    await conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: claimsKey(request.workload),
        UpdateExpression: 'REMOVE claims.#key ADD version :one',
        ConditionExpression: 'attribute_exists(claims.#key)',
        ExpressionAttributeNames: { '#key': request.key },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  async record(record: ActionRecord): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `remediation#${record.workload}`,
          sk: `action#${new Date(record.at).toISOString()}#${record.action}#${randomUUID().slice(0, 8)}`,
          ...record,
          expiresAt: Math.floor(record.at / 1000) + RECORD_RETENTION_SECONDS,
        },
      }),
    );
  }

  private async create(
    workload: string,
    key: string,
    claim: { at: number; counted: boolean },
  ): Promise<boolean> {
    return conditionalWrite(
      this.documents,
      new PutCommand({
        TableName: this.tableName,
        Item: { ...claimsKey(workload), claims: { [key]: claim }, version: 1 },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  private async update(
    workload: string,
    key: string,
    claim: { at: number; counted: boolean },
    version: number,
    pruned: string[],
  ): Promise<boolean> {
    const names: Record<string, string> = { '#key': key };
    pruned.forEach((old, i) => (names[`#old${i}`] = old));
    const remove = pruned.length > 0 ? ` REMOVE ${pruned.map((_, i) => `claims.#old${i}`).join(', ')}` : '';
    return conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: claimsKey(workload),
        UpdateExpression: `SET claims.#key = :claim, version = :next${remove}`,
        ConditionExpression: 'version = :version',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':claim': claim, ':next': version + 1, ':version': version },
      }),
    );
  }
}

function claimsKey(workload: string) {
  return { pk: `remediation#${workload}`, sk: 'claims' };
}

function prunable(claims: Record<string, { at: number }>, now: number): string[] {
  return Object.entries(claims)
    .filter(([, c]) => c.at < now - CLAIM_RETENTION_MS)
    .slice(0, MAX_PRUNED_PER_WRITE)
    .map(([key]) => key);
}
