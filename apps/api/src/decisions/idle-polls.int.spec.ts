import { DECISION_READER, type DecisionReader } from '@lapi/application';
import { loadConfig } from '@lapi/config';
import type { DB } from '@lapi/event-store';
import { redisKeys } from '@lapi/read-models';
import Redis from 'ioredis';
import { sql, type Kysely } from 'kysely';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastPulls } from '../../../cli/src/bouncer-pulls';
import { pullStream, pushBans, type TestApi } from '../../test/api-harness';
import { DECISION_MODES, startApiIn, type DecisionMode } from '../../test/decision-modes';
import { startAdminSocket } from '../admin/admin-socket';
import { BouncerSightings } from '../auth/bouncer-sightings';

const IDLE_POLLS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every statement that writes a table of the database from now on, counted by a statement-level trigger on each. */
async function countWrites(db: Kysely<DB>): Promise<() => Promise<string[]>> {
  await sql`create table test_writes (tbl text not null, op text not null)`.execute(db);
  await sql`
    create function test_count_write() returns trigger language plpgsql as $$
    begin insert into test_writes values (tg_table_name, tg_op); return null; end $$`.execute(db);
  await sql`
    do $$ declare t record; begin
      for t in select schemaname, tablename from pg_tables
        where schemaname not in ('pg_catalog', 'information_schema') and tablename <> 'test_writes' loop
        execute format('create trigger test_count_write after insert or update or delete or truncate on %I.%I '
          'for each statement execute function test_count_write()', t.schemaname, t.tablename);
      end loop;
    end $$`.execute(db);
  return async () =>
    (await sql<{ tbl: string; op: string }>`select tbl, op from test_writes`.execute(db)).rows.map(
      (r) => `${r.op} ${r.tbl}`,
    );
}

type Command = { source: string; args: string[] };

/**
 * The commands the API's own Redis connection sends while `work` runs, but for its timers' (the positions' mirror
 * every second, the barrier's stats every 5 s). Its connection is told by `probe`, which must read the position.
 */
async function apiRedisCommands(prefix: string, probe: () => Promise<unknown>, work: () => Promise<unknown>) {
  const keys = redisKeys(prefix);
  const seen: Command[] = [];
  const monitor = await monitorRedis(process.env.TEST_REDIS_URL!, (command) => seen.push(command));
  try {
    await probe();
    await sleep(200);
    const api = seen.find((c) => c.source !== 'lua' && c.args.some((a) => a.startsWith(keys.streamCursors)))?.source;
    expect(api).toBeDefined();
    const from = seen.length;
    await work();
    await sleep(200);
    const timers = (c: Command) =>
      (c.args[0].toLowerCase() === 'hgetall' && c.args[1] === keys.streamCursors) ||
      ['multi', 'exec'].includes(c.args[0].toLowerCase()) ||
      c.args[1] === keys.barrierStats;
    return seen.slice(from).filter((c) => c.source === api && !timers(c));
  } finally {
    monitor.destroy();
  }
}

/**
 * Every command the Redis server runs, from MONITOR on a plain socket: ioredis's monitor() fails ("Command queue
 * state error") when output arrives with MONITOR's own reply, as it does on a busy server.
 */
async function monitorRedis(url: string, seen: (command: Command) => void): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port || 6379), hostname);
  await once(socket, 'connect');
  socket.write('MONITOR\r\n');
  let buffered = '';
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  socket.setEncoding('latin1').on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\r\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      // +1700000000.000000 [0 127.0.0.1:50000] "get" "key"   (or [0 lua] for a script's calls)
      const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (line === '+OK') {
        ready();
      } else if (m) {
        const args = [...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(([, arg]) =>
          arg.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
            e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : ({ n: '\n', r: '\r', t: '\t' }[e] ?? e),
          ),
        );
        seen({ source: m[1], args });
      }
    }
  });
  await started;
  return socket;
}

// Issue #12 item 5: a poll with nothing new costs at most one Redis round trip (cluster) and none elsewhere, and
// writes nothing anywhere; a bouncer's last pull still shows, in every mode.
describe.each(DECISION_MODES)('idle stream polls (%s)', (mode: DecisionMode) => {
  let api: TestApi & { redisPrefix?: string };
  let agent: Record<string, string>;
  beforeAll(async () => {
    api = await startApiIn(mode);
    agent = await api.machine('agent');
    await pushBans(api, agent, ['192.0.2.1']);
  }, 180_000); // PGlite's start is slow on a loaded machine
  afterAll(() => api.close());

  const settled = () => api.api.app.get(BouncerSightings).settled();
  const reader = () => api.api.app.get<DecisionReader>(DECISION_READER);

  it('write nothing to the database nor Redis, and read Redis once each at most', async () => {
    const key = await api.bouncer('idle');
    expect((await pullStream(api, key, '?startup=true')).new?.map((d) => d.value)).toEqual(['192.0.2.1']);
    expect(await pullStream(api, key)).toEqual({ new: null, deleted: null });
    await settled(); // the first request's sighting (address, type, version) is a write
    const writes = await countWrites(api.api.database.db);
    const idlePolls = async (n: number) => {
      for (let i = 0; i < n; i++) {
        api.clock.advance(1_000);
        expect(await pullStream(api, key)).toEqual({ new: null, deleted: null });
      }
    };
    if (mode === 'cluster') {
      const commands = await apiRedisCommands(
        api.redisPrefix!,
        () => idlePolls(1),
        () => idlePolls(IDLE_POLLS),
      );
      expect(commands.length).toBeLessThanOrEqual(IDLE_POLLS);
      // Each a script that only reads (the log's head and the position).
      const writing = /redis\.call\('(SET|HSET|HDEL|DEL|PUBLISH|RPUSH|PEXPIRE|EXPIRE|INCR|XADD)'/i;
      expect(commands.filter((c) => c.args[0].toLowerCase() !== 'eval' || writing.test(c.args[1]))).toEqual([]);
    } else {
      await idlePolls(IDLE_POLLS);
    }
    await settled();
    expect(await writes()).toEqual([]);
    // The count sees writes: a ban appends to the log.
    await pushBans(api, agent, ['192.0.2.2']);
    expect(await writes()).toContain('INSERT events');
  });

  it("lapi bouncers list shows a bouncer's last idle poll and a lookup-only bouncer's last lookup", async () => {
    const puller = await api.bouncer('puller');
    const looker = await api.bouncer('looker');
    await pullStream(api, puller, '?startup=true');
    api.clock.advance(5_000);
    const polled = api.clock.now().toISOString();
    expect(await pullStream(api, puller)).toEqual({ new: null, deleted: null });
    api.clock.advance(5_000);
    const looked = api.clock.now().toISOString();
    const res = await api.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.1', headers: looker });
    expect(res.statusCode).toBe(200);

    let times: Map<string, string>;
    if (mode === 'embedded') {
      // As `lapi bouncers list` asks the running server, over its admin socket.
      const dataDir = mkdtempSync(join(tmpdir(), 'lapi-idle-polls-'));
      const socket = await startAdminSocket(api.api.app, dataDir);
      try {
        times = await lastPulls(loadConfig({ LAPI_DATA_DIR: dataDir }), ['puller', 'looker']);
      } finally {
        await socket.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    } else if (mode === 'cluster') {
      // As `lapi bouncers list` reads Redis, asking the replicas for the times they noted.
      const config = loadConfig(
        {
          DATABASE_URL: 'postgres://unused/x',
          REDIS_URL: process.env.TEST_REDIS_URL,
          LAPI_REDIS_PREFIX: api.redisPrefix,
        },
        { requireSecret: false },
      );
      times = await lastPulls(config, ['puller', 'looker']);
    } else {
      // The CLI reads this database itself and cannot ask the server: its times are up to a minute old there. The
      // server's own listing writes them first.
      times = new Map(
        Object.entries((await api.admin({ op: 'bouncers.positions', keys: ['puller', 'looker'] })) as object),
      );
    }
    expect(Object.fromEntries(times)).toEqual({ puller: polled, looker: looked });
  });

  it("deletes a bouncer's positions and lookup times with it, and does not write them back", async () => {
    const gone = await api.bouncer('gone');
    await pullStream(api, gone, '?startup=true');
    api.clock.advance(1_000);
    await pullStream(api, gone); // an idle poll: its time is only noted
    expect((await api.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.9', headers: gone })).statusCode).toBe(
      200,
    );
    const stored = () => storedOf(api, mode);
    await reader().flushPullTimes();
    expect(await stored()).toHaveLength(2);
    // Noted, not yet written, when the bouncer is deleted.
    api.clock.advance(1_000);
    await pullStream(api, gone);
    await api.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.9', headers: gone });
    await api.admin({ op: 'bouncers.delete', name: 'gone' });
    // Cluster replicas drop theirs when told of the deletion, in the background.
    for (let i = 0; i < 100 && (await stored()).length > 0; i++) {
      await sleep(20);
    }
    await reader().flushPullTimes();
    expect(await stored()).toEqual([]);
  });
});

/** What is stored of bouncer `gone`'s position and lookup time. */
async function storedOf(api: TestApi & { redisPrefix?: string }, mode: DecisionMode): Promise<unknown[]> {
  if (mode === 'cluster') {
    const keys = redisKeys(api.redisPrefix);
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    try {
      return [await redis.hget(keys.streamCursors, 'gone'), await redis.hget(keys.bouncerLookups, 'gone')].filter(
        (v) => v !== null,
      );
    } finally {
      redis.disconnect();
    }
  }
  const db = api.api.database.db;
  return [
    ...(await db.selectFrom('bouncer_cursors').select('bouncer').where('bouncer', '=', 'gone').execute()),
    ...(await db.selectFrom('bouncer_lookups').select('bouncer').where('bouncer', '=', 'gone').execute()),
  ];
}
