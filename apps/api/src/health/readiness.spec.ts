import { START } from '@lapi/event-store';
import { judgeLag, Readiness, type ReadinessSources } from './readiness';

const never = () => new Promise<never>(() => undefined);

describe('Readiness', () => {
  const sources = (overrides: Partial<ReadinessSources>): ReadinessSources => ({
    ping: () => Promise.resolve(),
    lagAfter: () => Promise.resolve(0),
    ...overrides,
  });

  it('without a projection (embedded, or no Redis): ready while the database answers', async () => {
    expect(await new Readiness(sources({}), 1_000).check()).toEqual({ ready: true });
    const down = await new Readiness(sources({ ping: () => Promise.reject(new Error('ECONNREFUSED')) }), 1_000).check();
    expect(down).toEqual({ ready: false, message: 'the database is unreachable: ECONNREFUSED' });
  });

  it('measures the lag after the checkpoint the replica reached (the start when Redis holds none)', async () => {
    const asked: unknown[] = [];
    const checkpoint = { transactionId: 7n, position: 42n };
    const lagAfter = (c: unknown) => {
      asked.push(c);
      return Promise.resolve(500);
    };
    expect(
      await new Readiness(sources({ lagAfter, projection: () => Promise.resolve(checkpoint) }), 1_000).check(),
    ).toEqual({
      ready: true,
    });
    await new Readiness(sources({ lagAfter, projection: () => Promise.resolve(null) }), 1_000).check();
    expect(asked).toEqual([checkpoint, START]);
  });

  it('is unready past the bound, naming the lag', async () => {
    const lagging = sources({ lagAfter: () => Promise.resolve(61_500), projection: () => Promise.resolve(START) });
    expect(await new Readiness(lagging, 60_000).check()).toEqual({
      ready: false,
      message: 'the decisions projection is 61.5 s behind the event log (at most 60.0 s): is a worker running?',
    });
  });

  it('counts a dependency that does not answer in time as unreachable', async () => {
    const slowRedis = await new Readiness(sources({ projection: never }), 1_000, 20).check();
    expect(slowRedis).toEqual({ ready: false, message: 'Redis is unreachable: no answer within 20 ms' });
    const slowDb = await new Readiness(
      sources({ projection: () => Promise.resolve(START), lagAfter: never }),
      1_000,
      20,
    ).check();
    expect(slowDb).toEqual({ ready: false, message: 'the database is unreachable: no answer within 20 ms' });
  });

  it('judges the lag inclusively', () => {
    expect(judgeLag(1_000, 1_000)).toEqual({ ready: true });
    expect(judgeLag(1_001, 1_000).ready).toBe(false);
  });
});
