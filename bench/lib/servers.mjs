// The servers a benchmark run compares, each started on a free loopback port with its own scratch data:
// ours in cluster mode (API replica + worker over PostgreSQL and Redis), ours embedded (PGlite, no Redis),
// the reference CrowdSec LAPI (Debian's crowdsec 1.4.6, LAPI only, on PostgreSQL) and a bare Node.js server.
import Redis from 'ioredis';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** Rows inserted, updated and deleted in a database so far (PostgreSQL's cumulative statistics). */
export async function tupleWrites(dbUrl) {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_stat_force_next_flush()`.catch(() => undefined);
    await sql`select pg_stat_clear_snapshot()`;
    const [row] = await sql`select (tup_inserted + tup_updated + tup_deleted)::bigint as n
      from pg_stat_database where datname = current_database()`;
    return Number(row.n);
  } finally {
    await sql.end();
  }
}

/**
 * Ours. mode 'cluster': one API replica and one worker on a scratch PostgreSQL database and a Redis key prefix;
 * mode 'postgres': one API process on a scratch PostgreSQL database, no Redis, no worker;
 * mode 'embedded': `npm start`'s default, PGlite in a scratch directory, no Redis.
 */
export async function startOurs({ root, mode, pgUrl, redisUrl, id }) {
  const dir = mkdtempSync(join(tmpdir(), `lapi-bench-${mode}-`));
  writeFileSync(join(dir, 'profiles.yaml'), PROFILES);
  const db = mode === 'embedded' ? undefined : await scratchDatabase(pgUrl, `lapi_bench_${id}`);
  const prefix = `lapi-bench-${id}:`;
  const env = {
    ...process.env,
    LAPI_LOG_LEVEL: 'warn',
    LAPI_LOG_FORMAT: 'json',
    LAPI_PROFILES_PATH: join(dir, 'profiles.yaml'),
    ...(mode === 'cluster'
      ? {
          DATABASE_URL: db.url,
          REDIS_URL: redisUrl,
          LAPI_REDIS_PREFIX: prefix,
          CS_LAPI_SECRET: randomBytes(48).toString('hex'),
        }
      : mode === 'postgres'
        ? { DATABASE_URL: db.url, CS_LAPI_SECRET: randomBytes(48).toString('hex') }
        : { LAPI_DATA_DIR: join(dir, 'data') }),
  };
  for (const k of { embedded: ['DATABASE_URL', 'REDIS_URL'], postgres: ['REDIS_URL'] }[mode] ?? []) delete env[k];
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
    name: `ours (${mode})`,
    kind: 'ours',
    mode,
    url,
    dbUrl: db?.url,
    processes: worker ? { api, worker } : { api },
    env,
    lapi,
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

/** Debian's crowdsec 1.4.6 as a Local API only, on a scratch PostgreSQL database, no online client. */
export async function startReference({ pgUrl, id, crowdsecBin }) {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-bench-reference-'));
  const db = await scratchDatabase(pgUrl, `lapi_bench_ref_${id}`);
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
  type: postgresql
  user: ${q(decodeURIComponent(pg.username || 'postgres'))}
  password: ${q(decodeURIComponent(pg.password))}
  db_name: ${q(db.name)}
  host: ${q(pg.hostname)}
  port: ${pg.port || 5432}
  sslmode: disable
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
    name: 'reference 1.4.6',
    kind: 'reference',
    url,
    dbUrl: db.url,
    config,
    processes: { api },
    cscli,
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
      await db.drop();
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
