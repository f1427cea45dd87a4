import type { Machine } from '@lapi/domain';
import { bouncerRows, bouncersCsv, bouncersTable, machinesCsv, machinesTable, sinceHeartbeat } from './format';

const at = '2026-01-01T00:00:00.000Z';

describe('CLI tables', () => {
  it('print a machine name with terminal escapes as text, not as a fake green row', () => {
    const forged = '\u001b[2K\r\u001b[32mtrusted-agent\u001b[0m\nfake';
    const machine: Machine = {
      machineId: forged,
      passwordHash: '',
      ipAddress: '127.0.0.1',
      authType: 'password',
      validated: false,
      version: null,
      scenarios: null,
      createdAt: at,
      updatedAt: at,
      lastPush: null,
      lastHeartbeat: null,
    };
    const text = machinesTable([machine]);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text).toContain('\\x1b[2K\\r\\x1b[32mtrusted-agent\\x1b[0m\\nfake');
    expect(text.split('\n')).toHaveLength(5);
  });

  it('escape bouncer names and user agents too', () => {
    const rows = bouncerRows(
      [
        {
          name: 'b\u001b]0;title\u0007',
          ipAddress: '127.0.0.1',
          type: 'ua\r\nx',
          version: 'v1',
          createdAt: at,
          updatedAt: at,
          lastPull: null,
          authType: 'api-key',
          instances: [],
        } as unknown as Parameters<typeof bouncerRows>[0][number],
      ],
      new Map(),
    );
    const text = bouncersTable(rows);
    expect(text).toContain('b\\x1b]0;title\\x07');
    expect(text).toContain('ua\\r\\nx');
    expect(text.split('\n')).toHaveLength(5);
  });

  it("show a bouncer's last pull as the latest of its recorded one and its processes' positions and lookups", () => {
    const bouncer = (lastPull: string | null) =>
      ({
        name: 'fw',
        ipAddress: '10.0.0.1',
        type: 't',
        version: 'v',
        createdAt: at,
        updatedAt: at,
        lastPull,
        apiKeyHash: '',
        authType: 'api-key',
        instances: [{ name: 'fw@pod', ipAddress: '10.0.0.2', type: 't', version: 'v', firstSeen: at, updatedAt: at }],
      }) as Parameters<typeof bouncerRows>[0][number];
    const pulls = new Map([
      ['fw', '2026-01-01T01:00:00.000Z'],
      ['fw\u001fpod', '2026-01-01T02:00:00.000Z'],
    ]);
    const [own, pod] = bouncerRows([bouncer(at)], pulls);
    expect(own.last_pull).toBe('2026-01-01T02:00:00.000Z');
    expect(pod.last_pull).toBe('2026-01-01T02:00:00.000Z');
    // Recorded by events later than any position: kept (bouncers seen before the upgrade).
    expect(bouncerRows([bouncer('2026-01-02T00:00:00.000Z')], new Map())[0].last_pull).toBe('2026-01-02T00:00:00.000Z');
  });

  const machine = (over: Partial<Machine> = {}): Machine => ({
    machineId: 'agent-1',
    passwordHash: '',
    ipAddress: '10.0.0.5',
    authType: 'password',
    validated: true,
    version: 'v1.4.6',
    scenarios: null,
    createdAt: at,
    updatedAt: '2026-01-01T00:00:00.123Z',
    lastPush: null,
    lastHeartbeat: '2026-01-01T00:05:30.900Z',
    ...over,
  });

  it("write machines as `cscli machines list -o raw`: its header, RFC 3339 times, the heartbeat's age", () => {
    const now = new Date('2026-01-01T00:10:00.000Z');
    expect(machinesCsv([machine(), machine({ machineId: 'b', validated: false, lastHeartbeat: null })], now)).toBe(
      [
        'machine_id,ip_address,updated_at,validated,version,auth_type,last_heartbeat',
        'agent-1,10.0.0.5,2026-01-01T00:00:00Z,true,v1.4.6,password,4m29s',
        'b,10.0.0.5,2026-01-01T00:00:00Z,false,v1.4.6,password,-',
      ].join('\n'),
    );
    expect(sinceHeartbeat('2026-01-01T00:00:00.000Z', new Date('2026-01-01T02:00:01.999Z'))).toBe('2h0m1s');
  });

  it('write bouncers as `cscli bouncers list -o raw`, a name with a comma quoted', () => {
    const rows = bouncerRows(
      [
        {
          name: 'fw,1',
          ipAddress: '10.0.0.1',
          type: 'crowdsec-firewall-bouncer',
          version: 'v0.0.25',
          createdAt: at,
          updatedAt: at,
          lastPull: '2026-01-01T00:01:02.345Z',
          authType: 'api-key',
          instances: [],
        } as unknown as Parameters<typeof bouncerRows>[0][number],
      ],
      new Map(),
    );
    expect(bouncersCsv(rows)).toBe(
      'name,ip,revoked,last_pull,type,version,auth_type\n' +
        '"fw,1",10.0.0.1,validated,2026-01-01T00:01:02Z,crowdsec-firewall-bouncer,v0.0.25,api-key',
    );
  });

  it('show emoji and a bold header only in colour; plain words and no escapes otherwise', () => {
    const list = [machine(), machine({ machineId: 'b', validated: false })];
    const plain = machinesTable(list);
    // eslint-disable-next-line no-control-regex
    expect(plain).not.toMatch(/\u001b|✔️|🚫/);
    expect(plain).toMatch(/agent-1 .* validated /);
    expect(plain).toMatch(/b {7}.* pending /);
    const coloured = machinesTable(list, { color: true });
    expect(coloured).toContain('✔️');
    expect(coloured).toContain('🚫');
    // eslint-disable-next-line no-control-regex
    expect(coloured.split('\n')[1]).toMatch(/^\u001b\[1mName +IP Address.*\u001b\[0m$/);
  });
});
