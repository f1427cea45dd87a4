// The admin CLI's global behaviour, through the built bin/lapi.js: finding the database (or saying it found none and
// creating nothing), -o raw, several names deleted at once (all or none), bouncers prune, completion, help, and the
// start banner's command. Embedded (server stopped and running), PostgreSQL, and one cluster run.
import { createScratchDatabase } from '@lapi/testing';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateRedis, WORKER_ENTRY } from './cluster-infra';
import { sleep, startBackground, type BackgroundProcess } from './reference';
import {
  childEnv,
  CLI_ENTRY,
  describeResult,
  embeddedEnv,
  httpGet,
  postgresEnv,
  REPO_ROOT,
  runLapi,
  runProcess,
  startServer,
  type Env,
  type RunningServer,
} from './server';

/** `lapi …` from another directory, with only these settings (none of the test runner's). */
const lapiIn = (cwd: string, args: string[], env: Env = {}) =>
  runProcess(process.execPath, [CLI_ENTRY, ...args], { cwd, env: childEnv(env) });

describe('lapi without a database', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-nodb-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('says where it looked and how to point it, exits 1, and creates nothing (no ./data)', async () => {
    const cwd = join(tmp, 'elsewhere');
    mkdirSync(cwd);
    for (const args of [
      ['bouncers', 'list'],
      ['machines', 'add', 'm', '--auto'],
      ['allowlists', 'list', '-o', 'raw'],
    ]) {
      const r = await lapiIn(cwd, args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`lapi: no database in ${join(cwd, 'data')}`);
      expect(r.stderr).toContain('--data-dir /path/to/data');
      expect(r.stderr).toContain('LAPI_DATA_DIR=/path/to/data lapi');
      expect(r.stderr).toContain('DATABASE_URL=postgres://');
      expect(r.stderr).toContain('lapi migrate');
      expect(readdirSync(cwd)).toEqual([]);
    }
    const named = await lapiIn(cwd, ['--data-dir', join(tmp, 'absent'), 'machines', 'list']);
    expect(named.code).toBe(1);
    expect(named.stderr).toContain(`no database in ${join(tmp, 'absent')}`);
    expect(existsSync(join(tmp, 'absent'))).toBe(false);
  });

  it('creates one only with lapi migrate, then finds it by --data-dir or LAPI_DATA_DIR', async () => {
    const dir = join(tmp, 'new-data');
    const migrated = await lapiIn(tmp, ['--data-dir', dir, 'migrate']);
    expect(migrated.code).toBe(0);
    expect((await lapiIn(tmp, ['--data-dir', dir, 'bouncers', 'add', 'fw', '-o', 'raw'])).code).toBe(0);
    // The option may also come after the command, and wins over LAPI_DATA_DIR.
    const listed = await lapiIn(tmp, ['bouncers', 'list', '-o', 'raw', '--data-dir', dir], {
      LAPI_DATA_DIR: join(tmp, 'absent'),
    });
    expect(listed.stdout).toMatch(/^name,ip,revoked,last_pull,type,version,auth_type\nfw,,validated,,/);
    expect((await lapiIn(tmp, ['bouncers', 'list', '-o', 'json'], { LAPI_DATA_DIR: dir })).stdout).toContain('"fw"');
  });
});

describe('lapi packaging', () => {
  it('lists every command group with one line each in --help', async () => {
    const r = await runLapi(['--help'], {});
    expect(r.code).toBe(0);
    const commands = r.stdout.slice(r.stdout.indexOf('Commands:')).split('\n').slice(1).filter(Boolean);
    for (const name of [
      'alerts',
      'allowlists',
      'bouncers',
      'completion',
      'decisions',
      'import-crowdsec',
      'machines',
      'metrics',
      'migrate',
      'notifications',
      'projections',
    ]) {
      expect(commands.filter((line) => new RegExp(`^  ${name}\\b`).test(line))).toHaveLength(1);
    }
    // One line each: no description wraps onto an indented line of its own.
    expect(commands.filter((line) => /^ {10,}\S/.test(line))).toEqual([]);
  });

  it('prints a bash completion script that registers lapi and completes `lapi dec` to decisions', async () => {
    const script = `source <(${process.execPath} ${CLI_ENTRY} completion bash)`;
    const r = await runProcess('bash', [
      '--norc',
      '-c',
      `${script}; complete -p lapi; COMP_WORDS=(lapi dec); COMP_CWORD=1; _lapi_complete; echo "got: \${COMPREPLY[*]}"`,
    ]);
    expect(r.stdout).toContain('complete -o default -F _lapi_complete lapi');
    expect(r.stdout).toContain('got: decisions\n');
    const zsh = await runLapi(['completion', 'zsh'], {});
    expect(zsh.stdout).toMatch(/^#compdef lapi/);
    expect((await runLapi(['completion', 'fish'], {})).code).not.toBe(0);
  });

  it('npm run lapi runs the built CLI without building; an unbuilt copy says to run npm run build', async () => {
    const bundle = join(REPO_ROOT, 'dist', 'cli', 'lapi.js');
    const before = statSync(bundle).mtimeMs;
    const r = await runProcess('npm', ['run', '-s', 'lapi', '--', '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(statSync(bundle).mtimeMs).toBe(before);

    const copy = mkdtempSync(join(tmpdir(), 'lapi-unbuilt-'));
    try {
      mkdirSync(join(copy, 'bin'));
      copyFileSync(CLI_ENTRY, join(copy, 'bin', 'lapi.js'));
      const unbuilt = await runProcess(process.execPath, [join(copy, 'bin', 'lapi.js'), 'machines', 'list']);
      expect(unbuilt.code).toBe(1);
      expect(unbuilt.stderr).toBe(`lapi: not built yet (no ${join(copy, 'dist')}): run npm run build\n`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('lapi on a terminal (script(1) gives it a pseudo-terminal)', () => {
  let tmp: string;
  let env: Env;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-tty-'));
    env = { ...embeddedEnv(join(tmp, 'data')), NO_COLOR: undefined };
    expect((await runLapi(['migrate'], env)).code).toBe(0);
    for (const name of ['fw-1', 'fw-2']) {
      expect((await runLapi(['bouncers', 'add', name], env)).code).toBe(0);
    }
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** Runs lapi on a terminal, typing `answer` once it had time to ask. */
  const onTerminal = (args: string[], answer = '') =>
    runProcess(
      'bash',
      [
        '--norc',
        '-c',
        `(sleep 3; printf '${answer}\\n') | script -qec "${process.execPath} ${CLI_ENTRY} ${args.join(' ')}" /dev/null`,
      ],
      { env: childEnv(env) },
    );
  const names = async () => (await runLapi(['bouncers', 'list', '-o', 'raw'], env)).stdout;

  it('asks before deleting: anything but yes changes nothing, yes deletes, --yes does not ask', async () => {
    const refused = await onTerminal(['bouncers', 'delete', 'fw-1', 'fw-2'], 'n');
    expect(refused.stdout).toContain("Delete 2 bouncers: 'fw-1', 'fw-2'? [y/N]");
    expect(refused.stdout).toContain('lapi: aborted: nothing was changed');
    expect(refused.code).toBe(1);
    expect(await names()).toMatch(/\nfw-1,.*\nfw-2,/);

    const accepted = await onTerminal(['bouncers', 'delete', 'fw-1'], 'y');
    expect(accepted.stdout).toContain("Delete bouncer 'fw-1'? [y/N]");
    expect(accepted.stdout).toContain("bouncer 'fw-1' deleted successfully");
    expect(await names()).not.toContain('fw-1');

    const unasked = await onTerminal(['bouncers', 'delete', 'fw-2', '--yes']);
    expect(unasked.stdout).not.toContain('[y/N]');
    expect(unasked.stdout).toContain("bouncer 'fw-2' deleted successfully");
  });

  it('colours tables on a terminal unless NO_COLOR or --color no', async () => {
    expect((await onTerminal(['machines', 'list'])).stdout).toContain('\u001b[1mName');
    expect((await onTerminal(['machines', 'list', '--color', 'no'])).stdout).not.toContain('\u001b[');
    env.NO_COLOR = '1';
    expect((await onTerminal(['machines', 'list'])).stdout).not.toContain('\u001b[');
    expect((await onTerminal(['machines', 'list', '--color', 'yes'])).stdout).toContain('\u001b[1mName');
  });
});

interface Mode {
  name: string;
  env(tmp: string): Promise<{ env: Env; cleanup(): Promise<void> }>;
  /** Whether the server runs in this part (embedded mode runs both ways). */
  serverRunning: boolean;
}

const modes: Mode[] = [
  {
    name: 'embedded, server stopped',
    serverRunning: false,
    env: (tmp) => Promise.resolve({ env: embeddedEnv(join(tmp, 'data')), cleanup: () => Promise.resolve() }),
  },
  {
    name: 'embedded, server running',
    serverRunning: true,
    env: (tmp) => Promise.resolve({ env: embeddedEnv(join(tmp, 'data')), cleanup: () => Promise.resolve() }),
  },
  {
    name: 'postgres',
    serverRunning: true,
    env: async (tmp) => {
      const db = await createScratchDatabase('lapi_test_cliglobal');
      return { env: postgresEnv(db.url, join(tmp, 'data')), cleanup: db.drop };
    },
  },
  {
    name: 'cluster',
    serverRunning: true,
    env: async (tmp) => {
      const [db, redis] = await Promise.all([
        createScratchDatabase('lapi_test_cliglobal_cluster'),
        startPrivateRedis(join(tmp, 'redis')),
      ]);
      return {
        env: { ...postgresEnv(db.url, join(tmp, 'data')), REDIS_URL: redis.url, LAPI_REDIS_PREFIX: 'cliglobal:' },
        cleanup: async () => {
          await redis.stop();
          await db.drop();
        },
      };
    },
  },
];

describe.each(modes)('lapi global behaviour ($name)', (mode) => {
  let tmp: string;
  let env: Env;
  let cleanup: () => Promise<void>;
  let server: RunningServer | undefined;
  let worker: BackgroundProcess | undefined;
  const lapi = async (...args: string[]) => runLapi(args, env);
  const ok = async (...args: string[]) => {
    const r = await lapi(...args);
    if (r.code !== 0) {
      throw new Error(describeResult(`lapi ${args.join(' ')}`, r));
    }
    return r.stdout;
  };
  const bouncerNames = async () =>
    (JSON.parse(await ok('bouncers', 'list', '-o', 'json')) as { name: string }[]).map((b) => b.name);
  const machineIds = async () =>
    (JSON.parse(await ok('machines', 'list', '-o', 'json')) as { machineId: string }[]).map((m) => m.machineId);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-cliglobal-'));
    ({ env, cleanup } = await mode.env(tmp));
    await ok('migrate');
    if (mode.name === 'cluster') {
      worker = startBackground(process.execPath, [WORKER_ENTRY], { cwd: REPO_ROOT, env: childEnv(env) });
    }
    if (mode.serverRunning) {
      server = await startServer({ env });
    }
  });

  afterAll(async () => {
    await server?.stop();
    await worker?.stop(5000);
    await cleanup?.();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('deletes several machines at once, or none when one does not exist', async () => {
    await ok('machines', 'add', 'm-a', '--auto');
    await ok('machines', 'add', 'm-b', '--auto');
    await ok('machines', 'add', 'm-c', '--auto');
    const refused = await lapi('machines', 'delete', 'm-a', 'ghost', 'm-b');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("machine 'ghost' does not exist");
    expect(await machineIds()).toEqual(['m-a', 'm-b', 'm-c']);
    const deleted = await ok('machines', 'delete', 'm-a', 'm-b');
    expect(deleted).toBe("machine 'm-a' deleted successfully\nmachine 'm-b' deleted successfully\n");
    expect(await machineIds()).toEqual(['m-c']);
    const raw = await ok('machines', 'list', '-o', 'raw');
    expect(raw).toMatch(
      /^machine_id,ip_address,updated_at,validated,version,auth_type,last_heartbeat\nm-c,,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,true,,password,-\n$/,
    );
  });

  it('deletes several bouncers at once, or none when one does not exist; no colour in a pipe', async () => {
    for (const name of ['b-a', 'b-b', 'b-c']) {
      await ok('bouncers', 'add', name, '-o', 'raw');
    }
    const refused = await lapi('bouncers', 'delete', 'b-a', 'b-b', 'ghost');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("bouncer 'ghost' does not exist");
    expect(await bouncerNames()).toEqual(['b-a', 'b-b', 'b-c']);
    expect(JSON.parse(await ok('bouncers', 'delete', 'b-a', 'b-b', '-o', 'json'))).toEqual(['b-a', 'b-b']);
    expect(await bouncerNames()).toEqual(['b-c']);
    const table = await ok('bouncers', 'list');
    expect(table).toMatch(/b-c +validated/);
    // eslint-disable-next-line no-control-regex
    expect(table).not.toMatch(/\u001b|✔️/);
    // eslint-disable-next-line no-control-regex
    expect(await ok('bouncers', 'list', '--color', 'yes')).toMatch(/\u001b\[1mName .*\n.*\n.*b-c +✔️/);
    await ok('bouncers', 'delete', 'b-c', '--yes');
  });

  it('prunes the bouncers that pulled nothing for the duration given, and only with --force', async () => {
    const key = (await ok('bouncers', 'add', 'active-fw', '-o', 'raw')).trim();
    await ok('bouncers', 'add', 'idle-fw', '-o', 'raw');
    expect(await ok('bouncers', 'prune')).toBe('No bouncers to prune.\n'); // default 60m
    const tooShort = await lapi('bouncers', 'prune', '-d', '10s');
    expect(tooShort.code).toBe(1);
    expect(tooShort.stderr).toContain('--yes');
    // Idle for 10 s, against 8: the one pull below is followed by a single lapi run before prune reads it.
    await sleep(10_000);
    // The pull is noted by the server (in a cluster, in Redis): prune reads it where bouncers list does.
    const pull = async () => {
      if (server) {
        const pulled = await httpGet(`${server.url}/v1/decisions/stream?startup=true`, { 'X-Api-Key': key });
        expect(pulled?.status).toBe(200);
      }
    };
    const expected = server ? ['idle-fw'] : ['active-fw', 'idle-fw'];
    await pull();
    const listed = JSON.parse(await ok('bouncers', 'prune', '-d', '8s', '--yes', '-o', 'json')) as { name: string }[];
    expect(listed.map((b) => b.name)).toEqual(expected);
    expect(await bouncerNames()).toEqual(['active-fw', 'idle-fw']); // listed only
    await pull();
    const raw = await ok('bouncers', 'prune', '-d', '8s', '--yes', '-o', 'raw', '--force');
    expect(raw).toBe(`name,last_pull\n${expected.map((n) => `${n},`).join('\n')}\n`);
    expect(await bouncerNames()).toEqual(server ? ['active-fw'] : []);
    if (server) {
      // A pruned bouncer's key is refused by the server.
      await ok('bouncers', 'delete', 'active-fw');
    }
  });

  if (mode.serverRunning) {
    it('prints the admin command for its own database in the start banner, without a password', () => {
      const output = server!.output();
      if (mode.name.startsWith('embedded')) {
        expect(output).toContain(`LAPI_DATA_DIR=${join(tmp, 'data')} npx lapi bouncers add my-bouncer`);
      } else {
        expect(output).toMatch(/DATABASE_URL=\S+ (REDIS_URL=\S+ LAPI_REDIS_PREFIX=cliglobal: )?npx lapi bouncers add/);
        const dbUrl = new URL(env.DATABASE_URL!);
        if (dbUrl.password) {
          expect(output).not.toContain(dbUrl.password);
        }
      }
    });
  }
});
