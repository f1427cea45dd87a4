import {
  deliverNotification,
  dispatchNotifications,
  RetryLater,
  sendHttpNotification,
  type DeliveryDeps,
} from '@lapi/application';
import {
  parseHttpNotificationConfig,
  receiveAlert,
  type AlertNotify,
  type EventMetadata,
  type HttpNotificationConfig,
} from '@lapi/domain';
import { PostgresEventStore } from '@lapi/event-store';
import type { DeliverNotificationData } from '@lapi/jobs';
import { LocalLease, notificationKeys, Projector, RedisNotificationQueue } from '@lapi/read-models';
import { anAlert, openTestDatabase, openTestRedis } from '@lapi/testing';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const ban = { duration: '4h', origin: 'crowdsec', scenario: 'ssh-bf', scope: 'Ip', type: 'ban', value: '192.0.2.9' };

const config = (doc: Record<string, unknown>): HttpNotificationConfig =>
  parseHttpNotificationConfig({ type: 'http', name: 'hook', url: 'http://127.0.0.1:9/x', ...doc }, 'test.yaml');

/**
 * Steps the projector until it has read everything appended so far. The log only gives events below the oldest
 * transaction open on the server (tests running beside this one can hold one open for a moment): poll, do not
 * expect one step to see them all.
 */
async function catchUpTo(store: PostgresEventStore, projector: Projector, target: RedisNotificationQueue) {
  const head = await store.head();
  let applied = 0;
  for (let i = 0; i < 500; i++) {
    applied += await projector.catchUp();
    const at = await target.storedCheckpoint();
    if (at && at.transactionId >= head.transactionId && at.position >= head.position) {
      return applied;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the projector did not catch up with the log');
}

describe('notifications: from the log to the plugin queues', () => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let redis: ReturnType<typeof openTestRedis>;
  let store: PostgresEventStore;
  let nextId = 1;

  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    redis = openTestRedis();
    store = new PostgresEventStore(db.handle.db);
  });
  afterAll(async () => {
    await redis.close();
    await db.dispose();
  });

  const push = async (notify: AlertNotify | undefined) => {
    const id = nextId++;
    const event = receiveAlert(
      anAlert(),
      [ban],
      'agent',
      { alertId: id, alertUuid: `a${id}`, decisionIds: [id], decisionUuids: [`d${id}`] },
      new Date(),
      notify,
    );
    const appended = await store.appendToStream(`alert-${id}`, [event], { expectedVersion: 'no_stream', metadata });
    // Wait until the log can give it (see catchUpTo), so "history" below is history.
    while ((await store.head()).position < appended.lastPosition) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return id;
  };
  const notifying = (plugins: string[]): AlertNotify => ({
    profiles: [{ name: 'default_ip_remediation', plugins, withDecisions: true }],
    decisions: [ban],
  });

  it('starts at the head of the log, then queues each notified alert once per plugin, once even if replayed', async () => {
    const keys = notificationKeys(`${redis.prefix}notify:`);
    const queue = new RedisNotificationQueue(redis.redis, keys, store, () => 1_000);
    await push(notifying(['hook'])); // before the pipeline exists: history is not notified
    const projector = new Projector(store, queue, new LocalLease('t'));
    await queue.checkpoint(); // the pipeline starts here
    await catchUpTo(store, projector, queue);
    expect(await queue.plugins()).toEqual([]);

    const a = await push(notifying(['hook', 'other']));
    await push(undefined);
    const c = await push(notifying(['hook']));
    const from = await queue.checkpoint();
    expect(await catchUpTo(store, projector, queue)).toBe(3);
    const page = await store.readAll(from!, 100);
    expect(page.events).toHaveLength(3);
    // The same batch again, from the old checkpoint: refused, nothing queued twice.
    expect(await queue.apply(page.events, from, page.checkpoint)).toBe(false);

    expect(await queue.plugins()).toEqual(['hook', 'other']);
    const hook = await queue.queued('hook');
    expect(hook.map((e) => e.alert.id)).toEqual([a, c]);
    expect(hook[0]).toMatchObject({ plugin: 'hook', profile: 'default_ip_remediation', enqueuedAt: 1_000 });
    expect(hook[0].alert.decisions).toEqual([ban]);
    expect((await queue.queued('other')).map((e) => e.alert.id)).toEqual([a]);
    expect(new Set([...hook, ...(await queue.queued('other'))].map((e) => e.id)).size).toBe(3);
    expect(await queue.status('hook')).toMatchObject({ queued: 2, enqueued: 2, delivered: 0 });
  });

  it('dispatches due batches by the grouping rules, each job once, and trims the queue', async () => {
    const keys = notificationKeys(`${redis.prefix}dispatch:`);
    const queue = new RedisNotificationQueue(redis.redis, keys, store, () => 0);
    const projector = new Projector(store, queue, new LocalLease('t'));
    await queue.checkpoint();
    for (let i = 0; i < 5; i++) {
      await push(notifying(['grouped']));
    }
    await catchUpTo(store, projector, queue);
    const configs = new Map([['grouped', config({ name: 'grouped', group_threshold: 2 })]]);
    const jobs = new Map<string, DeliverNotificationData>();
    const add = (id: string, data: DeliverNotificationData) => {
      jobs.set(id, data);
      return Promise.resolve();
    };
    // Threshold 2 with 5 queued: everything goes, in notifications of at most 2 alerts.
    expect(await dispatchNotifications(queue, configs, add, 10)).toBe(3);
    expect([...jobs.values()].map((j) => j.alerts.length)).toEqual([2, 2, 1]);
    expect(await queue.queued('grouped')).toEqual([]);
    expect(await queue.lastFlushAt('grouped')).toBe(10);
    // One alert below the threshold waits.
    await push(notifying(['grouped']));
    await catchUpTo(store, projector, queue);
    expect(await dispatchNotifications(queue, configs, add, 20)).toBe(0);
    expect(await queue.queued('grouped')).toHaveLength(1);
  });
});

describe('notifications: one delivery over HTTP', () => {
  let server: Server;
  let url: string;
  let redis: ReturnType<typeof openTestRedis>;
  let received: { method: string; path: string; headers: IncomingHttpHeaders; body: string }[];
  let status = 200;

  beforeAll(async () => {
    redis = openTestRedis();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method!, path: req.url!, headers: req.headers, body });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await redis.close();
  });
  beforeEach(() => {
    received = [];
    status = 200;
  });

  const data = (plugin: string): DeliverNotificationData => ({
    plugin,
    entryIds: ['1.0'],
    alerts: [
      {
        alert: anAlert(),
        decisions: [ban],
        machineId: 'agent',
        id: 1,
      },
    ],
  });
  const deps = (configs: HttpNotificationConfig[], queue: RedisNotificationQueue): DeliveryDeps => ({
    configs: new Map(configs.map((c) => [c.name, c])),
    queue,
    send: sendHttpNotification,
    now: Date.now,
    random: () => 0.5,
  });
  const newQueue = (name: string) =>
    new RedisNotificationQueue(redis.redis, notificationKeys(`${redis.prefix}${name}:`), {
      head: () => Promise.reject(new Error('unused')),
    });

  it('sends the rendered format with the method and headers of the config', async () => {
    const queue = newQueue('send');
    const hook = config({
      url: `${url}/hooks/lapi`,
      method: 'POST',
      headers: { Authorization: 'token abc', 'Content-Type': 'application/json' },
      format: '{{range .}}{{.Source.Value}} {{range .Decisions}}{{.Type}} {{.Duration}}{{end}}{{end}}',
    });
    const job = { id: 'notify-1.0', attemptsMade: 0, createdAt: Date.now() };
    await expect(deliverNotification(data('hook'), job, deps([hook], queue))).resolves.toBe('delivered');
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      method: 'POST',
      path: '/hooks/lapi',
      body: `${anAlert().source.value} ban 4h`,
    });
    expect(received[0].headers).toMatchObject({ authorization: 'token abc', 'content-type': 'application/json' });
    expect(await queue.status('hook')).toMatchObject({ delivered: 1, lastStatus: '200', failedAttempts: 0 });
  });

  it('counts an answer outside 2xx as delivered, as the reference plugin does, and records its status', async () => {
    const queue = newQueue('status');
    status = 500;
    const hook = config({ url, method: 'POST', format: 'x' });
    const job = { id: 'j', attemptsMade: 0, createdAt: Date.now() };
    await expect(deliverNotification(data('hook'), job, deps([hook], queue))).resolves.toBe('delivered');
    expect(await queue.status('hook')).toMatchObject({ delivered: 1, lastStatus: '500' });
  });

  it('retries a failed request with the back-off, then dead-letters it once max_retry retries are spent', async () => {
    const queue = newQueue('retry');
    const closed = config({ url: 'http://127.0.0.1:9/closed', method: 'POST', max_retry: 2, format: 'x' });
    const job = (attemptsMade: number) => ({ id: 'notify-9.0', attemptsMade, createdAt: Date.now() });
    const first = deliverNotification(data('hook'), job(0), deps([closed], queue));
    await expect(first).rejects.toBeInstanceOf(RetryLater);
    await expect(first).rejects.toMatchObject({ delayMs: 1_000 });
    await expect(deliverNotification(data('hook'), job(1), deps([closed], queue))).rejects.toMatchObject({
      delayMs: 2_000,
    });
    await expect(deliverNotification(data('hook'), job(2), deps([closed], queue))).resolves.toBe('dead-lettered');
    expect(await queue.status('hook')).toMatchObject({ failedAttempts: 3, deadLettered: 1, delivered: 0 });
    const [dead] = await queue.deadLetters();
    expect(dead).toMatchObject({ plugin: 'hook', job: 'notify-9.0', alerts: 1, attempts: 3 });
    expect(dead.reason).toMatch(/ECONNREFUSED.*gave up: max-retry/);
  });

  it('cuts an attempt after the timeout and retries it', async () => {
    const queue = newQueue('timeout');
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const slow = config({ url: `http://127.0.0.1:${port}/`, timeout: '200ms', format: 'x' });
      const job = { id: 'j', attemptsMade: 0, createdAt: Date.now() };
      await expect(deliverNotification(data('hook'), job, deps([slow], queue))).rejects.toBeInstanceOf(RetryLater);
      expect((await queue.status('hook')).lastError).toBe('timed out after 200 ms');
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('dead-letters at once what can never be sent: an unknown plugin', async () => {
    const queue = newQueue('unknown');
    const job = { id: 'j', attemptsMade: 0, createdAt: Date.now() };
    await expect(deliverNotification(data('gone'), job, deps([], queue))).resolves.toBe('dead-lettered');
    expect((await queue.deadLetters())[0].reason).toMatch(/no notification config named 'gone'/);
    expect(received).toEqual([]);
  });
});
