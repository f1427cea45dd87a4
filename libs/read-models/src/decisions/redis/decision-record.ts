import type { DecisionLogEvent } from '@lapi/domain';
import type { RecordedEvent } from '@lapi/event-store';

/** A decision as the cluster read model keeps it: everything the bouncer endpoints need, `until` in ms. */
export interface DecisionRecord {
  readonly id: number;
  readonly uuid: string;
  readonly alertId: number;
  readonly origin: string;
  readonly type: string;
  readonly scope: string;
  readonly value: string;
  readonly scenario: string;
  readonly simulated: boolean;
  readonly until: number;
  /** Its alert was deleted while it was active: never active again, reported in the stream's `deleted`. */
  readonly removed: boolean;
}

/** What an event does to the decisions, for a store that holds them keyed by id and by alert. */
export type DecisionOp =
  | { readonly op: 'put'; readonly record: DecisionRecord }
  | { readonly op: 'expire'; readonly ids: readonly number[]; readonly at: number }
  | { readonly op: 'removeAlerts'; readonly alertIds: readonly number[]; readonly at: number }
  /** The expiry sweep recorded these: they leave the expiry index. */
  | { readonly op: 'expired'; readonly ids: readonly number[] };

export function decisionOps(event: RecordedEvent): DecisionOp[] {
  const e = event as RecordedEvent<DecisionLogEvent>;
  switch (e.type) {
    case 'AlertReceived':
      return e.data.decisions.map((d) => ({
        op: 'put' as const,
        record: {
          id: d.id,
          uuid: d.uuid,
          alertId: e.data.alertId,
          origin: d.origin,
          type: d.type,
          scope: d.scope,
          value: d.value,
          scenario: d.scenario,
          simulated: d.simulated,
          until: Date.parse(d.until),
          removed: false,
        },
      }));
    case 'DecisionsDeleted':
      return [{ op: 'expire', ids: e.data.decisionIds, at: Date.parse(e.data.at) }];
    case 'AlertsDeleted':
      return [{ op: 'removeAlerts', alertIds: e.data.alertIds, at: Date.parse(e.data.at) }];
    case 'DecisionsExpired':
      return [{ op: 'expired', ids: e.data.decisionIds }];
    default:
      return [];
  }
}
