import { isStorableTime } from '../shared/go-time';
import { parseIpRange } from '../shared/ip-range';
import { isIpScope } from '../shared/scope';
import type { AlertInput } from './alert';
import type { AlertReceived, StoredDecision } from './alert.events';
import { InvalidAlertError, InvalidDecisionError, type AlertIds } from './receive-alert';

/** A decision as a CrowdSec database holds it: its end (`until`, ISO) is kept, not worked out again. */
export type CrowdsecDecision = Omit<StoredDecision, 'id' | 'uuid'>;

/** An alert of a CrowdSec database with its active decisions, events and meta (`lapi import-crowdsec`). */
export interface CrowdsecAlert {
  /** Its import key: the source's uuid, or one derived from the source row; an alert with it is not imported twice. */
  readonly uuid: string;
  /** The machine that sent it (its owner in the source), or the importer's name when it had none. */
  readonly machineId: string;
  /** When the source stored it (ISO). */
  readonly createdAt: string;
  readonly alert: Omit<AlertInput, 'decisions'>;
  readonly decisions: readonly CrowdsecDecision[];
}

/**
 * The event recording an alert brought over from CrowdSec: as an agent's alert, with the source's creation time and
 * each decision's `until` as stored there (a decision keeps the time it has left).
 */
export function importedAlertReceived(imported: CrowdsecAlert, ids: Omit<AlertIds, 'alertUuid'>): AlertReceived {
  const { alert, decisions } = imported;
  if (ids.decisionIds.length < decisions.length || ids.decisionUuids.length < decisions.length) {
    throw new Error('not enough decision ids allocated');
  }
  for (const [field, time] of [
    ['start_at', alert.startAt],
    ['stop_at', alert.stopAt],
    ['created_at', imported.createdAt],
  ] as const) {
    if (!isStorableTime(Date.parse(time))) {
      throw new InvalidAlertError(`alert ${imported.uuid}: ${field} '${time}' is not a time we can store`);
    }
  }
  const stored: StoredDecision[] = decisions.map((d, i) => {
    if (!isStorableTime(Date.parse(d.until))) {
      throw new InvalidDecisionError(`alert ${imported.uuid}: decision until '${d.until}' is not a time we can store`);
    }
    if (isIpScope(d.scope) && parseIpRange(d.value) === null) {
      throw new InvalidDecisionError(
        `alert ${imported.uuid}: decision value '${d.value}' is not a valid IP address or range for scope '${d.scope}'`,
      );
    }
    return { ...d, id: ids.decisionIds[i], uuid: ids.decisionUuids[i], until: new Date(d.until).toISOString() };
  });
  return {
    type: 'AlertReceived',
    data: {
      alertId: ids.alertId,
      uuid: imported.uuid,
      machineId: imported.machineId,
      createdAt: new Date(imported.createdAt).toISOString(),
      alert,
      decisions: stored,
    },
  };
}
