import { type EventMetadata } from '@lapi/domain';
import { PostgresEventStore } from '@lapi/event-store';
import { JobName, QueueName } from '@lapi/jobs';
import { DecisionGenerations, redisKeys, serveMetrics } from '@lapi/read-models';
import { openTestDatabase, openTestRedis } from '@lapi/testing';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { QueueRuntime } from '../jobs/queue-runtime';
import { WorkerMetrics } from './worker-metrics';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };

function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (m) {
      samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
    }
  }
  return samples;
}

describe('the worker metrics endpoint (LAPI_METRICS_LISTEN_URI)', () => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let redis: ReturnType<typeof openTestRedis>;
  let metrics: WorkerMetrics;
  let server: Awaited<ReturnType<typeof serveMetrics>>;
  let failing: QueueRuntime;
  let notifications: Queue;
  let connection: ReturnType<typeof openTestRedis>['redis'];

  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    redis = openTestRedis();
    const store = new PostgresEventStore(db.handle.db);
    metrics = new WorkerMetrics(
      redis.redis,
      redis.prefix,
      redisKeys(redis.prefix),
      new DecisionGenerations(redis.redis, redisKeys(redis.prefix)),
      store,
      true,
    );
    server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
    // Three events no projector has read: the decisions projection is three behind.
    for (const n of [1, 2, 3]) {
      await store.appendToStream(`test-${n}`, [{ type: 'TestHappened', data: { n } }], {
        expectedVersion: 'no_stream',
        metadata,
      });
    }
    failing = QueueRuntime.start(
      redis.redis,
      redis.prefix,
      QueueName.Maintenance,
      {
        [JobName.ExpireDecisions]: () => Promise.reject(new Error('boom')),
      },
      new Logger('test'),
    );
    // BullMQ leaves a connection it was given open: ours, closed after it.
    connection = redis.redis.duplicate();
    notifications = new Queue(QueueName.Notifications, {
      connection,
      prefix: `${redis.prefix}bull`,
    });
  });

  afterAll(async () => {
    await failing?.close();
    await notifications?.close();
    connection?.disconnect();
    await server?.close();
    await metrics?.close();
    await redis?.close();
    await db?.dispose();
  });

  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };

  it('counts failed jobs by queue and name, and gives each queue by state', async () => {
    const before = (await scrape()).get('lapi_job_failures_total{queue="maintenance",job="expire-decisions"}') ?? 0;
    await failing.queue.add(JobName.ExpireDecisions, {});
    await notifications.add(JobName.DeliverNotification, {}, { delay: 3_600_000 });
    let samples = await scrape();
    for (let i = 0; i < 100; i++) {
      if ((samples.get('lapi_job_failures_total{queue="maintenance",job="expire-decisions"}') ?? 0) > before) {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
      samples = await scrape();
    }
    expect(samples.get('lapi_job_failures_total{queue="maintenance",job="expire-decisions"}')).toBe(before + 1);
    expect(samples.get('lapi_queue_jobs{queue="maintenance",state="failed"}')).toBe(1);
    expect(samples.get('lapi_queue_jobs{queue="notifications",state="delayed"}')).toBe(1);
    expect(samples.get('lapi_queue_jobs{queue="notifications",state="waiting"}')).toBe(0);
    expect(samples.get('lapi_queue_jobs{queue="retention",state="active"}')).toBe(0);
  });

  it('gives the log head, the projection lag, the change log and the webhook progress', async () => {
    const samples = await scrape();
    expect(samples.get('lapi_event_log_head_position')).toBeGreaterThanOrEqual(3);
    expect(samples.get('lapi_projection_lag_events{projection="decisions"}')).toBe(3);
    expect(samples.get('lapi_decision_changes')).toBe(0);
    expect(samples.get('lapi_webhook_changes_behind')).toBe(0);
    expect(samples.get('lapi_webhook_failures')).toBe(0);
  });

  it('answers 404 to anything but GET /metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});
