import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalWrite } from './dynamodb-conditional-write.js';
import type {
  ActionClaims,
  ActionLog,
  ActionRecord,
  ClaimResult,
  PlannedChange,
} from '../core/remediation/ports.js';

const HOUR_MS = 3600_000;
/** How long a claim is remembered: a redelivery later than this is treated as new. */
export const CLAIM_RETENTION_MS = 24 * HOUR_MS;
const RECORD_RETENTION_SECONDS = 90 * 24 * 3600;
const MAX_CONTENTION_RETRIES = 20;
/** Old claims pruned per write, so one write stays small. */
const MAX_PRUNED_PER_WRITE = 25;
/** The one item that holds every claim, so both hourly limits and the duplicate check are one write. */
const CLAIMS_KEY = { pk: 'remediation#claims', sk: 'claims' };

interface StoredClaim extends PlannedChange {
  workload: string;
  at: number;
  counted: boolean;
  /** Set while the claim is in progress; a claim without one is done. */
  leaseUntil?: number;
}

interface ClaimsItem {
  claims?: Record<string, StoredClaim>;
  version?: number;
}

/**
 * Remediation state in the ledger table (docs/remediation.md): one claims item for all workloads, written
 * with a version condition, so the duplicate check, the lease and both hourly limits (per workload and in
 * total) hold in one single-item conditional write; and one append-only audit item per action.
 */
export class DynamoDbRemediationStore implements ActionClaims, ActionLog {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async claim(request: Parameters<ActionClaims['claim']>[0]): Promise<ClaimResult> {
    const { now } = request;
    const id = claimId(request);
    for (let tries = 1; tries <= MAX_CONTENTION_RETRIES; tries++) {
      const { Item } = await this.documents.send(
        new GetCommand({ TableName: this.tableName, Key: CLAIMS_KEY, ConsistentRead: true }),
      );
      const item = Item as ClaimsItem | undefined;
      const claims = item?.claims ?? {};
      const version = item?.version ?? 0;
      const existing = Object.hasOwn(claims, id) ? claims[id]! : undefined;
      if (existing && existing.leaseUntil === undefined) return { status: 'duplicate' };
      if (existing && existing.leaseUntil! > now) return { status: 'in-progress' };
      if (existing) {
        // The attempt that held it ran out of lease: this one takes the claim over, counted as it was.
        const taken = { ...existing, leaseUntil: now + request.leaseMs };
        if (await this.write(id, taken, version, item !== undefined, prunable(claims, now))) {
          return { status: 'resumed', plan: { before: existing.before, after: existing.after } };
        }
      } else {
        const recent = Object.values(claims).filter((c) => c.counted && c.at > now - HOUR_MS);
        const scope = !request.counted
          ? undefined
          : recent.filter((c) => c.workload === request.workload).length >= request.limit
            ? 'workload'
            : recent.length >= request.totalLimit
              ? 'total'
              : undefined;
        const claim: StoredClaim = {
          workload: request.workload,
          at: now,
          counted: request.counted && scope === undefined,
          before: request.plan.before,
          after: request.plan.after,
          // A rate-limited claim only records that it was refused: it is done at once.
          ...(scope === undefined && { leaseUntil: now + request.leaseMs }),
        };
        if (await this.write(id, claim, version, item !== undefined, prunable(claims, now))) {
          return scope ? { status: 'rate-limited', scope } : { status: 'claimed' };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** tries)));
    }
    throw new Error(`remediation claims kept changing; gave up after ${MAX_CONTENTION_RETRIES} tries`);
  }

  async complete(request: { workload: string; key: string }): Promise<void> {
    // False when the claim is already done (or was pruned): nothing to do.
    await conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: CLAIMS_KEY,
        UpdateExpression: 'REMOVE claims.#id.leaseUntil ADD version :one',
        ConditionExpression: 'attribute_exists(claims.#id)',
        ExpressionAttributeNames: { '#id': claimId(request) },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  async unclaim(request: { workload: string; key: string }): Promise<void> {
    // False when the claim was already given back: nothing to do.
    await conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: CLAIMS_KEY,
        UpdateExpression: 'REMOVE claims.#id ADD version :one',
        ConditionExpression: 'attribute_exists(claims.#id)',
        ExpressionAttributeNames: { '#id': claimId(request) },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  /**
   * Append-only: the key is derived from the claim, and the put never overwrites. A second attempt to
   * record the same claim (one that died between recording and completing) leaves the first record.
   */
  async record(record: ActionRecord & { claim: string }): Promise<void> {
    const { claim, ...fields } = record;
    const digest = createHash('sha256').update(`${record.workload}|${claim}`).digest('hex').slice(0, 12);
    await conditionalWrite(
      this.documents,
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `remediation#${record.workload}`,
          sk: `action#${claim.replace(/^.*@/, '')}#${record.action}#${digest}`,
          ...fields,
          expiresAt: Math.floor(record.at / 1000) + RECORD_RETENTION_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  private async write(
    id: string,
    claim: StoredClaim,
    version: number,
    exists: boolean,
    pruned: string[],
  ): Promise<boolean> {
    if (!exists) {
      return conditionalWrite(
        this.documents,
        new PutCommand({
          TableName: this.tableName,
          Item: { ...CLAIMS_KEY, claims: { [id]: claim }, version: 1 },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    }
    const names: Record<string, string> = { '#id': id };
    pruned.forEach((old, i) => (names[`#old${i}`] = old));
    const remove = pruned.length > 0 ? ` REMOVE ${pruned.map((_, i) => `claims.#old${i}`).join(', ')}` : '';
    return conditionalWrite(
      this.documents,
      new UpdateCommand({
        TableName: this.tableName,
        Key: CLAIMS_KEY,
        UpdateExpression: `SET claims.#id = :claim, version = :next${remove}`,
        ConditionExpression: 'version = :version',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':claim': claim, ':next': version + 1, ':version': version },
      }),
    );
  }
}

function claimId(request: { workload: string; key: string }): string {
  return `${request.workload}|${request.key}`;
}

function prunable(claims: Record<string, StoredClaim>, now: number): string[] {
  return Object.entries(claims)
    .filter(([, c]) => c.at < now - CLAIM_RETENTION_MS && c.leaseUntil === undefined)
    .slice(0, MAX_PRUNED_PER_WRITE)
    .map(([key]) => key);
}
