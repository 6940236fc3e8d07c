import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { ModelRef } from '../core/inference-model.js';
import type { ReconcileRequests } from '../core/reconcile/ports.js';

export const EVENT_SOURCE = 'inference-budget-control-plane';
export const RECONCILE_DETAIL_TYPE = 'InferenceModel changed';

/** Reconcile requests as EventBridge events, routed by a rule to the single-model reconcile Lambda. */
export class EventBridgeReconcileRequests implements ReconcileRequests {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async request(ref: ModelRef): Promise<void> {
    const { FailedEntryCount, Entries } = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: EVENT_SOURCE,
            DetailType: RECONCILE_DETAIL_TYPE,
            Detail: JSON.stringify({ namespace: ref.namespace, name: ref.name }),
          },
        ],
      }),
    );
    if (FailedEntryCount) {
      throw new Error(
        `EventBridge refused the reconcile event: ${Entries?.[0]?.ErrorMessage ?? 'unknown error'}`,
      );
    }
  }
}
