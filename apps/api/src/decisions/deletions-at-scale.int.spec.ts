import { pullStream, pushBans, type TestApi } from '../../test/api-harness';
import { DECISION_MODES, startApiIn } from '../../test/decision-modes';

const COUNT = 100_000;
const SCALE_TIMEOUT_MS = 240_000;

/** `n` distinct addresses from 10.0.0.0 up. */
const addresses = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => {
    const a = i + offset;
    return `10.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}`;
  });

// A bouncer that had 100k decisions gets all of them in `deleted` once they are deleted at once, with either
// deletion route. Embedded mode answered 500 here (one SQL OR term per deleted value: Kysely's stack overflowed).
describe.each(DECISION_MODES)('deleting 100k decisions at once (%s)', (mode) => {
  let api: TestApi;
  let agent: { authorization: string };
  let bouncer: Record<string, string>;
  const pull = (query = '') => pullStream(api, bouncer, query);
  const push = async (values: string[]) => {
    await pushBans(api, agent, values);
    await settled(values[values.length - 1], true);
  };

  // Cluster mode answers a write once its projection is applied or after the barrier's 2 s, whichever comes first:
  // 100k changes take longer, so the test waits until the last one is visible before the bouncer's next pull.
  const settled = async (lastValue: string, active: boolean) => {
    for (let i = 0; i < 600; i++) {
      const res = await api.inject({ method: 'GET', url: `/v1/decisions?ip=${lastValue}`, headers: bouncer });
      if (res.statusCode === 200 && (res.body === 'null') !== active) {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${lastValue} is not ${active ? 'active' : 'deleted'} yet`);
  };

  beforeAll(async () => {
    api = await startApiIn(mode);
    agent = await api.machine('agent');
    bouncer = await api.bouncer('fw');
  }, SCALE_TIMEOUT_MS);

  afterAll(() => api.close());

  it(
    "DELETE /v1/decisions (cscli decisions delete --all): every one in the next pull's deleted",
    async () => {
      await push(addresses(COUNT));
      expect((await pull('?startup=true')).new).toHaveLength(COUNT);
      const res = await api.inject({ method: 'DELETE', url: '/v1/decisions', headers: agent });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ nbDeleted: String(COUNT) });
      await settled(addresses(COUNT)[COUNT - 1], false);
      const after = await pull();
      expect(after.new).toBeNull();
      expect(after.deleted).toHaveLength(COUNT);
      expect(new Set(after.deleted!.map((d) => d.value)).size).toBe(COUNT);
      expect(await pull()).toEqual({ new: null, deleted: null });
    },
    SCALE_TIMEOUT_MS,
  );

  it(
    "DELETE /v1/alerts: every decision of the deleted alerts in the next pull's deleted",
    async () => {
      await push(addresses(COUNT, COUNT));
      expect((await pull()).new).toHaveLength(COUNT);
      const res = await api.inject({ method: 'DELETE', url: '/v1/alerts', headers: agent });
      expect(res.statusCode).toBe(200);
      await settled(addresses(COUNT, COUNT)[COUNT - 1], false);
      const after = await pull();
      expect(after.new).toBeNull();
      expect(after.deleted).toHaveLength(COUNT);
      expect(await pull()).toEqual({ new: null, deleted: null });
    },
    SCALE_TIMEOUT_MS,
  );
});
