import { importAlerts, importDecisions } from './import-decisions';

describe('importDecisions', () => {
  it("applies cscli's defaults, the file's columns, and options given on the command line over both", () => {
    const rows = [
      { value: '1.2.3.4' },
      { value: '5.6.7.0/24', scope: 'range', duration: '24h', type: 'captcha', reason: 'why', origin: 'my-list' },
      { value: 'bob', scope: 'username' },
    ];
    expect(importDecisions(rows, {}).decisions).toEqual([
      { value: '1.2.3.4', duration: '4h', scope: 'Ip', type: 'ban', scenario: 'manual', origin: 'cscli-import' },
      { value: '5.6.7.0/24', duration: '24h', scope: 'Range', type: 'captcha', scenario: 'why', origin: 'my-list' },
      { value: 'bob', duration: '4h', scope: 'username', type: 'ban', scenario: 'manual', origin: 'cscli-import' },
    ]);
    const forced = importDecisions(rows.slice(0, 2), { duration: '1h', type: 'ban', reason: 'list' }).decisions;
    expect(forced.map((d) => [d.duration, d.type, d.scenario])).toEqual([
      ['1h', 'ban', 'list'],
      ['1h', 'ban', 'list'],
    ]);
  });

  it('names the unusable lines', () => {
    const { problems } = importDecisions(
      [{ value: '1.2.3.4' }, { value: '' }, { value: '1.2.3.999' }, { value: '1.2.3.4', duration: '4x' }],
      {},
    );
    expect(problems).toEqual(['line 2: no value', "line 3: invalid IP '1.2.3.999'", "line 4: invalid duration '4x'"]);
  });
});

describe('importAlerts', () => {
  it('carries the decisions in alerts of a bounded size, as cscli names them', () => {
    const { decisions } = importDecisions(
      Array.from({ length: 25 }, (_, i) => ({ value: `10.0.0.${i}` })),
      {},
    );
    const alerts = importAlerts(decisions, new Date('2026-11-29T00:00:00Z'), 10);
    expect(alerts.map((a) => [a.scenario, a.decisions?.length, a.source.scope])).toEqual([
      ['add: 10 IPs', 10, 'cscli/manual-import'],
      ['add: 10 IPs', 10, 'cscli/manual-import'],
      ['add: 5 IPs', 5, 'cscli/manual-import'],
    ]);
    expect(alerts.flatMap((a) => a.decisions ?? [])).toEqual(decisions);
  });
});
