// Importing a blocklist: `lapi decisions import` (embedded through the running server, and on PostgreSQL straight
// into the store) and the real `cscli decisions import`, both seen by a bouncer right after.
import { createScratchDatabase } from '@lapi/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli } from './cscli';
import {
  CLI_ENTRY,
  childEnv,
  embeddedEnv,
  postgresEnv,
  runLapi,
  runProcess,
  startServer,
  type Env,
  type RunningServer,
} from './server';

interface Decision {
  value: string;
  scope: string;
  type: string;
  scenario: string;
  origin: string;
  duration: string;
}

const modes = [
  {
    name: 'embedded',
    env: (tmp: string) => Promise.resolve({ env: embeddedEnv(join(tmp, 'data')), drop: () => Promise.resolve() }),
  },
  {
    name: 'postgres',
    env: async (tmp: string) => {
      const db = await createScratchDatabase('lapi_test_import');
      return { env: postgresEnv(db.url, join(tmp, 'data')), drop: db.drop };
    },
  },
];

describe.each(modes)('importing decisions ($name)', (mode) => {
  let tmp: string;
  let env: Env;
  let drop: () => Promise<void>;
  let server: RunningServer;
  let key: string;
  const lapi = (...args: string[]) => runLapi(args, env, { timeoutMs: 60_000 });
  const lookup = async (query: string): Promise<Decision[]> => {
    const res = await fetch(`${server.url}/v1/decisions?${query}`, { headers: { 'X-Api-Key': key } });
    expect(res.status).toBe(200);
    return ((await res.json()) as Decision[] | null) ?? [];
  };
  const hours = (d: Decision) => Number(/^(\d+)h/.exec(d.duration)?.[1] ?? 0);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), `lapi-import-${mode.name}-`));
    ({ env, drop } = await mode.env(tmp));
    server = await startServer({ env });
    const added = await lapi('bouncers', 'add', 'import-bouncer', '-o', 'raw');
    expect(added.code).toBe(0);
    key = added.stdout.trim();
  });

  afterAll(async () => {
    await server?.stop();
    await drop?.();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('imports a csv file with cscli defaults, and bouncers see it at once', async () => {
    const file = join(tmp, 'list.csv');
    const rows = ['duration,scope,value', '24h,ip,198.51.100.7', ',range,203.0.113.0/24'];
    for (let i = 0; i < 2000; i++) {
      rows.push(`,ip,10.77.${i >> 8}.${i & 255}`);
    }
    writeFileSync(file, `${rows.join('\n')}\n`);
    const r = await lapi('decisions', 'import', '-i', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^2002 decisions imported in [\d.]+ s/);

    const [single] = await lookup('ip=198.51.100.7');
    expect(single).toMatchObject({ scope: 'Ip', type: 'ban', scenario: 'manual', origin: 'cscli-import' });
    expect(hours(single)).toBe(23);
    const [inRange] = await lookup('ip=203.0.113.9');
    expect(inRange).toMatchObject({ value: '203.0.113.0/24', scope: 'Range' });
    expect(hours(inRange)).toBe(3); // the 4h default
    expect(await lookup('ip=10.77.7.207')).toHaveLength(1);
  });

  it('lets the command line override the file, json included', async () => {
    const file = join(tmp, 'list.json');
    writeFileSync(file, JSON.stringify([{ value: '192.0.2.44', type: 'captcha', reason: 'from-file' }]));
    const r = await lapi('decisions', 'import', '-i', file, '-R', 'my-list', '-d', '1h');
    expect(r.code).toBe(0);
    const [d] = await lookup('ip=192.0.2.44');
    expect(d).toMatchObject({ type: 'captcha', scenario: 'my-list' });
    expect(hours(d)).toBe(0);
  });

  it('imports nothing when a line is unusable, and says which', async () => {
    const file = join(tmp, 'bad.csv');
    writeFileSync(file, 'value,duration\n192.0.2.50,4h\n192.0.2.999,4h\n192.0.2.51,4x\n');
    const r = await lapi('decisions', 'import', '-i', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("line 2: invalid IP '192.0.2.999'");
    expect(r.stderr).toContain("line 3: invalid duration '4x'");
    expect(await lookup('ip=192.0.2.50')).toEqual([]);

    const unreadable = await lapi('decisions', 'import', '-i', join(tmp, 'missing.csv'));
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain('missing.csv');
  });

  it('shows what the server accepted: plain lines without a terminal, a bar redrawn in place on one', async () => {
    const file = join(tmp, 'big.csv');
    const rows = ['value'];
    for (let i = 0; i < 25_000; i++) {
      rows.push(`10.78.${i >> 8}.${i & 255}`);
    }
    writeFileSync(file, `${rows.join('\n')}\n`);
    const plain = await lapi('decisions', 'import', '-i', file, '-R', 'plain');
    expect(plain.code).toBe(0);
    expect(plain.stderr.split('\n')).toEqual([
      expect.stringMatching(/^10000\/25000 decisions \(40%, \d+\/s\)$/),
      expect.stringMatching(/^20000\/25000 decisions \(80%, \d+\/s\)$/),
      expect.stringMatching(/^25000\/25000 decisions \(100%, \d+\/s\) accepted, storing…$/),
      '',
    ]);
    expect(plain.stdout).toMatch(/^25000 decisions imported in [\d.]+ s\n$/);
    expect(await lookup('ip=10.78.97.167')).toHaveLength(1);

    // Under a pseudo-terminal (script(1)): stdout and stderr both go to it.
    const command = [process.execPath, CLI_ENTRY, 'decisions', 'import', '-i', file, '-R', 'tty']
      .map((a) => `'${a}'`)
      .join(' ');
    const tty = await runProcess('script', ['-qec', command, '/dev/null'], { env: childEnv(env), timeoutMs: 60_000 });
    expect(tty.code).toBe(0);
    // \x1b[K (clear to the end of the line) shown as <K>.
    const frames = tty.stdout
      .split('\r')
      .filter((f) => f !== '')
      .map((f) => f.replaceAll('\x1b[K', '<K>'));
    expect(frames[0]).toMatch(/^\[#{8}-{12}\] {2}40% 10000\/25000 decisions \d+\/s ETA \d+s<K>$/);
    expect(frames[1]).toMatch(/^\[#{16}-{4}\] {2}80% 20000\/25000 decisions \d+\/s ETA \d+s<K>$/);
    expect(frames[2]).toMatch(/^\[#{20}\] 100% 25000\/25000 decisions \d+\/s accepted, storing…<K>$/);
    expect(frames[3]).toMatch(/^<K>25000 decisions imported in [\d.]+ s\n?$/);

    for (const quiet of [['-q'], ['-o', 'json']]) {
      const r = await lapi('decisions', 'import', '-i', file, ...quiet);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(
        quiet[0] === '-q' ? /^25000 decisions imported/ : /^\{"imported":25000,"seconds":[\d.]+\}\n$/,
      );
    }
  }, 120_000);

  it('takes a blocklist from the real cscli decisions import', async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    const machine = await lapi('machines', 'add', 'importer', '--password', 'importer-password-123');
    expect(machine.code).toBe(0);
    const home = makeCscliHome(join(tmp, 'cscli'), {
      url: server.url,
      login: 'importer',
      password: 'importer-password-123',
    });
    const file = join(tmp, 'cscli.csv');
    writeFileSync(file, 'duration,scope,value\n2h,ip,198.51.100.80\n2h,ip,198.51.100.81\n');
    const r = await runCscli(home.configPath, ['decisions', 'import', '-i', file]);
    expect(r.code).toBe(0);
    expect(r.output).toContain('2 decisions successfully imported');
    const [d] = await lookup('ip=198.51.100.81');
    expect(d).toMatchObject({ origin: 'cscli-import', scenario: 'manual' });
    expect(hours(d)).toBe(1);
  }, 60_000);
});
