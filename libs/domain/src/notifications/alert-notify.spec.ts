import type { AlertReceived } from '../alerts/alert.events';
import type { ProfilesOutcome } from '../profiles/profiles';
import { alertNotifyOf, pluginAlertsOf } from './alert-notify';
import { SSH_BF } from './notification.fixtures';

const ban = { duration: '4h', origin: 'crowdsec', scenario: 's', scope: 'Ip', type: 'ban', value: '192.0.2.1' };

const outcome = (notifications: ProfilesOutcome['notifications']): ProfilesOutcome => ({
  decisions: [ban],
  notifications,
});

const received = (notify: AlertReceived['data']['notify']): Pick<AlertReceived, 'data'> => ({
  data: {
    alertId: 7,
    uuid: 'u-7',
    machineId: 'agent',
    createdAt: '2026-01-01T00:00:00Z',
    alert: SSH_BF.alert,
    decisions: [],
    notify,
  },
});

describe('alertNotifyOf', () => {
  it('records nothing when no matching profile names a plugin', () => {
    expect(alertNotifyOf(outcome([]))).toBeUndefined();
    expect(
      alertNotifyOf(outcome([{ profileIndex: 0, profileName: 'p', notifications: [], decisions: [ban] }])),
    ).toBeUndefined();
  });

  it('keeps each notifying profile in order, and whether it saw the decisions', () => {
    const notify = alertNotifyOf(
      outcome([
        { profileIndex: 0, profileName: 'early', notifications: ['slack'], decisions: [] },
        { profileIndex: 1, profileName: 'quiet', notifications: [], decisions: [ban] },
        { profileIndex: 2, profileName: 'ban', notifications: ['http_default', 'slack'], decisions: [ban] },
      ]),
    );
    expect(notify).toEqual({
      profiles: [
        { name: 'early', plugins: ['slack'], withDecisions: false },
        { name: 'ban', plugins: ['http_default', 'slack'], withDecisions: true },
      ],
      decisions: [ban],
    });
  });

  it('drops the decisions when no notifying profile saw them', () => {
    const notify = alertNotifyOf(
      outcome([{ profileIndex: 0, profileName: 'early', notifications: ['slack'], decisions: [] }]),
    );
    expect(notify?.decisions).toEqual([]);
  });
});

describe('pluginAlertsOf', () => {
  it('gives nothing for an alert without notifications', () => {
    expect(pluginAlertsOf(received(undefined))).toEqual([]);
  });

  it('queues the alert once per plugin of each profile, a plugin named twice twice, as the reference broker', () => {
    const alerts = pluginAlertsOf(
      received({
        profiles: [
          { name: 'early', plugins: ['slack'], withDecisions: false },
          { name: 'ban', plugins: ['http_default', 'slack'], withDecisions: true },
        ],
        decisions: [ban],
      }),
    );
    expect(alerts.map((a) => [a.plugin, a.profile, a.alert.decisions])).toEqual([
      ['slack', 'early', null],
      ['http_default', 'ban', [ban]],
      ['slack', 'ban', [ban]],
    ]);
    expect(alerts[0].alert).toMatchObject({ id: 7, uuid: 'u-7', machineId: 'agent', alert: SSH_BF.alert });
  });
});
