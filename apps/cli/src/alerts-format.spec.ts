import type { AlertResponse } from '@lapi/lapi-contract';
import { stringify } from 'yaml';
import { alertInspection, alertsCsv, alertsTable, alertYamlModel, decisionsSummary } from './alerts-format';

const decision = (type: string, duration: string, simulated = false) => ({
  duration,
  id: 7,
  origin: 'crowdsec',
  scenario: 'crowdsecurity/ssh-bf',
  scope: 'Ip',
  type,
  value: '192.0.2.1',
  uuid: 'u',
  simulated,
});

const alert = (over: Partial<AlertResponse> = {}): AlertResponse => ({
  id: 12,
  uuid: 'a',
  machine_id: 'agent-1',
  created_at: '2026-01-02T03:04:05Z',
  scenario: 'crowdsecurity/ssh-bf',
  scenario_hash: '',
  scenario_version: '',
  message: '',
  events_count: 1,
  start_at: '2026-01-02 03:04:05 +0000 UTC',
  stop_at: '2026-01-02 03:04:06 +0000 UTC',
  capacity: 5,
  leakspeed: '10s',
  simulated: false,
  source: { scope: 'Ip', value: '192.0.2.1', cn: 'FR', as_number: '64500', as_name: 'Example, "Inc"' },
  events: [
    {
      timestamp: '2026-01-02 03:04:05 +0000 UTC',
      meta: [
        { key: 'z', value: '1' },
        { key: 'a', value: '2' },
      ],
    },
  ],
  decisions: [decision('ban', '3h59m'), decision('ban', '-1s'), decision('captcha', '1h', true)],
  labels: null,
  ...over,
});

describe('lapi alerts output', () => {
  it('counts decisions per type, simulated ones apart, in the order first seen', () => {
    expect(decisionsSummary(alert())).toBe('ban:2 (simul)captcha:1');
    expect(decisionsSummary(alert({ decisions: null }))).toBe('');
  });

  it('writes CSV as Go encoding/csv does (quotes doubled, fields with commas or leading blanks quoted)', () => {
    expect(alertsCsv([alert(), alert({ id: 13, source: { scope: 'Ip', value: ' x' }, decisions: null })], true)).toBe(
      [
        'id,scope,value,reason,country,as,decisions,created_at,machine',
        '12,Ip,192.0.2.1,crowdsecurity/ssh-bf,FR,"64500 Example, ""Inc""",ban:2 (simul)captcha:1,2026-01-02 03:04:05 +0000 UTC,agent-1',
        '13,Ip," x",crowdsecurity/ssh-bf,,,,2026-01-02 03:04:05 +0000 UTC,agent-1',
      ].join('\n'),
    );
    expect(alertsCsv([], false)).toBe('id,scope,value,reason,country,as,decisions,created_at');
  });

  it("shows the table, or cscli's words for none", () => {
    expect(alertsTable([], false)).toBe('No active alerts');
    const lines = alertsTable([alert({ source: { scope: 'Country', value: '' } })], true).split('\n');
    expect(lines[1].split(/\s{2,}/)).toEqual([
      'ID',
      'value',
      'reason',
      'country',
      'as',
      'decisions',
      'created_at',
      'machine',
    ]);
    expect(lines[3].split(/\s{2,}/)).toEqual([
      '12',
      'Country',
      'crowdsecurity/ssh-bf',
      'ban:2 (simul)captcha:1',
      '2026-01-02 03:04:05 +0000 UTC',
      'agent-1',
    ]);
  });

  it('inspects with the active decisions only, and events with their meta sorted by key with -d', () => {
    const text = alertInspection(alert(), true);
    expect(text).toContain(' - Scope:Value: Ip:192.0.2.1\n');
    expect(text).toContain(' - AS         : Example, "Inc"\n');
    expect(text.match(/^7\s+Ip:192\.0\.2\.1/gm)).toHaveLength(2); // the ban still running and the captcha
    expect(text).not.toContain('-1s');
    expect(text).toMatch(/- Date: 2026-01-02 03:04:05 \+0000 UTC\n.*\nKey\s+Value\n.*\na\s+2\nz\s+1\n/);
    expect(alertInspection(alert({ decisions: null }), false)).not.toMatch(/Active Decisions|Events {2}:/);
  });

  it("writes -o raw as cscli 1.4.6's yaml.v2 of its Go model: lowercased field names, nil lists as []", () => {
    const text = stringify(alertYamlModel(alert({ decisions: null, events: null })), { indentSeq: false });
    expect(
      text
        .split('\n')
        .filter((l) => /^\w/.test(l))
        .map((l) => l.split(':')[0]),
    ).toEqual([
      'capacity',
      'createdat',
      'decisions',
      'events',
      'eventscount',
      'id',
      'labels',
      'leakspeed',
      'machineid',
      'message',
      'meta',
      'remediation',
      'scenario',
      'scenariohash',
      'scenarioversion',
      'simulated',
      'source',
      'startat',
      'stopat',
    ]);
    expect(text).toContain('decisions: []\nevents: []\n');
    expect(text).toContain('source:\n  asname: Example, "Inc"\n  asnumber: "64500"\n  cn: FR\n  ip: ""\n');
  });
});
