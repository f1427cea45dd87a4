// End-to-end: alerts, decisions, the live query and the stream, driven only through the wire by
// the real Debian clients (cscli 1.4.6, the crowdsec 1.4.6 agent, crowdsec-custom-bouncer 0.0.15,
// crowdsec-firewall-bouncer 0.0.25) and plain HTTP as a bouncer.
//
// Targets (E2E_TARGET, see targets.ts): our built server in embedded and Postgres mode by
// default; `E2E_TARGET=reference` runs the same expectations against Debian's crowdsec 1.4.6
// LAPI, which is where they come from. Where our server deliberately differs, the expectation
// says so (`target.isReference`).
//
// Every test uses its own addresses (10.<n>.x.x, n = test number) and its own bouncer keys, so
// tests only share the server, not data; they run in file order.
// Section numbers (§) refer to shared/reference/LAPI-CONTRACT.md.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nftablesProblem, replayAgentLog, startCustomBouncer, startFirewallBouncer, waitFor } from './clients';
import { CSCLI_MISSING_MESSAGE, cscliAvailable } from './cscli';
import {
  type CliAlert,
  type CscliClient,
  type LapiTarget,
  type WireDecision,
  flattenDecisions,
  newBouncerClient,
  newCscliClient,
  parseGoDuration,
  parseTable,
  selectedTargets,
  startTarget,
  suffix,
} from './targets';

/** Keys a decision may carry on GET /v1/decisions and the stream (§3.12); never `until` or `simulated`. */
const WIRE_DECISION_KEYS = ['duration', 'id', 'origin', 'scenario', 'scope', 'type', 'uuid', 'value'];

function expectWireDecision(d: WireDecision): void {
  for (const key of ['duration', 'origin', 'scenario', 'scope', 'type', 'value'] as const) {
    expect({ key, type: typeof d[key] }).toEqual({ key, type: 'string' });
  }
  expect(typeof d.id).toBe('number');
  expect(WIRE_DECISION_KEYS).toEqual(expect.arrayContaining(Object.keys(d)));
  expect(() => parseGoDuration(d.duration)).not.toThrow();
}

const values = (list: WireDecision[] | null | undefined): string[] => (list ?? []).map((d) => d.value);

describe.each(selectedTargets())('alerts and decisions with the real clients (%s)', (targetName) => {
  const sfx = suffix();
  let tmp: string;
  let target: LapiTarget;
  let cli: CscliClient;

  const dir = (name: string) => join(tmp, name);
  const login = `e2e-cli-${sfx}`;
  const defaultReason = (type = 'ban') => `manual '${type}' from '${login}'`;

  /** `decisions list -o json`, flattened, only the decisions whose value is in `wanted`. */
  const listed = async (args: string[], wanted: string[]) =>
    flattenDecisions(await cli.json<CliAlert[] | null>(['decisions', 'list', ...args])).filter((d) =>
      wanted.includes(d.value),
    );

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), `lapi-e2e-ad-${targetName}-`));
    target = await startTarget(targetName, tmp);
    cli = await newCscliClient(target, dir('cscli'), login);
  });

  afterAll(async () => {
    await target?.stop();
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  // §3.5, §4.1 (what cscli sends), §4.2 + §10.3 (what `decisions list` reads back).
  it('1. cscli decisions add (--ip, --range, --scope/--value, --duration, --type) shows in decisions list', async () => {
    const bob = `bob-${sfx}`;
    for (const args of [
      ['--ip', '10.1.0.1', '--duration', '1h', '--reason', 'e2e ip ban'],
      ['--range', '10.1.1.0/24', '--type', 'captcha'],
      ['--scope', 'username', '--value', bob],
      ['--ip', '10.1.0.2', '--duration', '90m', '--type', 'captcha', '--reason', 'e2e captcha'],
    ]) {
      const r = await cli.ok(['decisions', 'add', ...args]);
      expect(r.output).toContain('Decision successfully added');
    }

    const table = parseTable((await cli.ok(['decisions', 'list'])).stdout);
    const row = (scopeValue: string) => table.find((r) => r['Scope:Value'] === scopeValue);
    expect(row('Ip:10.1.0.1')).toMatchObject({ Source: 'cscli', Reason: 'e2e ip ban', Action: 'ban', Events: '1' });
    expect(row('Range:10.1.1.0/24')).toMatchObject({
      Source: 'cscli',
      Reason: defaultReason('captcha'),
      Action: 'captcha',
    });
    expect(row(`username:${bob}`)).toMatchObject({ Source: 'cscli', Reason: defaultReason('ban'), Action: 'ban' });
    expect(row('Ip:10.1.0.2')).toMatchObject({ Reason: 'e2e captcha', Action: 'captcha' });
    expect(parseGoDuration(row('Ip:10.1.0.1')!.expiration)).toBeGreaterThan(3500);
    expect(parseGoDuration(row('Ip:10.1.0.1')!.expiration)).toBeLessThanOrEqual(3600);

    const json = await listed([], ['10.1.0.1', '10.1.1.0/24', bob, '10.1.0.2']);
    const byValue = new Map(json.map((d) => [d.value, d]));
    expect(json).toHaveLength(4);
    expect(byValue.get('10.1.0.1')).toMatchObject({
      origin: 'cscli',
      scenario: 'e2e ip ban',
      scope: 'Ip',
      type: 'ban',
      simulated: false,
      alert: {
        machine_id: login,
        scenario: 'e2e ip ban',
        events_count: 1,
        simulated: false,
        source: { scope: 'Ip', value: '10.1.0.1' },
      },
    });
    expect(byValue.get('10.1.1.0/24')).toMatchObject({
      scope: 'Range',
      type: 'captcha',
      scenario: defaultReason('captcha'),
      alert: { source: { scope: 'Range', value: '10.1.1.0/24' } },
    });
    expect(byValue.get(bob)).toMatchObject({
      scope: 'username',
      type: 'ban',
      alert: { source: { scope: 'username' } },
    });
    // cscli's default --duration is 4h; until = alert stop_at (now) + duration (§5.1).
    expect(parseGoDuration(byValue.get(bob)!.duration)).toBeGreaterThan(4 * 3600 - 120);
    expect(parseGoDuration(byValue.get(bob)!.duration)).toBeLessThanOrEqual(4 * 3600);
    expect(parseGoDuration(byValue.get('10.1.0.2')!.duration)).toBeGreaterThan(90 * 60 - 120);
    expect(parseGoDuration(byValue.get('10.1.0.2')!.duration)).toBeLessThanOrEqual(90 * 60);

    // `decisions list -i IP` → GET /v1/alerts?ip=…: alerts whose decisions contain the IP (§3.6, §5.3).
    const inRange = await listed(['-i', '10.1.1.77'], ['10.1.0.1', '10.1.1.0/24', bob, '10.1.0.2']);
    expect(values(inRange)).toEqual(['10.1.1.0/24']);
    const contained = await listed(['-r', '10.1.0.0/16', '--contained'], ['10.1.0.1', '10.1.1.0/24', bob, '10.1.0.2']);
    expect(values(contained).sort()).toEqual(['10.1.0.1', '10.1.0.2', '10.1.1.0/24']);
  });

  // §3.12, §5.2, §5.3: what a live-mode bouncer sees.
  it('2. bouncer live queries: ip inside a range, range, contains=false, scopes+value, type, origins, unknown → null', async () => {
    const carol = `carol-${sfx}`;
    await cli.ok(['decisions', 'add', '--ip', '10.2.0.1', '--duration', '1h', '--reason', 'e2e live ip']);
    await cli.ok(['decisions', 'add', '--range', '10.2.1.0/24', '--type', 'captcha', '--reason', 'e2e live range']);
    await cli.ok(['decisions', 'add', '--ip', '2001:db8:2::1', '--reason', 'e2e live v6']);
    await cli.ok(['decisions', 'add', '--scope', 'username', '--value', carol, '--reason', 'e2e live user']);
    const bouncer = await newBouncerClient(target, `e2e-live-${sfx}`);

    const inRange = await bouncer.decisions('ip=10.2.1.5');
    expect(inRange).toHaveLength(1);
    expectWireDecision(inRange[0]);
    expect(inRange[0]).toMatchObject({
      value: '10.2.1.0/24',
      scope: 'Range',
      type: 'captcha',
      origin: 'cscli',
      scenario: 'e2e live range',
    });
    expect(parseGoDuration(inRange[0].duration)).toBeGreaterThan(4 * 3600 - 120);

    const exact = await bouncer.decisions('ip=10.2.0.1');
    expect(exact.map((d) => [d.value, d.scope, d.type, d.scenario])).toEqual([
      ['10.2.0.1', 'Ip', 'ban', 'e2e live ip'],
    ]);
    expect(parseGoDuration(exact[0].duration)).toBeGreaterThan(3500);
    expect(parseGoDuration(exact[0].duration)).toBeLessThanOrEqual(3600);

    expect(values(await bouncer.decisions('range=10.2.1.0/25'))).toEqual(['10.2.1.0/24']);
    expect(values(await bouncer.decisions('range=10.2.0.0/16&contains=false')).sort()).toEqual([
      '10.2.0.1',
      '10.2.1.0/24',
    ]);
    expect(values(await bouncer.decisions('range=10.2.0.0/16'))).toEqual([]);
    expect(values(await bouncer.decisions('ip=2001:db8:2::1'))).toEqual(['2001:db8:2::1']);

    // 1.4.6 bouncers filter scopes with `scopes` (comma list; ip/range/as/country mapped
    // case-insensitively, other scopes compared as is).
    expect(values(await bouncer.decisions(`scopes=username&value=${carol}`))).toEqual([carol]);
    expect(values(await bouncer.decisions(`scopes=Username&value=${carol}`))).toEqual([]);
    expect(values(await bouncer.decisions('scopes=ip&value=10.2.0.1'))).toEqual(['10.2.0.1']);
    // `scope` is ignored by 1.4.6 and an alias of `scopes` from 1.6.1: with the value, both find it.
    expect(values(await bouncer.decisions(`scope=username&value=${carol}`))).toEqual([carol]);

    expect(values(await bouncer.decisions('type=captcha&value=10.2.1.0/24'))).toEqual(['10.2.1.0/24']);
    expect(values(await bouncer.decisions('type=ban&value=10.2.1.0/24'))).toEqual([]);
    expect(values(await bouncer.decisions('origins=cscli&ip=10.2.0.1'))).toEqual(['10.2.0.1']);
    expect(values(await bouncer.decisions('origins=crowdsec&ip=10.2.0.1'))).toEqual([]);
    expect(values(await bouncer.decisions('scenarios_containing=LIVE%20IP&ip=10.2.0.1'))).toEqual(['10.2.0.1']);
    expect(values(await bouncer.decisions('scenarios_not_containing=live&ip=10.2.0.1'))).toEqual([]);

    // No match: 200 with the body `null`, exactly (§1.2).
    const none = await bouncer.get('/v1/decisions?ip=10.2.9.9');
    expect({ status: none.status, body: none.text }).toEqual({ status: 200, body: 'null' });
    expect(none.contentType).toMatch(/^application\/json/);
  });

  // §3.10, §3.11, §10.3.
  it('3. cscli decisions delete -i / --id (and unknown ids, ranges containing the IP)', async () => {
    for (const ip of ['10.3.0.1', '10.3.0.2', '10.3.0.3']) {
      await cli.ok(['decisions', 'add', '--ip', ip, '--duration', '1h']);
    }
    await cli.ok(['decisions', 'add', '--range', '10.3.1.0/24', '--duration', '1h']);
    const bouncer = await newBouncerClient(target, `e2e-del-${sfx}`);

    const byIp = await cli.ok(['decisions', 'delete', '-i', '10.3.0.1']);
    expect(byIp.output).toContain('1 decision(s) deleted');
    expect(await bouncer.decisions('ip=10.3.0.1')).toEqual([]);

    const id = (await listed([], ['10.3.0.2']))[0]?.id;
    expect(typeof id).toBe('number');
    const byId = await cli.ok(['decisions', 'delete', '--id', String(id)]);
    expect(byId.output).toContain('1 decision(s) deleted');
    expect(await bouncer.decisions('ip=10.3.0.2')).toEqual([]);

    // -i matches decisions whose range contains the IP (contains=true by default).
    const inRange = await cli.ok(['decisions', 'delete', '-i', '10.3.1.200']);
    expect(inRange.output).toContain('1 decision(s) deleted');
    expect(await bouncer.decisions('ip=10.3.1.200')).toEqual([]);

    const nothing = await cli.ok(['decisions', 'delete', '-i', '10.3.9.9']);
    expect(nothing.output).toContain('0 decision(s) deleted');

    const unknown = await cli.run(['decisions', 'delete', '--id', '999999']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toContain("Unable to delete decision : API error: decision with id '999999' doesn't exist");

    expect(values(await listed([], ['10.3.0.1', '10.3.0.2', '10.3.0.3', '10.3.1.0/24']))).toEqual(['10.3.0.3']);
    expect(values(await bouncer.decisions('ip=10.3.0.3'))).toEqual(['10.3.0.3']);
  });

  // §4.1 (import: one alert, origin cscli-import, CIDR sent with scope Ip), §5.3.
  it('4. cscli decisions import (csv with an ip row and a range row)', async () => {
    const csv = join(tmp, 'import.csv');
    writeFileSync(csv, 'duration,scope,value\n24h,ip,10.4.0.1\n,range,10.4.1.0/24\n');
    const r = await cli.ok(['decisions', 'import', '-i', csv]);
    expect(r.output).toContain('2 decisions successfully imported');

    // `-a`: cscli 1.4.6 hides cscli-import decisions without it (include_capi=false, §3.6).
    const imported = await listed(['-a'], ['10.4.0.1', '10.4.1.0/24']);
    const byValue = new Map(imported.map((d) => [d.value, d]));
    expect(imported).toHaveLength(2);
    // cscli 1.4.6 sends every row with its --scope default (Ip), CIDRs included.
    expect(byValue.get('10.4.0.1')).toMatchObject({
      origin: 'cscli-import',
      scenario: 'manual',
      type: 'ban',
      scope: 'Ip',
    });
    expect(byValue.get('10.4.1.0/24')).toMatchObject({ origin: 'cscli-import', scenario: 'manual', scope: 'Ip' });
    expect(parseGoDuration(byValue.get('10.4.0.1')!.duration)).toBeGreaterThan(24 * 3600 - 120);
    expect(parseGoDuration(byValue.get('10.4.1.0/24')!.duration)).toBeGreaterThan(4 * 3600 - 120);
    expect(parseGoDuration(byValue.get('10.4.1.0/24')!.duration)).toBeLessThanOrEqual(4 * 3600);
    const alert = byValue.get('10.4.0.1')!.alert;
    expect(byValue.get('10.4.1.0/24')!.alert.id).toBe(alert.id);
    expect(alert).toMatchObject({ scenario: 'add: 2 IPs', source: { scope: 'cscli/manual-import', value: '' } });

    // The CIDR is matched as a range although its scope is Ip.
    const bouncer = await newBouncerClient(target, `e2e-import-${sfx}`);
    expect(values(await bouncer.decisions('ip=10.4.1.9'))).toEqual(['10.4.1.0/24']);
    expect(values(await bouncer.decisions('ip=10.4.0.1'))).toEqual(['10.4.0.1']);

    const alerts = parseTable((await cli.ok(['alerts', 'list', '-a'])).stdout);
    expect(alerts.find((a) => a.ID === String(alert.id))).toMatchObject({
      value: 'cscli/manual-import',
      reason: 'add: 2 IPs',
      decisions: 'ban:2',
    });
  });

  // §3.6–§3.9, §4.2, §10.3; alert deletion and the stream (§3.8: the reference hard-deletes
  // silently, our server reports the alert's active decisions as deleted).
  it('5. cscli alerts list / inspect / delete (--id, --ip), and what the stream says about it', async () => {
    await cli.ok(['decisions', 'add', '--ip', '10.5.0.1', '--reason', 'e2e alert one']);
    await cli.ok(['decisions', 'add', '--ip', '10.5.0.2', '--reason', 'e2e alert two']);
    await cli.ok(['decisions', 'add', '--ip', '10.5.0.3', '--reason', 'e2e alert three']);
    const bouncer = await newBouncerClient(target, `e2e-alerts-${sfx}`);
    const startup = await bouncer.stream('startup=true');
    expect(values(startup.new)).toEqual(expect.arrayContaining(['10.5.0.1', '10.5.0.2', '10.5.0.3']));

    const table = parseTable((await cli.ok(['alerts', 'list'])).stdout);
    expect(table.find((a) => a.value === 'Ip:10.5.0.1')).toMatchObject({ reason: 'e2e alert one', decisions: 'ban:1' });
    expect(table.find((a) => a.value === 'Ip:10.5.0.2')).toMatchObject({ reason: 'e2e alert two', decisions: 'ban:1' });

    const alerts = (await cli.json<CliAlert[] | null>(['alerts', 'list'])) ?? [];
    const idOf = (ip: string) => alerts.find((a) => a.source.value === ip)?.id;
    const id1 = idOf('10.5.0.1');
    const id3 = idOf('10.5.0.3');
    expect(typeof id1).toBe('number');
    expect(typeof id3).toBe('number');

    const inspect = await cli.ok(['alerts', 'inspect', String(id1)]);
    expect(inspect.stdout).toMatch(new RegExp(`^ - ID\\s+: ${id1}$`, 'm'));
    expect(inspect.stdout).toMatch(new RegExp(`^ - Machine\\s+: ${login}$`, 'm'));
    expect(inspect.stdout).toMatch(/^ - Reason\s+: e2e alert one$/m);
    expect(inspect.stdout).toMatch(/^ - Scope:Value: Ip:10\.5\.0\.1$/m);
    expect(inspect.stdout).toContain('Active Decisions');
    expect(parseTable(inspect.stdout).find((d) => d['scope:value'] === 'Ip:10.5.0.1')).toMatchObject({ action: 'ban' });

    const missing = await cli.run(['alerts', 'inspect', '999999']);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain("can't find alert with id 999999: API error: object not found");

    const byId = await cli.ok(['alerts', 'delete', '--id', String(id1)]);
    expect(byId.output).toContain('1 alert(s) deleted');
    const gone = await cli.run(['alerts', 'inspect', String(id1)]);
    expect(gone.code).not.toBe(0);
    expect(gone.output).toContain('object not found');
    expect(await bouncer.decisions('ip=10.5.0.1')).toEqual([]);

    const byIp = await cli.ok(['alerts', 'delete', '--ip', '10.5.0.2']);
    expect(byIp.output).toContain('1 alert(s) deleted');
    expect(await bouncer.decisions('ip=10.5.0.2')).toEqual([]);

    const unknown = await cli.run(['alerts', 'delete', '--id', '999999']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toContain('Unable to delete alert');

    const remaining = parseTable((await cli.ok(['alerts', 'list'])).stdout).map((a) => a.value);
    expect(remaining).toContain('Ip:10.5.0.3');
    expect(remaining).not.toContain('Ip:10.5.0.1');
    expect(remaining).not.toContain('Ip:10.5.0.2');

    const delta = await bouncer.stream();
    expect(values(delta.new)).not.toContain('10.5.0.1');
    if (target.isReference) {
      // 1.4.6: the FK cascade removes the decisions; bouncers are never told (§3.8).
      expect(values(delta.deleted)).not.toContain('10.5.0.1');
      expect(values(delta.deleted)).not.toContain('10.5.0.2');
    } else {
      // Ours: deleting an alert ends its active decisions, and bouncers hear about it.
      expect(values(delta.deleted)).toEqual(expect.arrayContaining(['10.5.0.1', '10.5.0.2']));
    }
    expect(values(delta.deleted)).not.toContain('10.5.0.3');
  });

  // §3.5 (agent alert without decisions), §7 (Debian default profile → ban 4h), §10.2.
  it('6. the crowdsec agent replaying an sshd log pushes an alert that becomes a 4h ban (default profile)', async () => {
    const attacker = '198.51.100.66';
    const agentLogin = `e2e-agent-${sfx}`;
    const password = `agent-${sfx}-${'x'.repeat(24)}`;
    await target.addMachine(agentLogin, password);
    const replay = await replayAgentLog({
      dir: dir('agent'),
      url: target.url,
      login: agentLogin,
      password,
      sourceIp: attacker,
    });
    expect(replay.output).toContain(`Ip ${attacker} performed 'crowdsecurity/ssh-bf' (6 events over 5s)`);

    // The alert first (`-a`: cscli 1.4.6 otherwise hides alerts without a crowdsec/cscli decision).
    const [alert] = await waitFor(
      `the agent's alert for ${attacker}`,
      async () => {
        const found = await cli.json<CliAlert[] | null>(['alerts', 'list', '-a', '--scope', 'ip', '--value', attacker]);
        return found && found.length > 0 ? found : undefined;
      },
      {
        timeoutMs: 15_000,
        describe: () =>
          `--- agent output ---\n${replay.output.slice(-4000)}\n--- LAPI output ---\n${target.output().slice(-4000)}`,
      },
    );
    expect(alert).toMatchObject({
      machine_id: agentLogin,
      scenario: 'crowdsecurity/ssh-bf',
      capacity: 5,
      leakspeed: '10s',
      events_count: 6,
      simulated: false,
      source: { scope: 'Ip', value: attacker, ip: attacker },
    });
    expect(alert.events).toHaveLength(6);
    // The agent sends no decision: the default profile (Alert.Remediation && scope Ip) adds a 4h ban.
    expect({ decisionsFromProfile: (alert.decisions ?? []).map((d) => [d.type, d.scope, d.value, d.origin]) }).toEqual({
      decisionsFromProfile: [['ban', 'Ip', attacker, 'crowdsec']],
    });

    const bouncer = await newBouncerClient(target, `e2e-agent-${sfx}`);
    const [ban] = await bouncer.decisions(`ip=${attacker}`);
    expect(ban).toBeDefined();
    expectWireDecision(ban);
    expect(ban).toMatchObject({
      value: attacker,
      scope: 'Ip',
      type: 'ban',
      origin: 'crowdsec',
      scenario: 'crowdsecurity/ssh-bf',
    });
    // until = alert stop_at (the log's last event, ~30 s ago) + 4h.
    expect(parseGoDuration(ban.duration)).toBeGreaterThan(4 * 3600 - 300);
    expect(parseGoDuration(ban.duration)).toBeLessThan(4 * 3600);

    const [listedBan] = await listed([], [attacker]);
    expect(listedBan).toMatchObject({
      origin: 'crowdsec',
      scenario: 'crowdsecurity/ssh-bf',
      type: 'ban',
      simulated: false,
    });
    const row = parseTable((await cli.ok(['decisions', 'list'])).stdout).find(
      (r) => r['Scope:Value'] === `Ip:${attacker}`,
    );
    expect(row).toMatchObject({ Source: 'crowdsec', Reason: 'crowdsecurity/ssh-bf', Action: 'ban', Events: '6' });
  });

  // §3.13, §6 (startup, deltas, deletion, expiry; default scopes ip,range).
  it('7. the stream: startup snapshot, a new decision once, deletion and expiry (3s) in deleted', async () => {
    const dave = `dave-${sfx}`;
    await cli.ok(['decisions', 'add', '--ip', '10.7.0.1', '--duration', '1h']);
    await cli.ok(['decisions', 'add', '--range', '10.7.1.0/24', '--duration', '1h']);
    await cli.ok(['decisions', 'add', '--scope', 'username', '--value', dave]);
    const bouncer = await newBouncerClient(target, `e2e-stream-${sfx}`);

    const startup = await bouncer.stream('startup=true');
    for (const d of startup.new ?? []) {
      expectWireDecision(d);
    }
    expect(values(startup.new)).toEqual(expect.arrayContaining(['10.7.0.1', '10.7.1.0/24']));
    expect(values(startup.new)).not.toContain(dave); // scopes default to ip,range
    const first = await bouncer.stream();
    expect(values(first.new).filter((v) => v.startsWith('10.7.'))).toEqual([]);

    await cli.ok(['decisions', 'add', '--ip', '10.7.0.2', '--duration', '1h', '--reason', 'e2e stream']);
    const added = await bouncer.stream();
    expect(values(added.new).filter((v) => v === '10.7.0.2')).toHaveLength(1);
    const d2 = added.new!.find((d) => d.value === '10.7.0.2')!;
    expectWireDecision(d2);
    expect(d2).toMatchObject({ scope: 'Ip', type: 'ban', origin: 'cscli', scenario: 'e2e stream' });
    expect(parseGoDuration(d2.duration)).toBeGreaterThan(3500);
    const after = await bouncer.stream();
    expect(values(after.new)).not.toContain('10.7.0.2');

    await cli.ok(['decisions', 'delete', '-i', '10.7.0.2']);
    const deleted = await bouncer.stream();
    expect(values(deleted.deleted)).toContain('10.7.0.2');
    expect(values(deleted.new)).not.toContain('10.7.0.2');
    expect(parseGoDuration(deleted.deleted!.find((d) => d.value === '10.7.0.2')!.duration)).toBeLessThanOrEqual(0);

    // Expiry: nothing happens at `until`; the next delta after it lists the decision in `deleted`.
    await cli.ok(['decisions', 'add', '--ip', '10.7.0.3', '--duration', '3s']);
    const short = await bouncer.stream();
    expect(values(short.new)).toContain('10.7.0.3');
    expect(parseGoDuration(short.new!.find((d) => d.value === '10.7.0.3')!.duration)).toBeLessThanOrEqual(3);
    const seen: string[] = [];
    const expired = await waitFor(
      '10.7.0.3 (--duration 3s) in the deleted list of a delta',
      async () => {
        const delta = await bouncer.stream();
        seen.push(JSON.stringify(delta));
        expect(values(delta.new)).not.toContain('10.7.0.3');
        return values(delta.deleted).includes('10.7.0.3') ? delta : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 500, describe: () => `deltas seen:\n${seen.join('\n')}` },
    );
    expect(parseGoDuration(expired.deleted!.find((d) => d.value === '10.7.0.3')!.duration)).toBeLessThanOrEqual(0);

    const again = await bouncer.stream('startup=true');
    expect(values(again.new)).toEqual(expect.arrayContaining(['10.7.0.1', '10.7.1.0/24']));
    expect(values(again.new)).not.toContain('10.7.0.2');
    expect(values(again.deleted)).toEqual(expect.arrayContaining(['10.7.0.2', '10.7.0.3']));

    const users = await newBouncerClient(target, `e2e-stream-users-${sfx}`);
    const onlyUsers = await users.stream('startup=true&scopes=username');
    expect(values(onlyUsers.new)).toContain(dave);
    expect(values(onlyUsers.new)).not.toContain('10.7.0.1');
  });

  // §10.4 (custom bouncer 0.0.15), §6.
  it('8. crowdsec-custom-bouncer runs its script with add, then del, for a decision', async () => {
    const bouncerKey = await target.addBouncer(`e2e-custom-${sfx}`);
    const custom = startCustomBouncer({ dir: dir('custom-bouncer'), apiUrl: target.url, apiKey: bouncerKey });
    try {
      // Let it do its startup pull first, so the decision comes through a delta.
      await waitFor('the custom bouncer to process its first stream answer', () =>
        custom.output().includes("adding '") ? true : undefined,
      );
      await cli.ok(['decisions', 'add', '--ip', '10.8.0.1', '--duration', '1h', '--reason', 'e2e custom']);
      const add = await custom.waitForCall('add 10.8.0.1', (c) => c.action === 'add' && c.value === '10.8.0.1');
      expect(add.scenario).toBe('e2e custom');
      expect(add.seconds).toBeGreaterThan(3500);
      expect(add.seconds).toBeLessThanOrEqual(3600);
      expect(add.decision).toMatchObject({ value: '10.8.0.1', type: 'ban', scope: 'Ip', origin: 'cscli' });

      await cli.ok(['decisions', 'delete', '-i', '10.8.0.1']);
      const del = await custom.waitForCall('del 10.8.0.1', (c) => c.action === 'del' && c.value === '10.8.0.1');
      expect(del.seconds).toBeLessThanOrEqual(0);
      expect(del.decision).toMatchObject({ value: '10.8.0.1', type: 'ban' });
      const order = custom.calls().filter((c) => c.value === '10.8.0.1');
      expect(order[0].action).toBe('add');
    } finally {
      await custom.stop();
    }
  });

  // §10.4 (firewall bouncer 0.0.25: nftables set-only, ranges cut to their network address,
  // only `ban`), §6.
  it('9. crowdsec-firewall-bouncer (nftables set-only) adds the IP to its set, then removes it', async () => {
    const problem = await nftablesProblem();
    if (problem) {
      throw new Error(`the firewall bouncer test cannot run here: ${problem}`);
    }
    const bouncerKey = await target.addBouncer(`e2e-firewall-${sfx}`);
    const fw = await startFirewallBouncer({ dir: dir('firewall-bouncer'), apiUrl: target.url, apiKey: bouncerKey });
    try {
      await waitFor('the firewall bouncer to start processing', () =>
        fw.output().includes('Processing new and deleted decisions') ? true : undefined,
      );
      await cli.ok(['decisions', 'add', '--ip', '10.9.0.1', '--duration', '1h']);
      await cli.ok(['decisions', 'add', '--range', '10.9.1.0/24', '--duration', '1h']);
      await cli.ok(['decisions', 'add', '--ip', '2001:db8:9::1', '--duration', '1h']);
      await cli.ok(['decisions', 'add', '--ip', '10.9.0.2', '--duration', '1h', '--type', 'captcha']);
      const banned = await fw.waitForElements('contain 10.9.0.1, 10.9.1.0 and 2001:db8:9::1', (els) =>
        ['10.9.0.1', '10.9.1.0', '2001:db8:9::1'].every((ip) => els.includes(ip)),
      );
      expect(banned).not.toContain('10.9.0.2'); // captcha is not a supported decision type

      await cli.ok(['decisions', 'delete', '-i', '10.9.0.1']);
      const after = await fw.waitForElements('lose 10.9.0.1', (els) => !els.includes('10.9.0.1'));
      expect(after).toEqual(expect.arrayContaining(['10.9.1.0', '2001:db8:9::1']));
    } finally {
      await fw.stop();
    }
  });

  // §3.10 (no filter = expire every active decision), §6.
  it('10. cscli decisions delete --all expires everything (bouncers see it), alerts delete --all', async () => {
    await cli.ok(['decisions', 'add', '--ip', '10.10.0.1', '--duration', '1h']);
    const bouncer = await newBouncerClient(target, `e2e-all-${sfx}`);
    expect(values((await bouncer.stream('startup=true')).new)).toContain('10.10.0.1');

    const r = await cli.ok(['decisions', 'delete', '--all']);
    expect(r.output).toMatch(/[1-9]\d* decision\(s\) deleted/);
    const after = await cli.json<CliAlert[] | null>(['decisions', 'list']);
    expect(flattenDecisions(after)).toEqual([]);
    expect(await bouncer.decisions('ip=10.10.0.1')).toEqual([]);
    expect((await cli.ok(['decisions', 'list'])).output).toContain('No active decisions');
    expect(values((await bouncer.stream()).deleted)).toContain('10.10.0.1');

    // §3.8: no filter = every alert (cscli sends `DELETE /v1/alerts?limit=0`).
    const alerts = await cli.ok(['alerts', 'delete', '--all']);
    expect(alerts.output).toMatch(/[1-9]\d* alert\(s\) deleted/);
    expect((await cli.json<CliAlert[] | null>(['alerts', 'list', '-a'])) ?? []).toEqual([]);
  });
});
