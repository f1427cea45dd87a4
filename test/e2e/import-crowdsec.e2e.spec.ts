// Moving in from CrowdSec: the real CrowdSec 1.4.6 LAPI (SQLite, PostgreSQL, and MariaDB) is given machines (cscli machines
// add, cscli lapi register + validate, one left unvalidated), a bouncer (cscli bouncers add -k), decisions (cscli
// decisions add) and an agent's alert with events and meta; `lapi import-crowdsec` then brings them into our
// server (embedded, PostgreSQL, and a cluster: PostgreSQL + Redis + a worker), and the same credentials, key and
// decisions work there: cscli, the custom bouncer and (embedded) the real firewall bouncer's nftables set.
import { createScratchDatabase, createScratchMysqlDatabase } from '@lapi/testing';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { parse } from 'yaml';
import {
  nftablesProblem,
  startCustomBouncer,
  startFirewallBouncer,
  waitFor,
  type RunningCustomBouncer,
  type RunningFirewallBouncer,
} from './clients';
import { startClusterTarget } from './cluster-infra';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli } from './cscli';
import { CROWDSEC_MISSING_MESSAGE, crowdsecPath, startReferenceLapi, type ReferenceLapi } from './reference';
import {
  describeResult,
  embeddedEnv,
  postgresEnv,
  runLapi,
  startServer,
  type Env,
  type ProcessResult,
  type RunningServer,
} from './server';

const KEY = 'fw0123456789abcdef0123456789abcd';
const CSCLI_PASSWORD = 'cscli-machine-password-0123456789';

interface StreamDecision {
  value: string;
  type: string;
  scope: string;
  origin: string;
  scenario: string;
  duration: string;
}

const combos = [
  { source: 'sqlite', target: 'embedded' },
  { source: 'postgres', target: 'postgres' },
  { source: 'mysql', target: 'embedded' },
  { source: 'postgres', target: 'cluster' },
] as const;

if (!cscliAvailable() || !crowdsecPath()) {
  throw new Error(cscliAvailable() ? CROWDSEC_MISSING_MESSAGE : CSCLI_MISSING_MESSAGE);
}

describe.each(combos)('lapi import-crowdsec from $source into $target', ({ source, target }) => {
  let tmp: string;
  let ref: ReferenceLapi;
  let server: RunningServer;
  let env: Env;
  /** The source given by its own flag (--sqlite PATH, --postgres URL, --mysql URL) rather than by --config. */
  let sourceFlag: string[];
  const drops: (() => Promise<void>)[] = [];
  let custom: RunningCustomBouncer | undefined;
  let firewall: RunningFirewallBouncer | undefined;
  const lapi = (...args: string[]) => runLapi(args, env, { timeoutMs: 120_000 });
  const ok = (what: string, r: ProcessResult) => {
    expect({ what, code: r.code, out: describeResult(what, r) }).toMatchObject({ what, code: 0 });
    return r;
  };
  const stream = async (url: string): Promise<StreamDecision[]> => {
    const res = await fetch(`${url}/v1/decisions/stream?startup=true`, { headers: { 'X-Api-Key': KEY } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { new: StreamDecision[] | null }).new ?? [];
  };
  const identity = (ds: StreamDecision[]) =>
    ds.map((d) => `${d.scope}:${d.value} ${d.type} ${d.origin} ${d.scenario}`).sort();
  /** Hours left, rounded down, per decision: `until` is kept, so both sides agree. */
  const hoursLeft = (ds: StreamDecision[]) =>
    ds.map((d) => `${d.value} ${/^(\d+)h/.exec(d.duration)?.[1] ?? '0'}h`).sort();
  const machines = async () =>
    (JSON.parse(ok('machines list', await lapi('machines', 'list', '-o', 'json')).stdout) as Record<string, unknown>[])
      .map((m) => ({ name: m.machineId, validated: m.isValidated }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), `lapi-import-cs-${source}-`));
    let postgresUrl: string | undefined;
    let mysqlUrl: string | undefined;
    if (source === 'postgres') {
      const db = await createScratchDatabase('lapi_test_cs_source');
      drops.push(db.drop);
      postgresUrl = db.url;
    } else if (source === 'mysql') {
      const db = await createScratchMysqlDatabase('lapi_test_cs_source');
      drops.push(db.drop);
      mysqlUrl = db.url;
    }
    ref = await startReferenceLapi({ dir: join(tmp, 'crowdsec'), postgresUrl, mysqlUrl });
    sourceFlag =
      source === 'sqlite'
        ? ['--sqlite', join(ref.dir, 'data', 'crowdsec.db')]
        : [`--${source}`, (postgresUrl ?? mysqlUrl)!];
    // cscli's own machine (validated by `machines add`), whose credentials cscli decisions add uses.
    ok(
      'cscli machines add',
      await ref.cscli([
        'machines',
        'add',
        'cscli-machine',
        '--password',
        CSCLI_PASSWORD,
        '-f',
        join(ref.dir, 'local_api_credentials.yaml'),
      ]),
    );
    for (const agent of ['agent-ok', 'agent-pending']) {
      ok(
        `cscli lapi register ${agent}`,
        await ref.cscli(['lapi', 'register', '--machine', agent, '-f', join(tmp, `${agent}.yaml`), '--url', ref.url]),
      );
    }
    ok('cscli machines validate', await ref.cscli(['machines', 'validate', 'agent-ok']));
    ok('cscli bouncers add -k', await ref.cscli(['bouncers', 'add', 'fw', '-k', KEY]));
    ok(
      'cscli decisions add ip',
      await ref.cscli(['decisions', 'add', '-i', '192.0.2.10', '-d', '2h', '-R', 'manual-ban']),
    );
    ok(
      'cscli decisions add range',
      await ref.cscli(['decisions', 'add', '-r', '198.51.100.0/24', '-d', '30h', '-t', 'captcha', '-R', 'bad-range']),
    );
    // The agent's alert, as crowdsec sends it: no decisions (the profile makes a 4h ban), events and meta.
    const agent = credentials(join(tmp, 'agent-ok.yaml'));
    const login = await fetch(`${ref.url}/v1/watchers/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.4.6-test' },
      body: JSON.stringify({ machine_id: agent.login, password: agent.password, scenarios: ['crowdsecurity/ssh-bf'] }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const now = new Date().toISOString();
    const pushed = await fetch(`${ref.url}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([
        {
          scenario: 'crowdsecurity/ssh-bf',
          scenario_hash: 'abc123',
          scenario_version: '0.1',
          message: 'Ip 203.0.113.5 performed crowdsecurity/ssh-bf (6 events over 2s)',
          events_count: 6,
          start_at: now,
          stop_at: now,
          capacity: 5,
          leakspeed: '10s',
          simulated: false,
          remediation: true,
          source: { scope: 'Ip', value: '203.0.113.5', ip: '203.0.113.5', cn: 'FR', as_number: '64500' },
          events: [{ timestamp: now, meta: [{ key: 'log_type', value: 'ssh_failed-auth' }] }],
          meta: [{ key: 'target_user', value: 'root' }],
        },
      ]),
    });
    expect(pushed.status).toBe(201);

    if (target === 'cluster') {
      const cluster = await startClusterTarget(tmp, { database: 'lapi_test_cs_cluster', redisPrefix: 'csimport:' });
      drops.push(cluster.stop);
      ({ env, server } = cluster);
      return;
    }
    if (target === 'postgres') {
      const db = await createScratchDatabase('lapi_test_cs_target');
      drops.push(db.drop);
      env = postgresEnv(db.url, join(tmp, 'data'));
    } else {
      env = embeddedEnv(join(tmp, 'data'));
    }
    server = await startServer({ env });
  }, 180_000);

  afterAll(async () => {
    await firewall?.stop();
    await custom?.stop();
    if (target !== 'cluster') {
      await server?.stop(); // the cluster's stop (in drops) stops it
    }
    await ref?.stop();
    for (const drop of drops) {
      await drop();
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('with --dry-run counts what it would import and writes nothing', async () => {
    const r = ok('dry run', await lapi('import-crowdsec', '--config', ref.configPath, '--dry-run', '-o', 'json'));
    expect(JSON.parse(r.stdout)).toMatchObject({
      dryRun: true,
      machines: { imported: 3, unchanged: 0 },
      bouncers: { imported: 1, unchanged: 0 },
      alerts: { imported: 3, unchanged: 0 },
      decisions: { imported: 3 },
    });
    expect(await machines()).toEqual([]);
    expect(JSON.parse(ok('bouncers list', await lapi('bouncers', 'list', '-o', 'json')).stdout)).toEqual([]);
  });

  if (source === 'sqlite') {
    it('reads what the running CrowdSec still holds in its -wal file, which the main file lacks', async () => {
      // Proves the import's WAL folding is exercised: without it, machines registered after the last checkpoint
      // would be missing (the dry run above counted all 3).
      const path = join(ref.dir, 'data', 'crowdsec.db');
      expect(existsSync(`${path}-wal`)).toBe(true);
      const count = async (withWal: boolean) => {
        const { applyWal } = await import('../../apps/cli/src/import-crowdsec/sqlite-wal');
        const SQL = await (await import('sql.js')).default();
        const wal = withWal ? readFileSync(`${path}-wal`) : undefined;
        const db = new SQL.Database(applyWal(readFileSync(path), wal));
        try {
          return Number(db.exec('select count(*) from machines')[0].values[0][0]);
        } catch {
          return 0; // not even the table: CrowdSec created its schema after the last checkpoint
        } finally {
          db.close();
        }
      };
      expect(await count(true)).toBe(3);
      expect(await count(false)).toBeLessThan(3);
    });
  }

  it('refuses the whole import when a name is taken here with other credentials, listing it', async () => {
    ok('bouncers add', await lapi('bouncers', 'add', 'fw', '-k', 'another-key-0123456789abcdef'));
    const r = await lapi('import-crowdsec', '--config', ref.configPath);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("lapi: nothing imported: 1 name(s) are taken here with other credentials: bouncer 'fw'");
    expect(r.stderr).toContain('--keep-existing');
    expect(await machines()).toEqual([]); // nothing else came in
    ok('bouncers delete', await lapi('bouncers', 'delete', 'fw'));
  });

  it('imports machines, bouncers and active decisions, and the same credentials and key work here', async () => {
    const before = await stream(ref.url);
    expect(identity(before)).toEqual([
      'Ip:192.0.2.10 ban cscli manual-ban',
      'Ip:203.0.113.5 ban crowdsec crowdsecurity/ssh-bf',
      'Range:198.51.100.0/24 captcha cscli bad-range',
    ]);
    // CrowdSec still runs: its latest writes may still be in the SQLite -wal file.
    const r = ok('import', await lapi('import-crowdsec', '--config', ref.configPath));
    expect(r.stdout).toContain('machines: 3 imported, 0 already here');
    expect(r.stdout).toContain('bouncers: 1 imported, 0 already here');
    expect(r.stdout).toContain('alerts: 3 imported with 3 active decisions, 0 already here');

    // Validated or not as they were.
    expect(await machines()).toEqual([
      { name: 'agent-ok', validated: true },
      { name: 'agent-pending', validated: false },
      { name: 'cscli-machine', validated: true },
    ]);

    // The same key pulls the same decisions, with the time they had left (in a cluster once the worker has projected
    // them into Redis).
    let last: StreamDecision[] = [];
    const after = await waitFor(
      'the stream to list the imported decisions',
      async () => {
        // Anything but 200 (the read model still catching up) is retried until the timeout.
        const res = await fetch(`${server.url}/v1/decisions/stream?startup=true`, { headers: { 'X-Api-Key': KEY } });
        last = res.status === 200 ? (((await res.json()) as { new: StreamDecision[] | null }).new ?? []) : [];
        return identity(last).join() === identity(before).join() ? last : undefined;
      },
      { timeoutMs: 30_000, describe: () => `last: ${JSON.stringify(identity(last))}` },
    );
    expect(identity(after)).toEqual(identity(before));
    expect(hoursLeft(after)).toEqual(hoursLeft(before));

    // The same agent credentials file (only the URL changed) logs cscli in to our server.
    const agentFile = join(tmp, 'agent-ok-here.yaml');
    writeFileSync(
      agentFile,
      readFileSync(join(tmp, 'agent-ok.yaml'), 'utf8').replace(/^url: .*$/m, `url: ${server.url}`),
    );
    const home = makeCscliHome(join(tmp, 'cscli-here'), { credentialsPath: agentFile });
    const listed = await runCscli(home.configPath, ['decisions', 'list', '-o', 'json']);
    expect({ code: listed.code, out: listed.output }).toMatchObject({ code: 0 });
    const alerts = JSON.parse(listed.stdout) as {
      scenario: string;
      events?: { meta: { key: string; value: string }[] }[];
      meta?: { key: string; value: string }[];
      decisions: { value: string }[];
    }[];
    expect(alerts.flatMap((a) => a.decisions.map((d) => d.value)).sort()).toEqual([
      '192.0.2.10',
      '198.51.100.0/24',
      '203.0.113.5',
    ]);
    // The agent's alert came with its events and meta.
    const shown = await runCscli(home.configPath, [
      'alerts',
      'list',
      '-o',
      'json',
      '--scenario',
      'crowdsecurity/ssh-bf',
    ]);
    expect(shown.code).toBe(0);
    const agentAlert = (JSON.parse(shown.stdout) as typeof alerts)[0];
    expect(agentAlert.events?.[0]?.meta).toContainEqual({ key: 'log_type', value: 'ssh_failed-auth' });
    expect(agentAlert.meta).toContainEqual({ key: 'target_user', value: 'root' });

    // The unvalidated agent still waits for validation here.
    const pending = credentials(join(tmp, 'agent-pending.yaml'));
    const refused = await fetch(`${server.url}/v1/watchers/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.4.6-test' },
      body: JSON.stringify({ machine_id: pending.login, password: pending.password }),
    });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('not validated');

    // A real bouncer with the same key gets the decisions.
    custom = startCustomBouncer({ dir: join(tmp, 'custom-bouncer'), apiUrl: server.url, apiKey: KEY });
    await custom.waitForCall('add 192.0.2.10', (c) => c.action === 'add' && c.value === '192.0.2.10', 30_000);
  }, 180_000);

  if (source === 'sqlite' && target === 'embedded') {
    it('the real firewall bouncer with the same key puts the imported bans in its nftables set', async () => {
      const problem = await nftablesProblem();
      if (problem) {
        throw new Error(`the firewall bouncer test cannot run here: ${problem}`);
      }
      firewall = await startFirewallBouncer({ dir: join(tmp, 'firewall-bouncer'), apiUrl: server.url, apiKey: KEY });
      // Set-only nftables mode takes only `ban`: the captcha on the range stays out.
      const banned = await firewall.waitForElements('hold the imported bans', (els) =>
        ['192.0.2.10', '203.0.113.5'].every((ip) => els.includes(ip)),
      );
      expect([...banned].sort()).toEqual(['192.0.2.10', '203.0.113.5']);
    }, 60_000);
  }

  it('a second run, naming the source by its own flag, changes nothing', async () => {
    const streamBefore = identity(await stream(server.url));
    const r = ok('second import', await lapi('import-crowdsec', ...sourceFlag, '-o', 'json'));
    expect(JSON.parse(r.stdout)).toMatchObject({
      dryRun: false,
      machines: { imported: 0, unchanged: 3, kept: [] },
      bouncers: { imported: 0, unchanged: 1, kept: [] },
      alerts: { imported: 0, unchanged: 3 },
      decisions: { imported: 0 },
      allowlists: { created: 0, itemsAdded: 0 },
    });
    expect(identity(await stream(server.url))).toEqual(streamBefore);
  }, 120_000);

  it('brings allowlists from a database shaped like 1.7 (allow_lists tables), with the rest unchanged', async () => {
    // 1.4.6 has no allowlists: the database gets 1.7's three tables (as `cscli allowlists` fills them); for SQLite a
    // copy of it (CrowdSec keeps the file open), for PostgreSQL and MySQL the database itself (1.4.6 ignores them).
    let from = sourceFlag;
    if (source === 'sqlite') {
      const copy = join(tmp, 'crowdsec-1.7-shaped.db');
      const original = join(ref.dir, 'data', 'crowdsec.db');
      copyFileSync(original, copy);
      if (existsSync(`${original}-wal`)) {
        copyFileSync(`${original}-wal`, `${copy}-wal`);
      }
      from = ['--sqlite', copy];
    }
    await addAllowlistTables(source, from[1]);
    const r = ok('import 1.7-shaped', await lapi('import-crowdsec', ...from, '-o', 'json'));
    expect(JSON.parse(r.stdout)).toMatchObject({
      machines: { imported: 0, unchanged: 3 },
      alerts: { imported: 0, unchanged: 3 },
      allowlists: { created: 1, itemsAdded: 2 }, // the expired item is left out
    });
    const list = ok('allowlists inspect', await lapi('allowlists', 'inspect', 'office', '-o', 'json'));
    expect(list.stdout).toContain('10.20.0.0/16');
    expect(list.stdout).toContain('192.0.2.200');
    expect(list.stdout).not.toContain('192.0.2.201');
    const again = ok('import 1.7-shaped again', await lapi('import-crowdsec', ...from, '-o', 'json'));
    expect(JSON.parse(again.stdout)).toMatchObject({ allowlists: { created: 0, itemsAdded: 0 } });
  }, 120_000);
});

function credentials(path: string): { login: string; password: string } {
  return parse(readFileSync(path, 'utf8')) as { login: string; password: string };
}

/**
 * Adds 1.7's allowlist tables (schema of pkg/database/ent, with the column types ent gives each dialect) with one
 * list of three items, one expired: to a SQLite file via sql.js, or to a PostgreSQL or MySQL database at `where`.
 */
async function addAllowlistTables(dialect: 'sqlite' | 'postgres' | 'mysql', where: string): Promise<void> {
  const time = { sqlite: 'datetime', postgres: 'timestamptz', mysql: 'timestamp NULL' }[dialect];
  const str = dialect === 'mysql' ? 'varchar(255)' : 'text';
  const no = dialect === 'postgres' ? 'false' : '0';
  // Go's drivers write UTC: SQLite and PostgreSQL with the offset, MySQL as wall-clock text.
  const at = (ms: number) => {
    const iso = new Date(Date.now() + ms).toISOString().replace('T', ' ');
    return dialect === 'mysql' ? iso.slice(0, 19) : iso.replace('Z', '+00:00');
  };
  const [past, future] = [at(-86_400_000), at(86_400_000)];
  const statements = [
    `CREATE TABLE allow_lists (id integer PRIMARY KEY, created_at ${time}, updated_at ${time},
      name ${str} NOT NULL, from_console boolean NOT NULL, description ${str} NULL, allowlist_id ${str} NULL)`,
    `CREATE TABLE allow_list_items (id integer PRIMARY KEY, created_at ${time}, updated_at ${time},
      expires_at ${time}, comment ${str} NULL, value ${str} NOT NULL, start_ip bigint NULL, end_ip bigint NULL,
      start_suffix bigint NULL, end_suffix bigint NULL, ip_size bigint NULL)`,
    `CREATE TABLE allow_list_allowlist_items (allow_list_id integer NOT NULL, allow_list_item_id integer NOT NULL,
      PRIMARY KEY (allow_list_id, allow_list_item_id))`,
    `INSERT INTO allow_lists VALUES (1, '${past}', '${past}', 'office', ${no}, 'office ranges', NULL)`,
    `INSERT INTO allow_list_items (id, created_at, updated_at, expires_at, comment, value)
      VALUES (1, '${past}', '${past}', NULL, 'lan', '10.20.0.0/16'),
             (2, '${past}', '${past}', '${future}', 'pentest', '192.0.2.200'),
             (3, '${past}', '${past}', '${past}', 'expired', '192.0.2.201')`,
    'INSERT INTO allow_list_allowlist_items VALUES (1, 1), (1, 2), (1, 3)',
  ];
  if (dialect === 'postgres') {
    const sql = postgres(where, { max: 1, onnotice: () => undefined });
    try {
      for (const statement of statements) {
        await sql.unsafe(statement);
      }
    } finally {
      await sql.end();
    }
  } else if (dialect === 'mysql') {
    const { createConnection } = await import('mysql2/promise');
    const conn = await createConnection({ uri: where });
    try {
      for (const statement of statements) {
        await conn.query(statement);
      }
    } finally {
      await conn.end();
    }
  } else {
    const { applyWal } = await import('../../apps/cli/src/import-crowdsec/sqlite-wal');
    const SQL = await (await import('sql.js')).default();
    const wal = existsSync(`${where}-wal`) ? readFileSync(`${where}-wal`) : undefined;
    const db = new SQL.Database(applyWal(readFileSync(where), wal));
    for (const statement of statements) {
      db.exec(statement);
    }
    writeFileSync(where, db.export());
    rmSync(`${where}-wal`, { force: true });
    db.close();
  }
}
