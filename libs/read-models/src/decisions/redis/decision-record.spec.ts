import { receiveAlert, type AlertInput } from '@lapi/domain';
import type { RecordedEvent } from '@lapi/event-store';
import { decisionOps } from './decision-record';

const recorded = <E extends { type: string; data: object }>(e: E): RecordedEvent => ({
  ...e,
  metadata: { actor: { kind: 'cli', id: 't' }, at: '' },
  streamId: 's',
  streamVersion: 1n,
  globalPosition: 1n,
  transactionId: 1n,
  createdAt: new Date(),
});

describe('decisionOps', () => {
  it('puts each decision of a received alert with until in ms', () => {
    const alert = {
      startAt: '2026-11-28T19:59:00Z',
      stopAt: '2026-11-28T20:00:00Z',
      simulated: true,
      decisions: null,
    } as unknown as AlertInput;
    const event = receiveAlert(
      alert,
      [{ duration: '1h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: '192.0.2.1' }],
      'm',
      { alertId: 3, alertUuid: 'a', decisionIds: [9], decisionUuids: ['u'] },
      new Date(),
    );
    expect(decisionOps(recorded(event))).toEqual([
      {
        op: 'put',
        record: {
          id: 9,
          uuid: 'u',
          alertId: 3,
          origin: 'cscli',
          type: 'ban',
          scope: 'Ip',
          value: '192.0.2.1',
          scenario: 's',
          simulated: true,
          until: Date.parse('2026-11-28T21:00:00Z'),
          removed: false,
        },
      },
    ]);
  });

  it('expires deleted decisions and removes the decisions of deleted alerts', () => {
    const at = '2026-11-28T20:00:00.000Z';
    expect(decisionOps(recorded({ type: 'DecisionsDeleted', data: { decisionIds: [1, 2], at } }))).toEqual([
      { op: 'expire', ids: [1, 2], at: Date.parse(at) },
    ]);
    expect(decisionOps(recorded({ type: 'AlertsDeleted', data: { alertIds: [5], at } }))).toEqual([
      { op: 'removeAlerts', alertIds: [5], at: Date.parse(at) },
    ]);
    expect(decisionOps(recorded({ type: 'MachineRegistered', data: {} }))).toEqual([]);
  });
});
