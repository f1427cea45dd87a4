import { openTestRedis } from '@lapi/testing';
import type Redis from 'ioredis';
import { RedisLease } from './lease';

const TTL = 5_000;

// Leases held by processes with their own Redis connections: a killed holder's connection closes at once.
describe('RedisLease', () => {
  let redis: ReturnType<typeof openTestRedis>;
  const connections: Redis[] = [];
  const holder = (id: string) => {
    const connection = redis.redis.duplicate();
    connections.push(connection);
    return { connection, lease: new RedisLease(connection, `${redis.prefix}lease`, id, TTL) };
  };
  /** Calls acquire as the projection runner does (every 20 ms) until it holds the lease or `ms` passed. */
  const acquireWithin = async (lease: RedisLease, ms: number) => {
    for (const deadline = Date.now() + ms; Date.now() < deadline;) {
      if (await lease.acquire()) {
        return true;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  };

  beforeEach(() => {
    redis = openTestRedis();
  });
  afterEach(async () => {
    connections.splice(0).forEach((c) => c.disconnect());
    await redis.close();
  });

  it('is taken over at once when its holder is killed (its Redis connection closed), not after the ttl', async () => {
    const a = holder('a');
    const b = holder('b');
    expect(await a.lease.acquire()).toBe(true);
    expect(await acquireWithin(b.lease, 500)).toBe(false); // a is alive: b waits
    a.connection.disconnect();
    const started = Date.now();
    expect(await acquireWithin(b.lease, TTL)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await b.lease.owner()).toBe('b');
  });

  it('stays with a live holder that renews it, and is free again once released', async () => {
    const a = holder('a');
    const b = holder('b');
    expect(await a.lease.acquire()).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(await a.lease.acquire()).toBe(true);
      expect(await b.lease.acquire()).toBe(false);
      await new Promise((r) => setTimeout(r, 250));
    }
    await a.lease.release();
    expect(await redis.redis.exists(`${redis.prefix}lease`, `${redis.prefix}lease:conn`)).toBe(0);
    expect(await b.lease.acquire()).toBe(true);
    expect(await a.lease.acquire()).toBe(false);
  });
});
