import type { StoredDecision } from '../alerts/alert.events';
import type { ProfileDecision } from '../profiles/profiles';
import { formatAlerts, toModelAlerts, type NotificationAlert, type NotificationDecision } from './alert-model';
import { CSCLI_BAN, SIMULATED_RANGE, SSH_BF } from './notification.fixtures';
import { compileGoTemplate, marshalJson } from './template';

const toJson = (alerts: readonly NotificationAlert[]) => marshalJson(toModelAlerts(alerts));

describe('the []*models.Alert of a notification', () => {
  it("marshals as Go's encoding/json does (recorded from Go)", () => {
    expect(toJson([SIMULATED_RANGE])).toBe(
      '[{"capacity":10,"decisions":null,"events":[{"meta":[],"timestamp":"2024-05-01T10:00:01Z"}],"events_count":11,' +
        '"id":42,"kind":"crowdsec","labels":[],"leakspeed":"1s","machine_id":"agent-2",' +
        '"message":"Range 10.0.0.0/8 performed \\u003cprobing\\u003e \\u0026 \\"more\\"\\u2028end",' +
        '"scenario":"crowdsecurity/http-probing","scenario_hash":"abc","scenario_version":"0.4","simulated":true,' +
        '"source":{"latitude":0.5,"longitude":1e-7,"range":"10.0.0.0/8","scope":"Range","value":"10.0.0.0/8"},' +
        '"start_at":"2024-05-01T10:00:00.123456Z","stop_at":"2024-05-01T10:00:30Z",' +
        '"uuid":"7b0c5e0e-0000-4000-8000-000000000001"}]',
    );
  });

  it('has the shape of the example alert of the docs', () => {
    const [alert] = JSON.parse(toJson([SSH_BF])) as Record<string, unknown>[];
    expect(Object.keys(alert)).toEqual([
      'capacity',
      'decisions',
      'events',
      'events_count',
      'labels',
      'leakspeed',
      'machine_id',
      'message',
      'remediation',
      'scenario',
      'scenario_hash',
      'scenario_version',
      'simulated',
      'source',
      'start_at',
      'stop_at',
    ]);
    expect(alert.decisions).toEqual([
      {
        duration: '4h',
        origin: 'crowdsec',
        scenario: 'crowdsecurity/ssh-bf',
        scope: 'Ip',
        type: 'ban',
        value: '35.188.49.176',
      },
    ]);
    expect(alert.source).toEqual({
      as_name: 'Google LLC',
      as_number: '15169',
      cn: 'US',
      ip: '35.188.49.176',
      latitude: 37.4192, // a float32, written with its own shortest digits
      longitude: -122.0574,
      range: '35.184.0.0/13',
      scope: 'Ip',
      value: '35.188.49.176',
    });
    expect(alert.labels).toBeNull();
  });

  it.each([
    ['a simulated decision keeps simulated: true', { simulated: true }, { simulated: true }],
    ['simulated: false is a nil *bool, so omitted', { simulated: false }, {}],
    [
      'a stored decision shows its id and until',
      { id: 7, until: '2024-05-02T10:00:00Z' },
      { id: 7, until: '2024-05-02T10:00:00Z' },
    ],
  ])('%s', (_name, extra, expected) => {
    const decision = { ...CSCLI_BAN.decisions![0], ...extra };
    const [alert] = JSON.parse(toJson([{ ...CSCLI_BAN, decisions: [decision] }])) as { decisions: object[] }[];
    expect(alert.decisions[0]).toEqual({
      duration: '24h',
      origin: 'cscli',
      scenario: "manual 'ban' from 'localhost'",
      scope: 'Ip',
      type: 'ban',
      value: '1.2.3.4',
      ...expected,
    });
  });

  it("takes a profile's decisions as they are, and stored ones given their duration", () => {
    const profile: ProfileDecision = { ...CSCLI_BAN.decisions![0], simulated: true };
    const stored: StoredDecision = { ...CSCLI_BAN.decisions![0], id: 1, uuid: 'u', simulated: false, until: 'x' };
    const decisions: NotificationDecision[] = [profile, { ...stored, duration: '24h' }];
    expect(decisions).toHaveLength(2);
  });

  it('formats a batch with a compiled format', () => {
    const format = compileGoTemplate('{{len .}}:{{range .}} {{.MachineID}}{{end}}');
    expect(formatAlerts(format, [SSH_BF, CSCLI_BAN])).toBe(`2: ${SSH_BF.machineId} localhost`);
  });
});
