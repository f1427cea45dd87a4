// Profile notifications without Redis: the log feeds queues in the database, due groups are sent to a real HTTP
// receiver, failed requests are retried then dead-lettered, and what was queued survives a restart; on PGlite (embedded
// mode, its files reopened) and on PostgreSQL (PostgreSQL-only mode).
import { databaseNotificationsStatus } from '@lapi/application';
import {
  parseHttpNotificationConfig,
  receiveAlert,
  type AlertNotify,
  type EventMetadata,
  type HttpNotificationConfig,
} from '@lapi/domain';
import { migrateToLatest, openDatabase, PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { SqlNotificationQueue } from '@lapi/read-models';
import { anAlert, createScratchDatabase, TEST_BACKENDS, type TestBackend } from '@lapi/testing';
import { sql as rawSql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseNotifications } from './database-notifications';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const ban = { duration: '4h', origin: 'crowdsec', scenario: 'ssh-bf', scope: 'Ip', type: 'ban', value: '192.0.2.9' };

/** A database that can be closed and opened again, as a server restart does. */
async function reopenableDatabase(backend: TestBackend) {
  if (backend === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'lapi-notify-'));
    return {
      open: async () => {
        const handle = await openDatabase({ kind: 'embedded', dataDir, fsync: false });
        await migrateToLatest(handle.db);
        return handle;
      },
      drop: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const scratch = await createScratchDatabase();
  return {
    open: async () => {
      const handle = await openDatabase({ kind: 'postgres', url: scratch.url });
      await migrateToLatest(handle.db);
      return handle;
    },
    drop: () => scratch.drop(),
  };
}

interface Received {
  path: string;
  body: string;
}

describe.each(TEST_BACKENDS)('notifications without Redis (%s)', (backend) => {
  let database: Awaited<ReturnType<typeof reopenableDatabase>>;
  let handle: DatabaseHandle;
  let receiver: Server;
  let url: string;
  let received: Received[];
  /** Requests the receiver cuts (the connection reset) before it answers again. */
  let failNext = 0;
  let clock: number;
  let nextId = 1;
  const running: DatabaseNotifications[] = [];

  beforeAll(async () => {
    database = await reopenableDatabase(backend);
    handle = await database.open();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (failNext > 0) {
          failNext -= 1;
          req.socket.destroy();
          return;
        }
        received.push({ path: req.url!, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(running.map((n) => n.stop()));
    await handle.close();
    await database.drop();
    await new Promise((resolve) => receiver.close(resolve));
  });
  beforeEach(async () => {
    received = [];
    failNext = 0;
    clock = Date.now();
    // Each test its own pipeline: it starts at the head of the log.
    await sql(handle, 'delete from notification_pipeline');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
    await sql(handle, 'delete from notification_queue');
    await sql(handle, 'delete from notification_deliveries');
    await sql(handle, 'delete from notification_plugins');
    await sql(handle, 'delete from notification_dead_letters');
  });

  const config = (doc: Record<string, unknown>): HttpNotificationConfig =>
    parseHttpNotificationConfig({ type: 'http', method: 'POST', ...doc }, 'test.yaml');

  const pipeline = async (configs: HttpNotificationConfig[], id = 'api-1') => {
    const n = new DatabaseNotifications(
      handle,
      new PostgresEventStore(handle.db),
      new Map(configs.map((c) => [c.name, c])),
      { now: () => clock, random: () => 0.5, id },
    );
    await n.open();
    running.push(n);
    return n;
  };

  const push = async (plugins: string[] | undefined) => {
    const id = nextId++;
    const notify: AlertNotify | undefined = plugins && {
      profiles: [{ name: 'default_ip_remediation', plugins, withDecisions: true }],
      decisions: [ban],
    };
    const event = receiveAlert(
      anAlert({ source: { ...anAlert().source, value: `192.0.2.${id}`, ip: `192.0.2.${id}` } }),
      [ban],
      'agent',
      { alertId: id, alertUuid: `a${id}`, decisionIds: [id], decisionUuids: [`d${id}`] },
      new Date(clock),
      notify,
    );
    const store = new PostgresEventStore(handle.db);
    const appended = await store.appendToStream(`alert-${id}`, [event], { expectedVersion: 'no_stream', metadata });
    // The log gives an event once no older transaction is open on the server (tests beside this one hold some).
    while ((await store.head()).position < appended.lastPosition) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return id;
  };

  /** Runs rounds (each waiting for its sends) until `done` holds. */
  const until = async (n: DatabaseNotifications, done: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 300; i++) {
      await n.tick();
      await n.idle();
      if (await done()) {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('timed out');
  };

  const status = (deadLimit = 20) =>
    databaseNotificationsStatus(
      { database: handle, store: new PostgresEventStore(handle.db), clock: { now: () => new Date(clock) } },
      deadLimit,
    );

  it('sends each notified alert to its plugin once, rendered, and does not notify history', async () => {
    await push(['hook']); // before the pipeline starts: history
    const n = await pipeline([
      config({ name: 'hook', url: `${url}/hook`, format: '{{range .}}{{.Source.Value}}{{end}}' }),
    ]);
    const a = await push(['hook']);
    await push(undefined);
    await until(n, () => received.length >= 1);
    // More rounds send nothing more.
    await until(n, async () => (await status()).jobs.waiting === 0);
    expect(received).toEqual([{ path: '/hook', body: `192.0.2.${a}` }]);
    const s = await status();
    expect(s.plugins).toEqual([
      expect.objectContaining({ plugin: 'hook', queued: 0, enqueued: 1, delivered: 1, lastStatus: '200' }),
    ]);
    expect(s.owner).toBe('api-1');
    expect(s.lag).toBe(0);
    expect(s.jobs).toEqual({ waiting: 0, delayed: 0, active: 0, failed: 0 });
  });

  it('groups by group_threshold: full groups go at once, the rest waits for more', async () => {
    const n = await pipeline([config({ name: 'grouped', url: `${url}/g`, format: '{{len .}}', group_threshold: 2 })]);
    await push(['grouped']);
    await until(n, async () => (await status()).plugins[0]?.queued === 1);
    expect(received).toEqual([]); // one alert below the threshold waits
    await push(['grouped']);
    await push(['grouped']);
    await until(n, () => received.length === 2);
    expect(received.map((r) => r.body)).toEqual(['2', '1']);
    expect((await status()).plugins[0]).toMatchObject({ queued: 0, enqueued: 3, delivered: 2 });
  });

  it('groups by group_wait: everything queued meanwhile in one round, once the wait has passed', async () => {
    const n = await pipeline([config({ name: 'waits', url: `${url}/w`, format: '{{len .}}', group_wait: '30s' })]);
    await push(['waits']);
    await push(['waits']);
    await until(n, async () => (await status()).plugins[0]?.queued === 2);
    await n.tick();
    expect(received).toEqual([]);
    clock += 30_000;
    await until(n, () => received.length === 2);
    // group_threshold unset: one alert per notification, as the reference does.
    expect(received.map((r) => r.body)).toEqual(['1', '1']);
  });

  it('retries a failed request with the back-off, then delivers it', async () => {
    const n = await pipeline([config({ name: 'flaky', url: `${url}/f`, format: 'x' })]);
    failNext = 2;
    await push(['flaky']);
    await until(n, async () => (await status()).plugins[0]?.failedAttempts === 1);
    // Waiting for the first retry: 1 s ±30 % (random 0.5 gives 1 s).
    expect((await status()).jobs).toMatchObject({ delayed: 1, waiting: 0 });
    await n.tick();
    await n.idle();
    expect((await status()).plugins[0].failedAttempts).toBe(1);
    clock += 1_000;
    await until(n, async () => (await status()).plugins[0].failedAttempts === 2);
    clock += 2_000;
    await until(n, () => received.length === 1);
    expect((await status()).plugins[0]).toMatchObject({ delivered: 1, failedAttempts: 2, deadLettered: 0 });
  });

  it('dead-letters a notification once max_retry retries are spent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there now
    const n = await pipeline([
      config({ name: 'nowhere', url: `http://127.0.0.1:${port}/`, format: 'x', max_retry: 1 }),
    ]);
    await push(['nowhere']);
    await until(n, async () => (await status()).plugins[0]?.failedAttempts === 1);
    clock += 1_000;
    await until(n, async () => (await status()).plugins[0].deadLettered === 1);
    const s = await status();
    expect(s.plugins[0]).toMatchObject({ failedAttempts: 2, deadLettered: 1, delivered: 0 });
    expect(s.jobs).toEqual({ waiting: 0, delayed: 0, active: 0, failed: 0 });
    expect(s.deadLetters).toEqual([
      expect.objectContaining({
        plugin: 'nowhere',
        alerts: 1,
        attempts: 2,
        reason: expect.stringMatching(/ECONNREFUSED.*gave up: max-retry/),
      }),
    ]);
    expect(s.deadLetters[0].job).toMatch(/^notify-\d+\.0$/);
  });

  it('after a restart, sends what was queued before the stop and what the log got meanwhile', async () => {
    const hook = config({ name: 'hook', url: `${url}/r`, format: '{{range .}}{{.Source.Value}}{{end}}' });
    const first = await pipeline([hook]);
    failNext = 1;
    const a = await push(['hook']);
    await until(first, async () => (await status()).plugins[0]?.failedAttempts === 1);
    await first.stop();
    const b = await push(['hook']); // while no pipeline runs
    await handle.close();
    handle = await database.open();
    clock += 1_000;
    const second = await pipeline([hook], 'api-2');
    await until(second, () => received.length === 2);
    expect(received.map((r) => r.body).sort()).toEqual([`192.0.2.${a}`, `192.0.2.${b}`].sort());
    expect((await status()).plugins[0]).toMatchObject({ enqueued: 2, delivered: 2, failedAttempts: 1 });
  });

  it('with two API processes on one database, queues and sends each alert once', async () => {
    if (backend !== 'postgres') {
      return; // PGlite has one process by construction
    }
    const other = await database.open();
    try {
      const hook = config({ name: 'hook', url: `${url}/two`, format: '{{range .}}{{.Source.Value}}{{end}}' });
      const one = await pipeline([hook], 'api-1');
      const two = new DatabaseNotifications(other, new PostgresEventStore(other.db), new Map([['hook', hook]]), {
        now: () => clock,
        random: () => 0.5,
        id: 'api-2',
      });
      await two.open();
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) {
        ids.push(await push(['hook']));
        if (i % 5 === 4) {
          await Promise.all([one.tick(), two.tick()]);
        }
      }
      const both = async () => {
        await Promise.all([one.tick(), two.tick()]);
        await Promise.all([one.idle(), two.idle()]);
      };
      for (let i = 0; i < 300 && received.length < 20; i++) {
        await both();
        await new Promise((r) => setTimeout(r, 20));
      }
      await both();
      expect(received.map((r) => r.body).sort()).toEqual(ids.map((id) => `192.0.2.${id}`).sort());
      expect((await status()).plugins[0]).toMatchObject({ enqueued: 20, delivered: 20, queued: 0 });
      await two.stop();
    } finally {
      await other.close();
    }
  });

  it('sends again a delivery a crash left in flight: repeated, never lost', async () => {
    const hook = config({
      name: 'hook',
      url: `${url}/c`,
      format: '{{range .}}{{.Source.Value}}{{end}}',
      group_threshold: 1,
    });
    const first = await pipeline([hook], 'crashed');
    const a = await push(['hook']);
    // The crashed process had claimed the delivery and not finished it.
    const queue = new SqlNotificationQueue(handle.db, new PostgresEventStore(handle.db), () => clock);
    failNext = 0;
    received = [];
    for (let i = 0; i < 100 && (await status()).jobs.waiting === 0; i++) {
      await first.projectAndDispatch();
    }
    expect(await queue.claim('crashed', 10, clock, 60_000)).toHaveLength(1);
    running.splice(running.indexOf(first), 1);
    await handle.close();
    handle = await database.open();
    const second = await pipeline([hook], 'api-2');
    if (backend === 'postgres') {
      // Other API processes may share a PostgreSQL database: the claim is left to run out.
      await second.tick();
      await second.idle();
      expect(received).toEqual([]);
      expect((await status()).jobs).toMatchObject({ active: 1 });
      clock += 60_000;
    }
    await until(second, () => received.length === 1);
    expect(received[0].body).toBe(`192.0.2.${a}`);
  });
});

async function sql(handle: DatabaseHandle, text: string): Promise<void> {
  await rawSql.raw(text).execute(handle.db);
}
