// `lapi decisions list|add|delete|import` as a user runs them (the built bin/lapi.js), in every mode: embedded with
// the server running (through its admin socket) and stopped (straight on its files), PostgreSQL, and a cluster
// (PostgreSQL + Redis + a worker keeping the bouncers' read model). Where cscli 1.4.6 has the command, its output
// against the same server is the reference; a bouncer's stream shows what the commands changed.
import { createScratchDatabase } from '@lapi/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './clients';
import { startClusterTarget } from './cluster-infra';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli, type CscliHome } from './cscli';
import {
  childEnv,
  CLI_ENTRY,
  embeddedEnv,
  postgresEnv,
  runLapi,
  runProcess,
  startServer,
  type Env,
  type RunningServer,
} from './server';

const CSCLI_LOGIN = 'cscli-e2e';
const CSCLI_PASSWORD = 'cscli-e2e-password-123';

interface ListedDecision {
  id: number;
  value: string;
  scope: string;
  type: string;
  origin: string;
  scenario: string;
  duration: string;
  uuid?: string;
}
interface ListedAlert {
  id: number;
  machine_id: string;
  decisions: ListedDecision[];
  [key: string]: unknown;
}
interface StreamDecision {
  value: string;
  scope: string;
  type: string;
}
interface Stream {
  new: StreamDecision[] | null;
  deleted: StreamDecision[] | null;
}

interface Setup {
  env: Env;
  server: RunningServer;
  cleanup(): Promise<void>;
}

const modes: { name: string; start(tmp: string): Promise<Setup> }[] = [
  {
    name: 'embedded, server running',
    start: async (tmp) => {
      const env = embeddedEnv(join(tmp, 'data'));
      const server = await startServer({ env });
      return { env, server, cleanup: () => server.stop() };
    },
  },
  {
    name: 'postgres',
    start: async (tmp) => {
      const db = await createScratchDatabase('lapi_test_cli_decisions');
      const env = postgresEnv(db.url, join(tmp, 'data'));
      const server = await startServer({ env });
      return { env, server, cleanup: () => server.stop().then(db.drop) };
    },
  },
  {
    name: 'cluster',
    start: async (tmp) => {
      const cluster = await startClusterTarget(tmp, {
        database: 'lapi_test_cli_decisions_cluster',
        redisPrefix: 'clidec:',
      });
      return { env: cluster.env, server: cluster.server, cleanup: cluster.stop };
    },
  },
];

/** What cscli 1.4.6 knows of an alert, durations (they tick) aside: it drops the fields its models lack. */
const comparable = (alerts: ListedAlert[] | null) =>
  (alerts ?? []).map(({ uuid: _uuid, labels: _labels, kind: _kind, decisions, ...rest }) => ({
    ...rest,
    decisions: decisions.map(({ duration: _duration, uuid: _u, ...d }) => d),
  }));

/** A csv without its expiration column (it ticks). */
const withoutExpiration = (csv: string) =>
  csv
    .trim()
    .split('\n')
    .map((line) => line.split(',').toSpliced(8, 1).join(','));

describe.each(modes)('lapi decisions ($name)', (mode) => {
  let tmp: string;
  let setup: Setup;
  let env: Env;
  let server: RunningServer;
  let key: string;
  let cscliHome: CscliHome | undefined;
  const lapi = (args: string[], input?: string) => runLapi(args, env, { timeoutMs: 60_000, input });
  const ok = async (...args: string[]) => {
    const r = await lapi(args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.stdout;
  };
  const listed = async (...args: string[]) =>
    (JSON.parse(await ok('decisions', 'list', '-o', 'json', ...args)) as ListedAlert[] | null) ?? [];
  const values = (alerts: ListedAlert[]) => alerts.flatMap((a) => a.decisions.map((d) => d.value)).sort();
  const pull = async (startup = false): Promise<Stream> => {
    const res = await fetch(`${server.url}/v1/decisions/stream?startup=${startup}`, { headers: { 'X-Api-Key': key } });
    expect(res.status).toBe(200);
    return (await res.json()) as Stream;
  };
  /** Pulls until the stream has told the bouncer all of `values` (new or deleted), collecting what it says. */
  const streamed = (kind: 'new' | 'deleted', expected: string[]) => {
    const seen = new Set<string>();
    return waitFor(
      `the bouncer's stream to list ${expected.join(', ')} in ${kind}`,
      async () => {
        for (const d of (await pull())[kind] ?? []) {
          seen.add(d.value);
        }
        return expected.every((v) => seen.has(v)) ? [...seen].sort() : undefined;
      },
      { timeoutMs: 20_000, describe: () => `seen: ${[...seen].join(', ')}` },
    );
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-cli-decisions-'));
    setup = await mode.start(tmp);
    ({ env, server } = setup);
    key = (await ok('bouncers', 'add', 'cli-decisions-bouncer', '-o', 'raw')).trim();
    await ok('machines', 'add', CSCLI_LOGIN, '--password', CSCLI_PASSWORD);
    if (cscliAvailable()) {
      cscliHome = makeCscliHome(join(tmp, 'cscli'), { url: server.url, login: CSCLI_LOGIN, password: CSCLI_PASSWORD });
    }
    await pull(true);
  });

  afterAll(async () => {
    await setup?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  const cscli = async (...args: string[]) => {
    if (!cscliHome) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    const r = await runCscli(cscliHome.configPath, args);
    expect({ args, code: r.code }).toEqual({ args, code: 0 });
    return r;
  };

  it('adds decisions (lapi and cscli), lists them as cscli does, with its filters, and bouncers get them', async () => {
    expect(await ok('decisions', 'add', '-i', '192.0.2.10', '-d', '1h')).toMatch(
      /^Decision successfully added \(alert \d+\)\n$/,
    );
    const { alert_id: rangeAlert } = JSON.parse(
      await ok('decisions', 'add', '-r', '198.51.100.0/24', '-t', 'captcha', '-R', 'e2e range', '-o', 'json'),
    ) as { alert_id: number };
    expect(typeof rangeAlert).toBe('number');
    await ok('decisions', 'add', '--scope', 'username', '--value', 'alice');
    await cscli('decisions', 'add', '-i', '192.0.2.11', '-R', 'e2e-cscli');
    // A blocklist's alert (origin lists), as an agent pulling lists pushes it: left out unless -a/--all.
    const login = await fetch(`${server.url}/v1/watchers/login`, {
      method: 'POST',
      // The reference refuses a login without a `name/version` user agent (middlewares/v1/jwt.go).
      headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.4.6' },
      body: JSON.stringify({ machine_id: CSCLI_LOGIN, password: CSCLI_PASSWORD, scenarios: [] }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const now = new Date().toISOString();
    const pushed = await fetch(`${server.url}/v1/alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          scenario: 'update : +2/-0 IPs',
          scenario_hash: '',
          scenario_version: '',
          message: '',
          events_count: 2,
          start_at: now,
          stop_at: now,
          capacity: 0,
          leakspeed: '0',
          simulated: false,
          events: [],
          source: { scope: 'lists:e2e-list', value: '' },
          decisions: ['203.0.113.1', '203.0.113.2'].map((value) => ({
            duration: '2h',
            origin: 'lists',
            scenario: 'e2e-list',
            scope: 'Ip',
            type: 'ban',
            value,
          })),
        },
      ]),
    });
    expect({ status: pushed.status, body: await pushed.text() }).toEqual({ status: 201, body: expect.any(String) });

    // Newest first; the list's alert only with --all.
    const all = await listed();
    expect(all.map((a) => a.decisions.map((d) => d.value))).toEqual([
      ['192.0.2.11'],
      ['alice'],
      ['198.51.100.0/24'],
      ['192.0.2.10'],
    ]);
    expect(all[2].id).toBe(rangeAlert);
    expect(all[0].machine_id).toBe(CSCLI_LOGIN);
    expect(values(await listed('--all'))).toEqual([
      '192.0.2.10',
      '192.0.2.11',
      '198.51.100.0/24',
      '203.0.113.1',
      '203.0.113.2',
      'alice',
    ]);
    for (const [args, expected] of [
      [['-i', '192.0.2.10'], ['192.0.2.10']],
      [['-i', '198.51.100.7'], ['198.51.100.0/24']],
      [['-r', '198.51.0.0/16', '--contained'], ['198.51.100.0/24']],
      [['-t', 'captcha'], ['198.51.100.0/24']],
      [['--scope', 'username'], ['alice']],
      [['--scope', 'ip', '-v', '192.0.2.11'], ['192.0.2.11']],
      [['-s', 'e2e-cscli'], ['192.0.2.11']],
      [
        ['--origin', 'lists'],
        ['203.0.113.1', '203.0.113.2'],
      ],
      [
        ['--origin', 'cscli', '--since', '1h'],
        ['192.0.2.10', '192.0.2.11', '198.51.100.0/24', 'alice'],
      ],
      [['--until', '1d'], []],
      [['-l', '1'], ['192.0.2.11']],
    ] as const) {
      expect({ args, values: values(await listed(...args)) }).toEqual({ args, values: [...expected] });
    }

    const table = await ok('decisions', 'list', '-m');
    expect(table.split('\n')[1].split(/\s{2,}/)).toEqual([
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
      'Machine',
    ]);
    expect(table).toMatch(
      /cscli\s+Range:198\.51\.100\.0\/24\s+e2e range\s+captcha\s+1\s+\d+h\d+m[\d.]+s\s+\d+\s+lapi\n/,
    );
    expect(table).toMatch(/Ip:192\.0\.2\.11\s+e2e-cscli\s+ban\s+.*\s+cscli-e2e\n/);
    const raw = (await ok('decisions', 'list', '-o', 'raw')).trim().split('\n');
    expect(raw[0]).toBe('id,source,ip,reason,action,country,as,events_count,expiration,simulated,alert_id');
    expect(raw.slice(1).map((line) => line.split(',')[2])).toEqual([
      'Ip:192.0.2.11',
      'username:alice',
      'Range:198.51.100.0/24',
      'Ip:192.0.2.10',
    ]);
    expect(await ok('decisions', 'list', '-s', 'nothing-like-it')).toBe('No active decisions\n');
    expect(await ok('decisions', 'list', '-s', 'nothing-like-it', '-o', 'json')).toBe('null\n');

    const bad = await lapi(['decisions', 'list', '-i', '198.51.100.0/24']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({
      code: 1,
      stderr: "lapi: 198.51.100.0/24 isn't a valid ip\n",
    });
    const badSince = await lapi(['decisions', 'list', '--since', 'yesterday']);
    expect(badSince.code).toBe(1);
    expect(badSince.stderr).toContain("can't parse duration yesterday");

    expect(await streamed('new', ['192.0.2.10', '192.0.2.11', '198.51.100.0/24', '203.0.113.1'])).toEqual(
      expect.arrayContaining(['192.0.2.10', '192.0.2.11', '198.51.100.0/24', '203.0.113.1', '203.0.113.2']),
    );
  });

  it('prints what cscli 1.4.6 prints for the same data and filters (json and raw)', async () => {
    if (!cscliHome) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    for (const filter of [[], ['--all'], ['-i', '192.0.2.10'], ['--origin', 'lists'], ['-t', 'captcha', '-m']]) {
      const theirs = JSON.parse((await cscli('decisions', 'list', '-o', 'json', ...filter)).stdout) as ListedAlert[];
      const ours = JSON.parse(await ok('decisions', 'list', '-o', 'json', ...filter)) as ListedAlert[];
      expect({ filter, alerts: comparable(ours) }).toEqual({ filter, alerts: comparable(theirs) });
      expect(theirs.length).toBeGreaterThan(0);
      const theirCsv = (await cscli('decisions', 'list', '-o', 'raw', ...filter)).stdout;
      const ourCsv = await ok('decisions', 'list', '-o', 'raw', ...filter);
      expect({ filter, csv: withoutExpiration(ourCsv) }).toEqual({ filter, csv: withoutExpiration(theirCsv) });
    }
  });

  it('deletes by filter, by id and --all, says how many as cscli does, and bouncers get the deletions', async () => {
    const none = await lapi(['decisions', 'delete']);
    expect({ code: none.code, stderr: none.stderr }).toEqual({
      code: 1,
      stderr: 'lapi: At least one filter or --all must be specified\n',
    });
    expect(await ok('decisions', 'delete', '-i', '192.0.2.10')).toBe('1 decision(s) deleted\n');
    expect(await ok('decisions', 'delete', '-i', '192.0.2.10')).toBe('0 decision(s) deleted\n');
    expect(await ok('decisions', 'delete', '--scope', 'username', '-v', 'alice')).toBe('1 decision(s) deleted\n');
    const [cscliAdded] = await listed('-s', 'e2e-cscli');
    expect(await ok('decisions', 'delete', '--id', String(cscliAdded.decisions[0].id))).toBe('1 decision(s) deleted\n');
    const ghost = await lapi(['decisions', 'delete', '--id', '999999']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(/^lapi: .*999999|^lapi: .*not found/);
    // One decision of the list's alert: the other stays listed, the deleted one is not shown.
    expect(await ok('decisions', 'delete', '--origin', 'lists', '-v', '203.0.113.1', '-o', 'json')).toBe(
      '{"deleted":1}\n',
    );
    expect(values(await listed('--all'))).toEqual(['198.51.100.0/24', '203.0.113.2']);
    expect(await streamed('deleted', ['192.0.2.10', '192.0.2.11', '203.0.113.1'])).not.toContain('198.51.100.0/24');

    expect(await ok('decisions', 'delete', '--all', '-y')).toBe('2 decision(s) deleted\n');
    expect(await ok('decisions', 'list', '--all')).toBe('No active decisions\n');
    await streamed('deleted', ['198.51.100.0/24', '203.0.113.2']);
  });

  it('imports from stdin, in the format its content shows', async () => {
    const csv = 'duration,value,reason\n2h,192.0.2.50,e2e-stdin\n,192.0.2.51,e2e-stdin\n';
    expect(await lapi(['decisions', 'import', '-i', '-', '-q'], csv)).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^2 decisions imported in [\d.]+ s\n$/),
    });
    const json = JSON.stringify([{ value: '192.0.2.52', type: 'captcha' }]);
    expect((await lapi(['decisions', 'import', '-i', '-', '-q', '-R', 'e2e-stdin'], json)).code).toBe(0);
    expect((await lapi(['decisions', 'import', '-i', '-', '-q', '-R', 'e2e-stdin'], '192.0.2.53\n')).code).toBe(0);
    const imported = await listed('-s', 'e2e-stdin');
    expect(values(imported)).toEqual(['192.0.2.50', '192.0.2.51', '192.0.2.52', '192.0.2.53']);
    expect(imported.flatMap((a) => a.decisions).find((d) => d.value === '192.0.2.52')?.type).toBe('captcha');
    const bad = await lapi(['decisions', 'import', '-i', '-'], 'value\n192.0.2.999\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid IP '192.0.2.999'");
    await streamed('new', ['192.0.2.50', '192.0.2.51', '192.0.2.52', '192.0.2.53']);
  });
});

describe('lapi decisions (embedded, server stopped)', () => {
  let tmp: string;
  let env: Env;
  let server: RunningServer | undefined;
  const lapi = (args: string[], input?: string) => runLapi(args, env, { timeoutMs: 60_000, input });

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-cli-decisions-stopped-'));
    env = embeddedEnv(join(tmp, 'data'));
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lists and deletes on the stopped server files; the bouncer gets the deletions once it is back', async () => {
    server = await startServer({ env });
    const key = (await lapi(['bouncers', 'add', 'stopped-bouncer', '-o', 'raw'])).stdout.trim();
    expect((await lapi(['decisions', 'add', '-i', '192.0.2.60', '-d', '1h'])).code).toBe(0);
    expect((await lapi(['decisions', 'add', '-i', '192.0.2.61', '-d', '1h'])).code).toBe(0);
    const pull = async (startup: boolean) => {
      const res = await fetch(`${server!.url}/v1/decisions/stream?startup=${startup}`, {
        headers: { 'X-Api-Key': key },
      });
      return (await res.json()) as Stream;
    };
    expect((await pull(true)).new?.map((d) => d.value).sort()).toEqual(['192.0.2.60', '192.0.2.61']);
    await server.stop();
    server = undefined;

    const deleted = await lapi(['decisions', 'delete', '-i', '192.0.2.60']);
    expect({ code: deleted.code, stdout: deleted.stdout }).toEqual({ code: 0, stdout: '1 decision(s) deleted\n' });
    const raw = await lapi(['decisions', 'list', '-o', 'raw']);
    expect(
      raw.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[2]),
    ).toEqual(['Ip:192.0.2.61']);
    const piped = await lapi(['decisions', 'import', '-i', '-', '-q'], 'value\n192.0.2.62\n');
    expect(piped.code).toBe(0);

    server = await startServer({ env });
    const next = await pull(false);
    expect(next.deleted?.map((d) => d.value)).toEqual(['192.0.2.60']);
    expect(next.new?.map((d) => d.value)).toEqual(['192.0.2.62']);
  });

  it('asks before --all on a terminal, and a "no" changes nothing', async () => {
    server ??= await startServer({ env });
    // Under a pseudo-terminal (script(1)), answering "n".
    const command = [process.execPath, CLI_ENTRY, 'decisions', 'delete', '--all'].map((a) => `'${a}'`).join(' ');
    const tty = await runProcess('script', ['-qec', command, '/dev/null'], {
      env: childEnv(env),
      input: 'n\n',
      timeoutMs: 60_000,
    });
    expect(tty.code).toBe(1);
    expect(tty.stdout).toContain('Delete all decisions? [y/N]');
    expect(tty.stdout).toContain('lapi: aborted: nothing was changed');
    const listed = await lapi(['decisions', 'list', '-o', 'raw']);
    expect(listed.stdout.trim().split('\n')).toHaveLength(3);
  });
});
