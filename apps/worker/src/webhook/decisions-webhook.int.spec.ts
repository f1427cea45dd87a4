import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore } from '@lapi/event-store';
import { decisionKeys, LocalLease, Projector, RedisDecisionsTarget } from '@lapi/read-models';
import { anAlert, openTestDatabase, openTestRedis } from '@lapi/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DecisionsWebhook, postWebhook } from './decisions-webhook';
import { verifyWebhook } from './webhook-payload';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const secret = 'w'.repeat(40);

describe('the signed decisions webhook', () => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let redis: ReturnType<typeof openTestRedis>;
  let server: Server;
  let url: string;
  const received: { delivery: string; body: string; valid: boolean }[] = [];
  let answer = 200;

  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    redis = openTestRedis();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const valid = verifyWebhook(secret, body, String(req.headers['x-lapi-signature']), Date.now() / 1000);
        received.push({ delivery: String(req.headers['x-lapi-delivery']), body, valid });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/lapi`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await redis.close();
    await db.dispose();
  });

  it('sends every change in order, signed, again until accepted, then only what is new', async () => {
    const store = new PostgresEventStore(db.handle.db);
    const target = new RedisDecisionsTarget(redis.redis, decisionKeys(`${redis.prefix}decisions:`));
    const projector = new Projector(store, target, new LocalLease('p'));
    const push = async (id: number) => {
      const event = receiveAlert(
        anAlert(),
        [{ duration: '1h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: `192.0.2.${id}` }],
        'm',
        { alertId: id, alertUuid: `a${id}`, decisionIds: [id], decisionUuids: [`d${id}`] },
        new Date(),
      );
      await store.appendToStream(`alert-${id}`, [event], { expectedVersion: 'no_stream', metadata });
    };
    const projected = async (seq: number) => {
      for (let i = 0; i < 500 && (await target.seq()) < seq; i++) {
        await projector.catchUp();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(await target.seq()).toBe(seq);
    };
    const keys = { cursor: `${redis.prefix}webhook:cursor`, status: `${redis.prefix}webhook:status` };
    const webhook = new DecisionsWebhook(redis.redis, target, keys, new LocalLease('w'), { url, secret }, postWebhook);
    const changes = (i: number) =>
      (JSON.parse(received[i].body) as { changes: { seq: number; action: string; decision: { value: string } }[] })
        .changes;

    await push(1);
    await push(2);
    await projected(2);
    answer = 503;
    await expect(webhook.step()).rejects.toThrow('the receiver answered 503');
    expect(await redis.redis.get(keys.cursor)).toBeNull(); // not accepted: not advanced
    expect(await redis.redis.hget(keys.status, 'failures')).toBe('1');

    answer = 200;
    expect(await webhook.step()).toEqual({ owner: true, delivered: 2 });
    expect(received).toHaveLength(2);
    expect(received.every((r) => r.valid)).toBe(true);
    expect(received[1].delivery).toBe('1-2');
    expect(changes(1).map((c) => [c.seq, c.action, c.decision.value])).toEqual([
      [1, 'added', '192.0.2.1'],
      [2, 'added', '192.0.2.2'],
    ]);
    expect(await webhook.step()).toEqual({ owner: true, delivered: 0 });

    await store.appendToStream(
      'decision-deletions',
      [{ type: 'DecisionsDeleted', data: { decisionIds: [1], at: new Date().toISOString() } }],
      { expectedVersion: 'any', metadata },
    );
    await projected(3);
    expect(await webhook.step()).toEqual({ owner: true, delivered: 1 });
    expect(changes(2).map((c) => [c.seq, c.action, c.decision.value])).toEqual([[3, 'deleted', '192.0.2.1']]);
    expect(await redis.redis.get(keys.cursor)).toBe('3');
  });

  it('does nothing without the lease', async () => {
    const target = new RedisDecisionsTarget(redis.redis, decisionKeys(`${redis.prefix}none:`));
    const taken = {
      id: 'x',
      acquire: () => Promise.resolve(false),
      release: () => Promise.resolve(),
      owner: () => Promise.resolve('someone else'),
    };
    const webhook = new DecisionsWebhook(redis.redis, target, { cursor: 'c', status: 's' }, taken, { url, secret });
    expect(await webhook.step()).toEqual({ owner: false, delivered: 0 });
  });
});
