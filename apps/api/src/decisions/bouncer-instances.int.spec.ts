import { instanceStreamKey, MAX_NEW_INSTANCES_PER_WINDOW, type Bouncer } from '@lapi/domain';
import { PostgresEventStore } from '@lapi/event-store';
import { decisionKeys, LocalLease, Projector, RedisDecisionsTarget, redisKeys } from '@lapi/read-models';
import { openTestRedis, TEST_BACKENDS } from '@lapi/testing';
import { cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';
import { BouncerSightings } from '../auth/bouncer-sightings';

type Decision = { id: number; value: string };
type Stream = { new: Decision[] | null; deleted: Decision[] | null };

/** A process of a bouncer: its address (and instance id), the replica it reaches, and what it was told. */
interface Process {
  readonly ip: string;
  readonly id?: string;
  readonly api: TestApi;
  readonly added: number[];
  readonly deleted: number[];
}

/**
 * Several processes share one key, each pulling in turn while decisions come and go; each must be told every
 * decision once in `new` and every deletion once in `deleted` — its own position, whoever else pulls.
 */
async function sharedKeyScenario(apis: TestApi[]) {
  const writer = apis[0];
  const agent = await writer.machine(`agent-${Math.random().toString(36).slice(2, 8)}`);
  const key = await writer.bouncer(`ingress-${Math.random().toString(36).slice(2, 8)}`);
  const lookup = await writer.bouncer(`lookup-${Math.random().toString(36).slice(2, 8)}`);
  const processes: Process[] = [
    { ip: '10.0.0.1', api: apis[0], added: [], deleted: [] },
    { ip: '10.0.0.2', api: apis[apis.length - 1], added: [], deleted: [] },
    // Two more behind one address (NAT), told apart by the instance id they send.
    { ip: '10.0.0.3', id: 'pod-a', api: apis[0], added: [], deleted: [] },
    { ip: '10.0.0.3', id: 'pod-b', api: apis[apis.length - 1], added: [], deleted: [] },
  ];
  const pull = async (p: Process, startup = false) => {
    const res = await p.api.inject({
      method: 'GET',
      url: `/v1/decisions/stream${startup ? '?startup=true' : ''}`,
      headers: { ...key, ...(p.id ? { 'x-lapi-instance-id': p.id } : {}) },
      remoteAddress: p.ip,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<Stream>();
    p.added.push(...(body.new ?? []).map((d) => d.id));
    p.deleted.push(...(body.deleted ?? []).map((d) => d.id));
  };
  for (const p of processes) {
    await pull(p, true);
  }
  const added: number[] = [];
  const deleted: number[] = [];
  for (let round = 0; round < 6; round++) {
    const res = await writer.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: agent,
      payload: [cscliAlert([{ value: `198.51.100.${round + 1}` }], { stopAt: writer.clock.now() })],
    });
    expect(res.statusCode).toBe(201);
    const decisions = (
      await writer.inject({ method: 'GET', url: `/v1/decisions?ip=198.51.100.${round + 1}`, headers: lookup })
    ).json<Decision[]>();
    added.push(decisions[0].id);
    // Processes pull in a different order each round, some twice, so positions cross.
    for (const p of round % 2 ? [...processes].reverse() : processes) {
      await pull(p);
    }
    await pull(processes[round % processes.length]);
    if (round % 3 === 2) {
      const del = await writer.inject({
        method: 'DELETE',
        url: `/v1/decisions?ip=198.51.100.${round}`,
        headers: agent,
      });
      expect(del.json()).toEqual({ nbDeleted: '1' });
      deleted.push(added[round - 1]);
    }
  }
  for (const p of processes) {
    await pull(p);
  }
  return { processes, added, deleted, key };
}

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

describe.each(TEST_BACKENDS)('bouncer instances sharing a key (embedded read model, %s)', (backend) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(backend);
  }, 180_000); // PGlite's start is slow on a loaded machine
  afterAll(() => api.close());

  it('gives each process its own position: every decision once, every deletion once', async () => {
    const { processes, added, deleted } = await sharedKeyScenario([api]);
    for (const p of processes) {
      // Decisions deleted before this process heard of them never reach `new`; none is told twice.
      expect(new Set(p.added).size).toBe(p.added.length);
      expect(sorted(p.added)).toEqual(sorted(added));
      expect(sorted(p.deleted)).toEqual(sorted(deleted));
    }
  });

  it('lists the instances: the first address is the bouncer, the others name@ip or name@id', async () => {
    const { key } = await sharedKeyScenario([api]);
    const bouncers = (await api.admin({ op: 'bouncers.list' })) as Bouncer[];
    const bouncer = bouncers.find((b) => key['x-api-key'] && b.instances.length > 0 && b.ipAddress === '10.0.0.1')!;
    expect(bouncer.instances.map((i) => i.name).sort()).toEqual(
      [`${bouncer.name}@10.0.0.2`, `${bouncer.name}@pod-a`, `${bouncer.name}@pod-b`].sort(),
    );
    expect(bouncer.instances.find((i) => i.name.endsWith('@pod-a'))).toMatchObject({
      ipAddress: '10.0.0.3',
      type: 'crowdsec-firewall-bouncer',
      version: 'v0.0.25',
    });
    const keys = bouncer.instances.map((i) => instanceStreamKey(bouncer.name, i.name));
    const times = (await api.admin({ op: 'bouncers.positions', keys })) as Record<string, string>;
    expect(Object.keys(times).sort()).toEqual(keys.sort());
  });

  it('records at most MAX_NEW_INSTANCES_PER_WINDOW new instances a minute, and answers every request', async () => {
    const key = await api.bouncer('id-per-request');
    for (let i = 0; i < 1_000; i++) {
      const res = await api.inject({
        method: 'GET',
        url: '/v1/decisions?ip=192.0.2.1',
        headers: { ...key, 'x-lapi-instance-id': `fresh-${i}` },
        remoteAddress: '10.0.0.9',
      });
      expect(res.statusCode).toBe(200);
    }
    await api.api.app.get(BouncerSightings).settled(); // recorded in the background
    const seen = await api.api.database.db
      .selectFrom('events')
      .select('data')
      .where('type', '=', 'BouncerInstanceSeen')
      .execute();
    const mine = seen.filter(
      (r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data).name === 'id-per-request',
    );
    expect(mine).toHaveLength(MAX_NEW_INSTANCES_PER_WINDOW);
    // An instance past the limit still pulls the whole list from its own position.
    const push = await api.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: await api.machine('instances-agent'),
      payload: [cscliAlert([{ value: '192.0.2.77' }], { stopAt: api.clock.now() })],
    });
    expect(push.statusCode).toBe(201);
    const pull = () =>
      api.inject({
        method: 'GET',
        url: '/v1/decisions/stream',
        headers: { ...key, 'x-lapi-instance-id': 'late-pod' },
        remoteAddress: '10.0.0.9',
      });
    const first = await pull();
    expect(first.statusCode).toBe(200);
    expect(first.json<Stream>().new?.map((d) => d.value)).toContain('192.0.2.77');
    expect((await pull()).json<Stream>().new).toBeNull();
  }, 300_000);

  it('refuses a malformed instance id with 400', async () => {
    const key = await api.bouncer('bad-id');
    const res = await api.inject({
      method: 'GET',
      url: '/v1/decisions/stream?startup=true',
      headers: { ...key, 'x-lapi-instance-id': 'no spaces/allowed' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/^invalid x-lapi-instance-id header/);
  });
});

// Two API replicas in cluster mode over one database and one Redis, and the projector a worker would run.
describe('bouncer instances sharing a key across replicas (cluster)', () => {
  let redis: ReturnType<typeof openTestRedis>;
  let a: TestApi;
  let b: TestApi;
  let running = true;
  let loop: Promise<void>;

  beforeAll(async () => {
    redis = openTestRedis();
    const env = { REDIS_URL: process.env.TEST_REDIS_URL!, LAPI_REDIS_PREFIX: redis.prefix };
    a = await startTestApi('postgres', env);
    b = await startTestApi('postgres', env, a);
    const projector = new Projector(
      new PostgresEventStore(a.api.database.db),
      new RedisDecisionsTarget(redis.redis, decisionKeys(redisKeys(redis.prefix).decisions)),
      new LocalLease('test-worker'),
    );
    loop = (async () => {
      while (running) {
        if ((await projector.step()).applied === 0) {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
  }, 180_000);

  afterAll(async () => {
    running = false;
    await loop;
    await b.close();
    await a.close();
    await redis.close();
  });

  it('gives each process its own position in Redis, whichever replica it reaches', async () => {
    const { processes, added, deleted } = await sharedKeyScenario([a, b]);
    for (const p of processes) {
      expect(new Set(p.added).size).toBe(p.added.length);
      expect(sorted(p.added)).toEqual(sorted(added));
      expect(sorted(p.deleted)).toEqual(sorted(deleted));
    }
    const bouncer = ((await a.admin({ op: 'bouncers.list' })) as Bouncer[]).find((x) => x.instances.length === 3)!;
    const cursors = await redis.redis.hkeys(redisKeys(redis.prefix).streamCursors);
    expect(cursors).toEqual(
      expect.arrayContaining([bouncer.name, ...bouncer.instances.map((i) => instanceStreamKey(bouncer.name, i.name))]),
    );
  });
});
