import type { AlertResponse } from '@lapi/lapi-contract';
import { decisionsCsv, decisionsJson, decisionsTable, dedupDecisions } from './decisions-format';
import { csvField } from './output';

type Decision = NonNullable<AlertResponse['decisions']>[number];

const decision = (id: number, value: string, extra: Partial<Decision> = {}): Decision => ({
  duration: '3h59m58s',
  id,
  origin: 'cscli',
  scenario: "manual 'ban' from 'lapi'",
  scope: 'Ip',
  type: 'ban',
  value,
  uuid: `uuid-${id}`,
  simulated: false,
  ...extra,
});

const alert = (id: number, decisions: Decision[], extra: Partial<AlertResponse> = {}): AlertResponse => ({
  id,
  uuid: `alert-${id}`,
  machine_id: 'lapi',
  created_at: '2024-05-01T10:00:00Z',
  scenario: 'ssh-bf',
  scenario_hash: '',
  scenario_version: '',
  message: 'msg',
  events_count: 1,
  start_at: '2024-05-01 10:00:00 +0000 UTC',
  stop_at: '2024-05-01 10:00:00 +0000 UTC',
  capacity: 0,
  leakspeed: '0',
  simulated: false,
  source: { scope: 'Ip', value: decisions[0]?.value ?? '' },
  events: null,
  decisions,
  labels: null,
  ...extra,
});

// Newest first, as the listing answers: alert 3's 192.0.2.1 hides the older alert 1's.
const alerts = [
  alert(3, [decision(30, '192.0.2.1'), decision(31, '192.0.2.2', { type: 'captcha' })], {
    source: { scope: 'Ip', value: '192.0.2.1', cn: 'FR', as_number: '64500', as_name: 'Example, Inc' },
    events_count: 7,
  }),
  alert(2, [decision(20, '198.51.100.0/24', { scope: 'Range', origin: 'crowdsec', simulated: true })], {
    simulated: true,
    machine_id: 'agent-1',
  }),
  alert(1, [decision(10, '192.0.2.1'), decision(11, '192.0.2.3')], {
    source: { scope: 'Ip', value: '192.0.2.1', as_number: '0' },
  }),
];

describe('dedupDecisions', () => {
  it('keeps the first decision per simulated:type:scope:value, in order, and counts the others', () => {
    const { alerts: kept, skipped } = dedupDecisions(alerts);
    expect(kept.map((a) => a.decisions?.map((d) => d.id))).toEqual([[30, 31], [20], [11]]);
    expect(skipped).toBe(1);
    // The same value with another type, or simulated, is another decision.
    const other = dedupDecisions([
      alert(5, [decision(50, '192.0.2.9'), decision(51, '192.0.2.9', { type: 'captcha' })]),
      alert(4, [decision(40, '192.0.2.9', { simulated: true })]),
    ]);
    expect(other.skipped).toBe(0);
    expect(alerts[2].decisions).toHaveLength(2); // the input is left as it was
  });
});

describe('decisionsTable', () => {
  it("shows cscli's columns, marks simulated alerts, and says how many duplicates it left out", () => {
    const lines = decisionsTable(alerts).split('\n');
    expect(lines[1].split(/\s{2,}/)).toEqual([
      'ID',
      'Source',
      'Scope:Value',
      'Reason',
      'Action',
      'Country',
      'AS',
      'Events',
      'expiration',
      'Alert ID',
    ]);
    const cells = (line: string) => line.split(/\s{2,}/);
    expect(cells(lines[3])).toEqual([
      '30',
      'cscli',
      'Ip:192.0.2.1',
      "manual 'ban' from 'lapi'",
      'ban',
      'FR',
      '64500 Example, Inc',
      '7',
      '3h59m58s',
      '3',
    ]);
    expect(lines[5]).toContain('(simul)ban');
    expect(lines).toHaveLength(9); // rule, header, rule, 4 rows, rule, the count
    expect(lines[8]).toBe('1 duplicated entries skipped');
  });

  it('adds the machine column with -m, and says when there is nothing', () => {
    const lines = decisionsTable([alerts[1]], { machine: true }).split('\n');
    expect(lines[1]).toMatch(/Alert ID\s+Machine$/);
    expect(lines[3]).toMatch(/\s2\s+agent-1$/);
    expect(decisionsTable([])).toBe('No active decisions');
  });
});

describe('decisionsCsv', () => {
  it("writes cscli's header and rows, quoting as Go's csv writer does, without the (simul) mark", () => {
    expect(decisionsCsv(alerts).split('\n')).toEqual([
      'id,source,ip,reason,action,country,as,events_count,expiration,simulated,alert_id',
      `30,cscli,Ip:192.0.2.1,manual 'ban' from 'lapi',ban,FR,"64500 Example, Inc",7,3h59m58s,false,3`,
      `31,cscli,Ip:192.0.2.2,manual 'ban' from 'lapi',captcha,FR,"64500 Example, Inc",7,3h59m58s,false,3`,
      `20,crowdsec,Range:198.51.100.0/24,manual 'ban' from 'lapi',ban,,,1,3h59m58s,true,2`,
      `11,cscli,Ip:192.0.2.3,manual 'ban' from 'lapi',ban,,,1,3h59m58s,false,1`,
    ]);
    expect(decisionsCsv([alerts[1]], { machine: true }).split('\n')).toEqual([
      'id,source,ip,reason,action,country,as,events_count,expiration,simulated,alert_id,machine',
      `20,crowdsec,Range:198.51.100.0/24,manual 'ban' from 'lapi',ban,,,1,3h59m58s,true,2,agent-1`,
    ]);
    expect(decisionsCsv([])).toBe('id,source,ip,reason,action,country,as,events_count,expiration,simulated,alert_id');
  });

  it('quotes a field as encoding/csv does', () => {
    expect(['', 'plain', 'a,b', 'say "hi"', ' lead', 'two\nlines', '\\.', 'x\\.'].map(csvField)).toEqual([
      '',
      'plain',
      '"a,b"',
      '"say ""hi"""',
      '" lead"',
      '"two\nlines"',
      '"\\."',
      'x\\.',
    ]);
  });
});

describe('decisionsJson', () => {
  it('prints the de-duplicated alerts with their keys in Go order and a one-space indent; null when none', () => {
    const text = decisionsJson(alerts);
    const parsed = JSON.parse(text) as AlertResponse[];
    expect(parsed.map((a) => a.decisions?.map((d) => d.id))).toEqual([[30, 31], [20], [11]]);
    expect(Object.keys(parsed[0])).toEqual([...Object.keys(parsed[0])].sort());
    expect(Object.keys(parsed[0].source)).toEqual(['as_name', 'as_number', 'cn', 'scope', 'value']);
    expect(text.startsWith('[\n {\n  "capacity": 0,\n')).toBe(true);
    expect(decisionsJson([])).toBe('null');
  });
});
