import { InvalidDecisionError, receiveAlert, type AlertInput } from '..';

const now = new Date('2026-11-28T20:00:00.000Z');
const alert = (over: Partial<AlertInput> = {}): AlertInput => ({
  scenario: 'crowdsecurity/ssh-bf',
  scenarioHash: '',
  scenarioVersion: '',
  message: '',
  eventsCount: 1,
  startAt: '2026-11-28T19:00:00Z',
  stopAt: '2026-11-28T19:30:00Z',
  capacity: 5,
  leakspeed: '10s',
  simulated: false,
  remediation: true,
  events: [],
  source: { scope: 'Ip', value: '192.0.2.7' },
  decisions: null,
  meta: [],
  labels: null,
  ...over,
});
const ids = { alertId: 7, alertUuid: 'a-uuid', decisionIds: [11, 12], decisionUuids: ['d1', 'd2'] };
const ban = (value: string, duration = '4h', scope = 'Ip') => ({
  duration,
  origin: 'crowdsec',
  scenario: 's',
  scope,
  type: 'ban',
  value,
});

describe('receiveAlert', () => {
  it('fixes until at stop_at plus the duration, not now plus the duration', () => {
    const event = receiveAlert(
      alert(),
      [ban('192.0.2.7', '4h'), ban('10.0.0.0/24', '-1h', 'Range')],
      'agent',
      ids,
      now,
    );
    expect(event.type).toBe('AlertReceived');
    expect(event.data.decisions.map((d) => [d.id, d.until])).toEqual([
      [11, '2026-11-28T23:30:00.000Z'],
      [12, '2026-11-28T18:30:00.000Z'],
    ]);
    expect(event.data).toMatchObject({ alertId: 7, uuid: 'a-uuid', machineId: 'agent', createdAt: now.toISOString() });
    expect(event.data.alert).not.toHaveProperty('decisions');
  });

  it('takes simulated from the alert', () => {
    const event = receiveAlert(alert({ simulated: true }), [ban('192.0.2.7')], 'agent', ids, now);
    expect(event.data.decisions[0].simulated).toBe(true);
  });

  it('accepts days and other scopes with any value', () => {
    const event = receiveAlert(alert(), [ban('bob', '2d3h', 'Username')], 'agent', ids, now);
    expect(event.data.decisions[0].until).toBe('2026-11-30T22:30:00.000Z');
  });

  it.each([
    [ban('192.0.2.7', '1x'), /duration '1x'/],
    [ban('192.0.2.300'), /'192.0.2.300' is not a valid IP/],
    [ban('10.0.0.0/33', '1h', 'Range'), /not a valid IP address or range/],
  ])('refuses %j', (decision, message) => {
    expect(() => receiveAlert(alert(), [decision], 'agent', ids, now)).toThrow(InvalidDecisionError);
    expect(() => receiveAlert(alert(), [decision], 'agent', ids, now)).toThrow(message);
  });
});
