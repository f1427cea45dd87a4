#!/usr/bin/env node
// `npm test` entry point: node test/run-tests.js [jest args...]
//
// 1. Finds PostgreSQL (TEST_DATABASE_URL, DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres),
//    starting the local Debian cluster if it is down, and (re)creates a clean test database.
// 2. Finds Redis (TEST_REDIS_URL, REDIS_URL, or redis://127.0.0.1:6379), starting redis-server if down.
// 3. Checks MySQL/MariaDB (TEST_MYSQL_URL, or 127.0.0.1:3306), starting the local MariaDB if it is installed and
//    down; only the import-crowdsec tests of a MySQL source need it, so a missing one is a warning here.
// 4. Builds the project (`npm run build`; the e2e tests run the built server from dist/).
// 5. Runs jest with the given arguments and TEST_DATABASE_URL / TEST_REDIS_URL set.
//
// Escape hatches: LAPI_TEST_SKIP_BUILD=1 skips step 3.
'use strict';

const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');
const { spawn, spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
// One database per run, dropped when it ends: runs in parallel (several checkouts, CI beside a developer) never
// drop each other's database. A killed run's database is cleaned up by a later run (dropStaleDatabases).
const DEFAULT_TEST_DB = `lapi_test_run_${process.pid}`;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '']);
const TCP_FAILED = 'TCP connect failed';

function log(msg) {
  process.stderr.write(`[run-tests] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`\n[run-tests] ERROR: ${msg}\n\n`);
  process.exit(1);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Hides the password of a URL for printing. */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function hostOf(u) {
  return u.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Resolves when a TCP connection to host:port succeeds, rejects otherwise. */
function tcpConnect(host, port, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const done = (err) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`timeout connecting to ${host}:${port}`)));
    socket.once('connect', () => done());
    socket.once('error', (err) => done(err));
  });
}

/** Runs a command, returns { ok, output } (never throws). */
function tryRun(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { ok: false, output: String(r.error.message) };
  return { ok: r.status === 0, output: `${r.stdout || ''}${r.stderr || ''}`.trim() };
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

function loadPostgres() {
  try {
    return require('postgres');
  } catch {
    fail('the `postgres` npm package is missing; run `npm ci` first.');
  }
  return undefined;
}

/** URL of the same server with another database name. */
function withDatabase(url, dbName) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(dbName)}`;
  return u.toString();
}

function databaseOf(url) {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  return name || undefined;
}

/** Returns undefined when the server answers `select 1`, else the error message. */
async function pgProbe(url) {
  const u = new URL(url);
  try {
    await tcpConnect(hostOf(u), Number(u.port || 5432));
  } catch (err) {
    return `${TCP_FAILED}: ${err.message}`;
  }
  const postgres = loadPostgres();
  const sql = postgres(url, { max: 1, connect_timeout: 5, idle_timeout: 1, onnotice: () => {} });
  try {
    await sql`select 1 as ok`;
    return undefined;
  } catch (err) {
    return `query failed: ${err.message}`;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

function startLocalPostgres() {
  let versions = [];
  try {
    versions = fs
      .readdirSync('/etc/postgresql')
      .filter((v) => fs.existsSync(path.join('/etc/postgresql', v, 'main')))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    log('no /etc/postgresql directory: PostgreSQL server does not seem to be installed');
    return false;
  }
  if (versions.length === 0) {
    log('no PostgreSQL cluster named "main" under /etc/postgresql');
    return false;
  }
  for (const version of versions) {
    log(`starting PostgreSQL: pg_ctlcluster --skip-systemctl-redirect ${version} main start`);
    const r = tryRun('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
    if (r.output) log(r.output);
    if (r.ok) return true;
  }
  return false;
}

/** Finds a reachable server; returns its URL (as given, database included). */
async function findPostgres() {
  const explicit = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  const url = explicit || DEFAULT_PG_URL;
  const source = process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : explicit ? 'DATABASE_URL' : 'default';
  // Connect to a maintenance database: the test database may not exist yet.
  const adminUrl = withDatabase(url, 'postgres');
  let problem = await pgProbe(adminUrl);
  if (!problem) return { url, adminUrl };
  log(`PostgreSQL at ${redact(adminUrl)} (${source}) is not reachable: ${problem}`);

  // Only start the local cluster when nothing listens; an auth error will not go away by starting it.
  const down = problem.startsWith(TCP_FAILED);
  if (down && LOCAL_HOSTS.has(hostOf(new URL(url))) && startLocalPostgres()) {
    for (let i = 0; i < 30; i++) {
      problem = await pgProbe(adminUrl);
      if (!problem) return { url, adminUrl };
      await sleep(500);
    }
    log(`still not reachable after start: ${problem}`);
  }
  fail(
    [
      `cannot reach PostgreSQL at ${redact(adminUrl)}: ${problem}`,
      '',
      'The tests need a PostgreSQL server (15+) where the user may create databases. Either:',
      '  - install and start one locally (Debian/Ubuntu, as root):',
      '        apt-get install postgresql',
      '        pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
      '    and allow password-less TCP access for user postgres from 127.0.0.1, or',
      '  - point TEST_DATABASE_URL (or DATABASE_URL) at a reachable server, e.g.',
      '        TEST_DATABASE_URL=postgres://user:pass@host:5432/postgres npm test',
    ].join('\n'),
  );
  return undefined;
}

/** Drops and recreates the test database; returns its URL. */
async function prepareTestDatabase({ url, adminUrl }) {
  const given = databaseOf(url);
  const dbName = given && /test/i.test(given) ? given : DEFAULT_TEST_DB;
  if (!/test/i.test(dbName)) fail(`refusing to use database "${dbName}": its name must contain "test"`);
  const postgres = loadPostgres();
  const sql = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    log(`recreating database ${dbName}`);
    await sql.unsafe(`drop database if exists ${quoteIdent(dbName)} with (force)`);
    await sql.unsafe(`create database ${quoteIdent(dbName)}`);
    await dropStaleDatabases(sql);
  } catch (err) {
    fail(`cannot create test database "${dbName}" on ${redact(adminUrl)}: ${err.message}`);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
  return withDatabase(url, dbName);
}

/**
 * Drops databases left behind by killed test runs: tests name theirs lapi_test_<suffix>. Only
 * databases nobody is connected to and created over an hour ago (so a concurrent run's scratch
 * databases are safe). The age comes from pg_stat_file (superuser or pg_read_server_files);
 * without that privilege nothing is dropped.
 */
async function dropStaleDatabases(sql) {
  let stale = [];
  try {
    stale = await sql`
      select d.datname from pg_database d
      where d.datname like 'lapi\\_test\\_%'
        and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)
        and (pg_stat_file('base/' || d.oid || '/PG_VERSION', true)).modification < now() - interval '1 hour'`;
  } catch {
    return;
  }
  let dropped = 0;
  for (const { datname } of stale) {
    if (!/test/i.test(datname)) {
      continue;
    }
    await sql.unsafe(`drop database if exists ${quoteIdent(datname)}`).then(
      () => dropped++,
      () => {},
    );
  }
  if (dropped > 0) {
    log(`dropped ${dropped} stale lapi_test_* database(s) older than 1 hour`);
  }
}

function quoteIdent(name) {
  return `"${name.replace(/"/g, '""')}"`;
}

// ---------------------------------------------------------------------------------------
// Redis

/** Sends PING (after AUTH/SELECT when the URL says so) over a raw socket; undefined when PONG. */
function redisPing(url, timeoutMs = 2000) {
  const u = new URL(url);
  const host = hostOf(u);
  const port = Number(u.port || 6379);
  const commands = [];
  if (u.password) {
    const user = decodeURIComponent(u.username || '');
    const pass = decodeURIComponent(u.password);
    commands.push(user ? ['AUTH', user, pass] : ['AUTH', pass]);
  }
  commands.push(['PING']);
  const payload = commands
    .map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    .join('');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let buffer = '';
    const done = (problem) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`timeout talking to ${host}:${port}`));
    socket.once('error', (err) => done(`${TCP_FAILED}: ${err.message}`));
    socket.once('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      const lines = buffer.split('\r\n').filter(Boolean);
      const error = lines.find((l) => l.startsWith('-'));
      if (error) return done(`redis answered: ${error.slice(1)}`);
      if (lines.length >= commands.length) {
        const last = lines[commands.length - 1];
        done(last === '+PONG' ? undefined : `unexpected reply to PING: ${last}`);
      }
    });
  });
}

function startLocalRedis() {
  const args = [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    '6379',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    '/tmp',
    '--logfile',
    '/tmp/redis-test.log',
  ];
  log(`starting Redis: redis-server ${args.map((a) => (a === '' ? '""' : a)).join(' ')}`);
  const r = tryRun('redis-server', args);
  if (r.output) log(r.output);
  return r.ok;
}

async function findRedis() {
  const explicit = process.env.TEST_REDIS_URL || process.env.REDIS_URL;
  const url = explicit || DEFAULT_REDIS_URL;
  let problem = await redisPing(url);
  if (!problem) return url;
  log(`Redis at ${redact(url)} is not reachable: ${problem}`);
  const u = new URL(url);
  const down = problem.startsWith(TCP_FAILED);
  if (down && LOCAL_HOSTS.has(hostOf(u)) && Number(u.port || 6379) === 6379 && startLocalRedis()) {
    for (let i = 0; i < 20; i++) {
      problem = await redisPing(url);
      if (!problem) return url;
      await sleep(250);
    }
    log(`still not reachable after start: ${problem}`);
  }
  fail(
    [
      `cannot reach Redis at ${redact(url)}: ${problem}`,
      '',
      'The tests need a Redis server. Either:',
      '  - install and start one locally (Debian/Ubuntu, as root):',
      '        apt-get install redis-server',
      '        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
      '  - or point TEST_REDIS_URL (or REDIS_URL) at a reachable server.',
    ].join('\n'),
  );
  return undefined;
}

// ---------------------------------------------------------------------------------------
// MySQL / MariaDB (CrowdSec sources for import-crowdsec)

async function checkMysql() {
  const explicit = process.env.TEST_MYSQL_URL;
  const u = new URL(explicit || 'mysql://root@127.0.0.1:3306/');
  const host = hostOf(u) || '127.0.0.1';
  const port = Number(u.port || 3306);
  const up = () =>
    tcpConnect(host, port).then(
      () => true,
      () => false,
    );
  if (await up()) return;
  if (!explicit && fs.existsSync('/etc/init.d/mariadb')) {
    log('MariaDB is down: /etc/init.d/mariadb start');
    const r = tryRun('/etc/init.d/mariadb', ['start']);
    if (r.output) log(r.output);
    for (let i = 0; i < 40; i++) {
      if (await up()) return;
      await sleep(250);
    }
  }
  log(`warning: no MySQL/MariaDB at ${host}:${port}: the import-crowdsec tests of a MySQL source will fail`);
}

// ---------------------------------------------------------------------------------------

function build() {
  if (process.env.LAPI_TEST_SKIP_BUILD === '1') {
    log('LAPI_TEST_SKIP_BUILD=1: not building');
    return;
  }
  log('npm run build');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.error) fail(`cannot run npm: ${r.error.message}`);
  if (r.status !== 0) fail(`npm run build failed (exit ${r.status ?? r.signal})`);
}

/** Drops the run's own database (best effort: a leftover is dropped by a later run). */
async function dropTestDatabase({ adminUrl }, testDbUrl) {
  const dbName = databaseOf(testDbUrl);
  if (!dbName || !dbName.startsWith('lapi_test_run_')) return;
  const sql = loadPostgres()(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  await sql.unsafe(`drop database if exists ${quoteIdent(dbName)} with (force)`).catch(() => {});
  await sql.end({ timeout: 1 }).catch(() => {});
}

function runJest(args, env, cleanup) {
  const jestBin = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
  if (!fs.existsSync(jestBin)) fail('jest is not installed; run `npm ci` first.');
  // PGlite's CommonJS build loads node builtins with dynamic import(), which Jest's module VM
  // only supports with --experimental-vm-modules (workers inherit these flags).
  const nodeFlags = ['--experimental-vm-modules', '--disable-warning=ExperimentalWarning'];
  log(`jest ${args.join(' ')}`);
  const child = spawn(process.execPath, [...nodeFlags, jestBin, ...args], { cwd: ROOT, env, stdio: 'inherit' });
  const forward = (signal) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward(signal));
  child.on('error', (err) => fail(`cannot start jest: ${err.message}`));
  child.on('exit', (code, signal) => {
    void cleanup().finally(() => {
      if (signal) {
        const n = require('node:os').constants.signals[signal] || 1;
        process.exit(128 + n);
      }
      process.exit(code ?? 1);
    });
  });
}

async function main() {
  const args = process.argv.slice(2);
  // Probe both services before dropping anything.
  const pg = await findPostgres();
  const redisUrl = await findRedis();
  await checkMysql();
  const testDbUrl = await prepareTestDatabase(pg);
  log(`PostgreSQL: ${redact(testDbUrl)}`);
  log(`Redis:      ${redact(redisUrl)}`);
  build();
  const env = { ...process.env, TEST_DATABASE_URL: testDbUrl, TEST_REDIS_URL: redisUrl };
  // In CI, a handle a test leaked (a child process of a failed e2e setup, a socket) must not hang the run until
  // the CI kills it: jest exits once the results are in (their pass/fail is unchanged).
  const ciArgs = process.env.CI && !args.includes('--forceExit') ? ['--forceExit'] : [];
  runJest([...args, ...ciArgs], env, () => dropTestDatabase(pg, testDbUrl));
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
