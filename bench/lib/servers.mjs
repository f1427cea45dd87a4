// The servers a benchmark run compares, each started on a free loopback port with its own scratch data:
// ours in its three modes (embedded: PGlite, no Redis; PostgreSQL alone: the API process, no Redis, no worker;
// cluster: API replica + worker over PostgreSQL and Redis), the reference CrowdSec LAPI (Debian's crowdsec 1.4.6,
// LAPI only) on SQLite (its default) and on PostgreSQL, and a bare Node.js server.
//
// Each server also says how to count what its database wrote (`countWrites`) and the alerts it stored
// (`countAlerts`), whatever the database: PostgreSQL's counters, the files of PGlite or SQLite, Redis's.
import Redis from 'ioredis';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort, startProcess, waitHealthy } from './proc.mjs';

export const MACHINE = { id: 'bench-machine', password: 'bench-machine-password-0123456789' };
export const UA = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian';

/** Debian 1.4.6's default profile: alerts without decisions get a 4h ban on their source IP. */
const PROFILES = `name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
`;

async function scratchDatabase(pgUrl, name) {
  const admin = postgres(pgUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = Object.assign(new URL(pgUrl), { pathname: `/${name}` }).toString();
  return {
    url,
    name,
    async drop() {
      const a = postgres(pgUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

// BENCH_API_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof": profile the API replica under the workloads
// (BENCH_WORKER_NODE_ARGS: the worker).
const nodeArgsOf = (name) => (process.env[name] ?? '').split(' ').filter(Boolean);

/** Rows inserted, updated and deleted in each user table so far (PostgreSQL's cumulative statistics). */
async function tableWrites(dbUrl) {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_stat_clear_snapshot()`;
    const rows = await sql`select relname, (n_tup_ins + n_tup_upd + n_tup_del)::bigint as n from pg_stat_user_tables`;
    return new Map(rows.map((r) => [r.relname, Number(r.n)]));
  } finally {
    await sql.end();
  }
}

/**
 * Counts PostgreSQL rows written from now until the returned function is called. A backend publishes its counters
 * when it goes idle, at most once a second and otherwise up to 10 s later (PGSTAT_IDLE_INTERVAL): callers let 11 s
 * pass before each reading.
 */
async function pgWriteCounter(dbUrl) {
  const before = await tableWrites(dbUrl);
  return async () => {
    const after = await tableWrites(dbUrl);
    const tables = [...after]
      .map(([name, n]) => [name, n - (before.get(name) ?? 0)])
      .filter(([, n]) => n !== 0)
      .sort((a, b) => b[1] - a[1]);
    return {
      n: tables.reduce((a, [, n]) => a + n, 0),
      unit: 'PostgreSQL rows',
      detail: tables.map(([name, n]) => `${name} ${n}`).join(', '),
    };
  };
}

/** Every file under `dir` with its size and modification time. */
function fileStates(dir) {
  const states = new Map();
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const st = statSync(path, { bigint: true });
        states.set(path, `${st.size}:${st.mtimeNs}`);
      }
    }
  };
  walk(dir);
  return states;
}

/** Counts the files of an embedded database (PGlite, SQLite) written from now until the returned function is called. */
function fileWriteCounter(dir) {
  const before = fileStates(dir);
  return async () => {
    const changed = [...fileStates(dir)].filter(([path, state]) => before.get(path) !== state).map(([p]) => p);
    return {
      n: changed.length,
      unit: 'database files written',
      detail: changed.map((p) => p.slice(dir.length + 1)).join(', '),
    };
  };
}

/**
 * Counts Redis writes (`rdb_changes_since_last_save`: every key modification, scripts' included) from now until the
 * returned function is called. The counter is the whole server's: meaningful on a Redis the run has to itself.
 */
async function redisWriteCounter(redisUrl) {
  const read = async () => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      const info = await redis.info('persistence');
      const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
      return { changes: field('rdb_changes_since_last_save'), savedAt: field('rdb_last_save_time') };
    } finally {
      await redis.quit();
    }
  };
  const before = await read();
  return async () => {
    const after = await read();
    // A save in between resets the counter: the count is unknown then.
    return { n: after.savedAt === before.savedAt ? after.changes - before.changes : undefined, unit: 'Redis writes' };
  };
}

/** Alerts of `scenario` in a PostgreSQL database. */
async function pgAlerts(dbUrl, scenario) {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select count(*)::bigint as n from alerts where scenario = ${scenario}`;
    return Number(row.n);
  } finally {
    await sql.end();
  }
}

export const OUR_MODES = {
  embedded: 'ours (embedded)',
  postgres: 'ours (PostgreSQL)',
  cluster: 'ours (cluster)',
};

/**
 * Ours. mode 'embedded': `npm start`'s default, PGlite in a scratch directory, no Redis; 'postgres': the API
 * process alone on a scratch PostgreSQL database (no Redis, no worker); 'cluster': one API replica and one worker
 * on a scratch PostgreSQL database and a Redis key prefix.
 */
export async function startOurs({ root, mode, pgUrl, redisUrl, id }) {
  if (!OUR_MODES[mode]) throw new Error(`unknown mode ${mode} (${Object.keys(OUR_MODES).join(', ')})`);
  const dir = mkdtempSync(join(tmpdir(), `lapi-bench-${mode}-`));
  writeFileSync(join(dir, 'profiles.yaml'), PROFILES);
  const db = mode === 'embedded' ? undefined : await scratchDatabase(pgUrl, `lapi_bench_${id}`);
  const prefix = `lapi-bench-${id}:`;
  const dataDir = join(dir, 'data');
  const env = {
    ...process.env,
    LAPI_LOG_LEVEL: 'warn',
    LAPI_LOG_FORMAT: 'json',
    LAPI_PROFILES_PATH: join(dir, 'profiles.yaml'),
    ...(db ? { DATABASE_URL: db.url, CS_LAPI_SECRET: randomBytes(48).toString('hex') } : { LAPI_DATA_DIR: dataDir }),
    ...(mode === 'cluster' ? { REDIS_URL: redisUrl, LAPI_REDIS_PREFIX: prefix } : {}),
  };
  if (!db) delete env.DATABASE_URL;
  if (mode !== 'cluster') delete env.REDIS_URL;
  const lapi = (...args) => {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'lapi.js'), ...args], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`lapi ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  lapi('migrate');
  lapi('machines', 'add', MACHINE.id, '--password', MACHINE.password);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const worker =
    mode === 'cluster'
      ? startProcess(
          process.execPath,
          [...nodeArgsOf('BENCH_WORKER_NODE_ARGS'), join(root, 'dist/apps/worker/src/main.js')],
          {
            env,
            cwd: root,
            name: 'worker',
          },
        )
      : undefined;
  const api = startProcess(
    process.execPath,
    [...nodeArgsOf('BENCH_API_NODE_ARGS'), join(root, 'dist/apps/api/src/main.js')],
    {
      env: { ...env, LAPI_LISTEN_URI: `127.0.0.1:${port}` },
      cwd: root,
      name: 'api',
    },
  );
  await waitHealthy(url, api);
  return {
    name: OUR_MODES[mode],
    kind: 'ours',
    mode,
    url,
    dbUrl: db?.url,
    processes: worker ? { api, worker } : { api },
    env,
    lapi,
    /** Starts counting database writes; the function returned ends the count: `{ n, unit, detail, redis? }`. */
    async countWrites() {
      if (!db) return fileWriteCounter(dataDir);
      const pg = await pgWriteCounter(db.url);
      const redis = mode === 'cluster' ? await redisWriteCounter(redisUrl) : undefined;
      return async () => ({ ...(await pg()), ...(redis ? { redis: await redis() } : {}) });
    },
    async countAlerts(scenario, token) {
      if (db) return pgAlerts(db.url, scenario);
      // PGlite is the running server's own: ask it over the LAPI.
      const res = await fetch(
        `${url}/v1/alerts?scenario=${encodeURIComponent(scenario)}&limit=999999999&with_decisions=false`,
        { headers: { authorization: `Bearer ${token}`, 'user-agent': UA } },
      );
      if (!res.ok) throw new Error(`GET /v1/alerts: ${res.status}`);
      return (await res.json())?.length ?? 0;
    },
    /** Bouncers with the given keys, added as `lapi bouncers add` does, all in one process. */
    async addBouncers(names) {
      const keys = names.map((n) => `${n}-${randomBytes(12).toString('hex')}`);
      const requests = names.map((name, i) => ({ op: 'bouncers.add', name, key: keys[i] }));
      const r = spawnSync(process.execPath, [join(root, 'bench', 'lib', 'our-admin.mjs')], {
        cwd: root,
        env,
        input: JSON.stringify(requests),
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      if (r.status !== 0) throw new Error(`adding bouncers: ${r.stderr}`);
      return keys;
    },
    async stop() {
      await api.stop();
      await worker?.stop();
      await db?.drop();
      if (mode === 'cluster') {
        const redis = new Redis(redisUrl);
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          if (keys.length) await redis.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
        await redis.quit();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const REFERENCE_DATABASES = { sqlite: 'reference 1.4.6 (SQLite)', postgres: 'reference 1.4.6 (PostgreSQL)' };

/**
 * Debian's crowdsec 1.4.6 as a Local API only, no online client, on `database`: 'sqlite' (its default, Debian's
 * `db_config: type: sqlite` in the data directory) or 'postgres' (a scratch database).
 */
export async function startReference({ database, pgUrl, id, crowdsecBin }) {
  if (!REFERENCE_DATABASES[database]) throw new Error(`unknown reference database ${database} (sqlite, postgres)`);
  const dir = mkdtempSync(join(tmpdir(), `lapi-bench-reference-${database}-`));
  const db = database === 'postgres' ? await scratchDatabase(pgUrl, `lapi_bench_ref_${id}`) : undefined;
  const sqlitePath = join(dir, 'data', 'crowdsec.db');
  const pg = new URL(pgUrl);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'hub'));
  writeFileSync(join(dir, 'hub', '.index.json'), '{"scenarios":{}}\n');
  writeFileSync(join(dir, 'profiles.yaml'), PROFILES);
  writeFileSync(join(dir, 'simulation.yaml'), 'simulation: false\n');
  writeFileSync(
    join(dir, 'local_api_credentials.yaml'),
    `url: ${url}\nlogin: ${MACHINE.id}\npassword: ${MACHINE.password}\n`,
  );
  const q = JSON.stringify;
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `common:
  daemonize: false
  log_media: stdout
  log_level: warning
config_paths:
  config_dir: ${q(dir)}
  data_dir: ${q(join(dir, 'data'))}
  hub_dir: ${q(join(dir, 'hub'))}
  index_path: ${q(join(dir, 'hub', '.index.json'))}
  simulation_path: ${q(join(dir, 'simulation.yaml'))}
cscli:
  output: human
  color: "no"
db_config:
${
  db
    ? `  type: postgresql
  user: ${q(decodeURIComponent(pg.username || 'postgres'))}
  password: ${q(decodeURIComponent(pg.password))}
  db_name: ${q(db.name)}
  host: ${q(pg.hostname)}
  port: ${pg.port || 5432}
  sslmode: disable`
    : `  type: sqlite
  db_path: ${q(sqlitePath)}`
}
  log_level: warning
  flush:
    max_items: 10000000
    max_age: 365d
api:
  client:
    credentials_path: ${q(join(dir, 'local_api_credentials.yaml'))}
  server:
    log_level: warning
    listen_uri: 127.0.0.1:${port}
    profiles_path: ${q(join(dir, 'profiles.yaml'))}
    trusted_ips: [127.0.0.1, "::1"]
prometheus:
  enabled: false
`,
  );
  // lib/pq (the reference's driver) reads PGSSLMODE; the local server has no TLS.
  const refEnv = { ...process.env, PGSSLMODE: 'disable' };
  const api = startProcess(crowdsecBin, ['-c', config, '-no-cs', '-no-capi'], {
    env: refEnv,
    cwd: dir,
    name: 'reference',
  });
  await waitHealthy(url, api);
  const cscli = (...args) => {
    const r = spawnSync('cscli', ['-c', config, ...args], { cwd: dir, env: refEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cscli ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
  };
  cscli('machines', 'add', MACHINE.id, '--password', MACHINE.password, '-f', '/dev/null', '--force');
  return {
    name: REFERENCE_DATABASES[database],
    kind: 'reference',
    database,
    url,
    dbUrl: db?.url,
    config,
    processes: { api },
    cscli,
    async countWrites() {
      return db ? pgWriteCounter(db.url) : fileWriteCounter(join(dir, 'data'));
    },
    async countAlerts(scenario) {
      if (db) return pgAlerts(db.url, scenario);
      const r = spawnSync(
        'sqlite3',
        ['-readonly', sqlitePath, `select count(*) from alerts where scenario = '${scenario}'`],
        {
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`sqlite3 (Debian package sqlite3): ${r.stderr || r.error?.message}`);
      return Number(r.stdout.trim());
    },
    async addBouncers(names) {
      const keys = names.map((n) => `${n}${randomBytes(12).toString('hex')}`.replace(/[^A-Za-z0-9]/g, ''));
      const batch = 8;
      for (let i = 0; i < names.length; i += batch) {
        await Promise.all(
          names.slice(i, i + batch).map((n, j) =>
            runAsync('cscli', ['-c', config, 'bouncers', 'add', n, '-k', keys[i + j], '-o', 'raw'], {
              cwd: dir,
              env: refEnv,
            }),
          ),
        );
      }
      return keys;
    },
    async stop() {
      await api.stop();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The ceiling: node:http answering a constant JSON body (a one-decision lookup answer), nothing else. */
export async function startBare() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const body = JSON.stringify([
    {
      duration: '3h59m59s',
      id: 1,
      origin: 'crowdsec',
      scenario: 'crowdsecurity/ssh-bf',
      scope: 'Ip',
      type: 'ban',
      value: '1.2.3.4',
      uuid: '00000000-0000-4000-8000-000000000000',
    },
  ]);
  const code = `require('node:http').createServer((q, s) => { s.writeHead(200, {'content-type': 'application/json', 'content-length': ${Buffer.byteLength(body)}}); s.end(${q(body)}); }).listen(${port}, '127.0.0.1')`;
  const api = startProcess(process.execPath, ['-e', code], { env: process.env, name: 'bare node' });
  await waitHealthy(url, api);
  return { name: 'bare node:http', kind: 'bare', url, processes: { api }, stop: () => api.stop() };
}
const q = JSON.stringify;

function runAsync(command, args, options) {
  return new Promise((resolve, reject) => {
    import('node:child_process').then(({ execFile }) =>
      execFile(command, args, { ...options, encoding: 'utf8' }, (error, stdout, stderr) =>
        error ? reject(new Error(`${command} ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout.trim()),
      ),
    );
  });
}
