import { gunzipSync } from 'node:zlib';
import { cscliAlert, type TestApi } from '../../test/api-harness';
import { DECISION_MODES, startApiIn } from '../../test/decision-modes';

type Decision = {
  id: number;
  value: string;
  scope: string;
  type: string;
  duration: string;
  origin: string;
  scenario: string;
};
type Stream = { new: Decision[] | null; deleted: Decision[] | null };
const MIN = 60_000;

// What bouncers see, the contract of every decision reader: run against each mode's (embedded and PostgreSQL alone
// read the in-memory index projected in-process; cluster mode reads the replica of the Redis read model).
describe.each(DECISION_MODES)('decisions for bouncers (%s)', (mode) => {
  let t: TestApi;
  let agent: Record<string, string>;
  const push = async (alerts: unknown[]) => {
    const res = await t.inject({ method: 'POST', url: '/v1/alerts', headers: agent, payload: alerts as object[] });
    expect(res.statusCode).toBe(201);
    return res.json<string[]>();
  };
  const get = async (url: string, headers: Record<string, string>) => {
    const res = await t.inject({ method: 'GET', url, headers });
    expect(res.statusCode).toBe(200);
    return res.json<unknown>();
  };
  const values = (list: Decision[] | null) => (list ?? []).map((d) => d.value).sort();

  beforeAll(async () => {
    t = await startApiIn(mode);
    agent = await t.machine('cscli-machine');
  });
  afterAll(() => t.close());

  describe('GET /v1/decisions', () => {
    let key: Record<string, string>;
    beforeAll(async () => {
      key = await t.bouncer('live');
      const now = t.clock.now();
      await push([
        cscliAlert(
          [
            { value: '192.0.2.7' },
            { value: '203.0.113.0/24', scope: 'range' },
            { value: '2001:db8::1', type: 'captcha' },
            { value: 'bob', scope: 'Username', scenario: 'crowdsecurity/http-bf' },
            { value: '198.51.100.1', origin: 'CAPI', scenario: 'crowdsecurity/ssh-bf' },
          ],
          { stopAt: now },
        ),
        cscliAlert([{ value: '192.0.2.99' }], { stopAt: now, simulated: true }),
      ]);
    });

    it.each([
      ['/v1/decisions?ip=192.0.2.7', ['192.0.2.7']],
      ['/v1/decisions?ip=203.0.113.5', ['203.0.113.0/24']],
      ['/v1/decisions?range=203.0.113.0/25', ['203.0.113.0/24']],
      ['/v1/decisions?range=203.0.0.0/16&contains=false', ['203.0.113.0/24']],
      ['/v1/decisions?range=203.0.0.0/16', []],
      ['/v1/decisions?ip=2001:db8::1', ['2001:db8::1']],
      ['/v1/decisions?ip=::ffff:192.0.2.7', ['192.0.2.7']],
      ['/v1/decisions?scopes=username&value=bob', []],
      ['/v1/decisions?scopes=Username&value=bob', ['bob']],
      ['/v1/decisions?scopes=ip,range', ['192.0.2.7', '198.51.100.1', '2001:db8::1', '203.0.113.0/24']],
      ['/v1/decisions?type=captcha', ['2001:db8::1']],
      ['/v1/decisions?origins=CAPI,lists', ['198.51.100.1']],
      ['/v1/decisions?scenarios_containing=SSH,http', ['198.51.100.1', 'bob']],
      ['/v1/decisions?scenarios_not_containing=ssh,manual', ['bob']],
      ['/v1/decisions?ip=192.0.2.99', []],
      ['/v1/decisions?ip=192.0.2.99&simulated=true', ['192.0.2.99']],
      ['/v1/decisions?ip=10.9.9.9', []],
    ])('%s → %j', async (url, expected) => {
      const body = (await get(url, key)) as Decision[] | null;
      if (expected.length === 0) {
        expect(body).toBeNull();
      } else {
        expect(values(body)).toEqual(expected);
      }
    });

    it('answers every field bouncers read, with the time left as a Go duration', async () => {
      const [id] = await push([cscliAlert([{ value: '192.0.2.50', duration: '4h' }], { stopAt: t.clock.now() })]);
      expect(id).toMatch(/^\d+$/);
      t.clock.advance(1500);
      const [d] = (await get('/v1/decisions?ip=192.0.2.50', key)) as Decision[];
      expect(d).toEqual({
        duration: '3h59m58.5s',
        id: expect.any(Number),
        origin: 'cscli',
        scenario: 'manual ban',
        scope: 'Ip',
        type: 'ban',
        value: '192.0.2.50',
        uuid: expect.any(String),
      });
    });

    it('counts until from the alert stop_at, so an old alert gives an expired decision', async () => {
      await push([
        cscliAlert([{ value: '192.0.2.60', duration: '1h' }], {
          stopAt: new Date(t.clock.now().getTime() - 2 * 3600_000),
        }),
      ]);
      expect(await get('/v1/decisions?ip=192.0.2.60', key)).toBeNull();
    });

    it('refuses a bad IP with 400 and the reference text', async () => {
      const res = await t.inject({ method: 'GET', url: '/v1/decisions?ip=notanip', headers: key });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        message: "unable to convert 'notanip' to int: invalid address: invalid ip address / range",
      });
      const contains = await t.inject({ method: 'GET', url: '/v1/decisions?ip=1.2.3.4&contains=maybe', headers: key });
      expect(contains.statusCode).toBe(400);
    });
  });

  describe('GET /v1/decisions/stream', () => {
    let fw: Record<string, string>;
    const stream = async (query = '', headers = fw) => (await get(`/v1/decisions/stream${query}`, headers)) as Stream;

    beforeAll(async () => {
      fw = await t.bouncer('fw');
    });

    it('starts with every active decision of the default scopes, then sends each change once', async () => {
      const first = await stream('?startup=true');
      expect(values(first.new)).toEqual(expect.arrayContaining(['192.0.2.7', '203.0.113.0/24']));
      expect(values(first.new)).not.toContain('bob'); // scope Username is outside ip,range
      expect(values(first.deleted)).toContain('192.0.2.60'); // expired ones are all listed at startup

      expect(await stream()).toEqual({ new: null, deleted: null });

      await push([cscliAlert([{ value: '192.0.2.70', duration: '10m' }], { stopAt: t.clock.now() })]);
      expect(values((await stream()).new)).toEqual(['192.0.2.70']);
      expect(await stream()).toEqual({ new: null, deleted: null });

      const del = await t.inject({ method: 'DELETE', url: '/v1/decisions?ip=192.0.2.70', headers: agent });
      expect(del.json()).toEqual({ nbDeleted: '1' });
      const afterDelete = await stream();
      expect(afterDelete.new).toBeNull();
      expect(values(afterDelete.deleted)).toEqual(['192.0.2.70']);
      expect(afterDelete.deleted![0].duration).toMatch(/^-|^0s$/);
      expect(await stream()).toEqual({ new: null, deleted: null });
    });

    it('reports an expiry at the first pull after it, with no worker running', async () => {
      await stream();
      await push([cscliAlert([{ value: '192.0.2.80', duration: '5m' }], { stopAt: t.clock.now() })]);
      expect(values((await stream()).new)).toEqual(['192.0.2.80']);
      t.clock.advance(6 * MIN);
      const after = await stream();
      expect(values(after.deleted)).toEqual(['192.0.2.80']);
      expect(after.new).toBeNull();
      expect(await stream()).toEqual({ new: null, deleted: null });
    });

    it('never sends a decision created already expired in a delta', async () => {
      await stream();
      await push([cscliAlert([{ value: '192.0.2.81', duration: '-1h' }], { stopAt: t.clock.now() })]);
      expect((await stream()).new).toBeNull();
    });

    it('sends only the longest decision per value, type and scope, unless dedup=false', async () => {
      const dedup = await t.bouncer('dedup');
      await push([
        cscliAlert([{ value: '192.0.2.90', duration: '4h' }], { stopAt: t.clock.now() }),
        cscliAlert([{ value: '192.0.2.90', duration: '5h' }], { stopAt: t.clock.now() }),
      ]);
      const withDedup = (await stream('?startup=true', dedup)).new!.filter((d) => d.value === '192.0.2.90');
      expect(withDedup.map((d) => d.duration)).toEqual([expect.stringMatching(/^(4h59m|5h0m0s)/)]);
      const all = (await stream('?startup=true&dedup=false', dedup)).new!.filter((d) => d.value === '192.0.2.90');
      expect(all).toHaveLength(2);
    });

    it('re-sends the shorter decision when the longest one is deleted early (the reference leaves the long ban)', async () => {
      const b = await t.bouncer('resend');
      await push([
        cscliAlert([{ value: '192.0.2.95', duration: '4h' }], { stopAt: t.clock.now() }),
        cscliAlert([{ value: '192.0.2.95', duration: '5h' }], { stopAt: t.clock.now() }),
      ]);
      const start = (await stream('?startup=true', b)).new!.filter((d) => d.value === '192.0.2.95');
      expect(start.map((d) => d.duration)).toEqual([expect.stringMatching(/^(4h59m|5h0m0s)/)]);
      const del = await t.inject({ method: 'DELETE', url: `/v1/decisions/${start[0].id}`, headers: agent });
      expect(del.statusCode).toBe(200);
      const next = await stream('', b);
      expect(next.new!.map((d) => [d.value, d.duration])).toEqual([
        ['192.0.2.95', expect.stringMatching(/^(3h59m|4h0m0s)/)],
      ]);
      expect(await stream('', b)).toEqual({ new: null, deleted: null });
    });

    it('filters by scopes, origins and scenarios; an empty scopes= matches nothing', async () => {
      const f = await t.bouncer('filtered');
      expect(values((await stream('?startup=true&scopes=username', f)).new)).toEqual([]);
      expect(values((await stream('?startup=true&scopes=Username', f)).new)).toEqual(['bob']);
      expect(values((await stream('?startup=true&origins=CAPI', f)).new)).toEqual(['198.51.100.1']);
      expect((await stream('?startup=true&scopes=', f)).new).toBeNull();
    });

    it('answers HEAD without moving the cursor', async () => {
      const h = await t.bouncer('head');
      await stream('?startup=true', h);
      await push([cscliAlert([{ value: '192.0.2.91' }], { stopAt: t.clock.now() })]);
      const head = await t.inject({ method: 'HEAD', url: '/v1/decisions/stream', headers: h });
      expect(head.statusCode).toBe(200);
      expect(head.body).toBe('');
      expect(values((await stream('', h)).new)).toEqual(['192.0.2.91']);
    });

    it('gives startup pulls made together one body, gzip alike, and a fresh one after any change or expiry', async () => {
      const keys = await Promise.all(['herd-1', 'herd-2', 'herd-3', 'herd-4'].map((name) => t.bouncer(name)));
      await push([cscliAlert([{ value: '192.0.2.110', duration: '2m' }], { stopAt: t.clock.now() })]);
      const pull = (headers: Record<string, string>) =>
        t.inject({ method: 'GET', url: '/v1/decisions/stream?startup=true', headers });
      const together = await Promise.all(keys.map(pull));
      const [body] = together.map((r) => r.body);
      expect(together.map((r) => [r.statusCode, r.body, r.headers['content-length']])).toEqual(
        keys.map(() => [200, body, String(Buffer.byteLength(body))]),
      );
      const zipped = await pull({ ...keys[0], 'accept-encoding': 'gzip' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(zipped.rawPayload).toString()).toBe(body);
      expect(values((JSON.parse(body) as Stream).new)).toContain('192.0.2.110');

      // A change: the next startup pull is rendered again and has it.
      await push([cscliAlert([{ value: '192.0.2.111' }], { stopAt: t.clock.now() })]);
      const changed = (await pull(keys[1])).json<Stream>();
      expect(values(changed.new)).toEqual(expect.arrayContaining(['192.0.2.110', '192.0.2.111']));
      // An expiry, with nothing else changed: it moves from new to deleted.
      t.clock.advance(3 * MIN);
      const expired = (await pull(keys[2])).json<Stream>();
      expect(values(expired.new)).not.toContain('192.0.2.110');
      expect(values(expired.deleted)).toContain('192.0.2.110');
      // Every later delta of those bouncers starts from their own startup: nothing is sent twice.
      expect((await stream('', keys[2])).new).toBeNull();
    });

    it('reports the decisions of deleted alerts in deleted (the reference forgets them)', async () => {
      const a = await t.bouncer('alerts-gone');
      const [alertId] = await push([cscliAlert([{ value: '192.0.2.92' }], { stopAt: t.clock.now() })]);
      expect(values((await stream('?startup=true', a)).new)).toContain('192.0.2.92');
      const del = await t.inject({ method: 'DELETE', url: `/v1/alerts/${alertId}`, headers: agent });
      expect(del.json()).toEqual({ nbDeleted: '1' });
      expect(values((await stream('', a)).deleted)).toEqual(['192.0.2.92']);
      expect(await get('/v1/decisions?ip=192.0.2.92', a)).toBeNull();
    });
  });

  describe('DELETE /v1/decisions', () => {
    it('refuses unknown parameters, scope included, like the reference', async () => {
      const res = await t.inject({ method: 'DELETE', url: '/v1/decisions?scope=Ip', headers: agent });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ message: "'scope' doesn't exist: invalid filter" });
    });

    // Found by the route fuzzer (routes.fuzz.int.spec.ts): a NUL reached Postgres (500), a bad escape got
    // Fastify's own error shape.
    it('refuses a NUL in a filter and a bad %-escape in the path with 400 and a message, after authentication', async () => {
      const nul = await t.inject({ method: 'DELETE', url: '/v1/decisions?origin=a%00b', headers: agent });
      expect(nul.statusCode).toBe(400);
      expect(nul.json()).toEqual({ message: 'query parameters must not contain NUL characters' });
      expect((await t.inject({ method: 'DELETE', url: '/v1/decisions?origin=a%00b' })).statusCode).toBe(401);
      const escape = await t.inject({ method: 'DELETE', url: '/v1/decisions/%ZZ', headers: agent });
      expect(escape.statusCode).toBe(400);
      expect(escape.json()).toEqual({ message: "'/v1/decisions/%ZZ' is not a valid url component" });
    });

    it('deletes by id, and answers 404/400 for unknown and malformed ids', async () => {
      await push([cscliAlert([{ value: '192.0.2.93' }], { stopAt: t.clock.now() })]);
      const [d] = (await get('/v1/decisions?ip=192.0.2.93', await t.bouncer('by-id'))) as Decision[];
      expect((await t.inject({ method: 'DELETE', url: `/v1/decisions/${d.id}`, headers: agent })).json()).toEqual({
        nbDeleted: '1',
      });
      const unknown = await t.inject({ method: 'DELETE', url: '/v1/decisions/999999', headers: agent });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toEqual({ message: "decision with id '999999' doesn't exist: unable to delete" });
      const bad = await t.inject({ method: 'DELETE', url: '/v1/decisions/abc', headers: agent });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toEqual({ message: 'decision_id must be valid integer' });
    });

    it('deletes by type and value, and everything with no filter', async () => {
      await push([cscliAlert([{ value: 'carol', scope: 'Username', type: 'captcha' }], { stopAt: t.clock.now() })]);
      expect(
        (await t.inject({ method: 'DELETE', url: '/v1/decisions?type=captcha&value=carol', headers: agent })).json(),
      ).toEqual({
        nbDeleted: '1',
      });
      const all = await t.inject({ method: 'DELETE', url: '/v1/decisions', headers: agent });
      expect(Number(all.json<{ nbDeleted: string }>().nbDeleted)).toBeGreaterThan(3);
      expect(await get('/v1/decisions', await t.bouncer('after-all'))).toBeNull();
    });
  });
});
