import { openDatabase, type DatabaseHandle } from '@lapi/event-store';
import { createScratchDatabase, TEST_BACKENDS } from '@lapi/testing';
import { sql } from 'kysely';
import { pullStream, pushBans, startTestApi, type TestApi } from '../../test/api-harness';

type Decision = { id: number; value: string };
type Row = { bouncer: string; snapshot: string; pulled_at: Date };

// Without Redis, bouncers read an index the API process projects from the log: rebuilt from the whole log at each
// start, numbered the same way, so a bouncer's position outlives a restart; and a poll with nothing new writes
// nothing.
describe.each(TEST_BACKENDS)('decisions index in the API process (%s)', (backend) => {
  let first: TestApi;
  let restarted: TestApi | undefined;
  let agent: Record<string, string>;
  let bouncer: Record<string, string>;
  let lastIdlePoll: Date;

  const pull = (api: TestApi, query = '') => pullStream(api, bouncer, query);
  const push = (api: TestApi, values: string[]) => pushBans(api, agent, values);
  const positions = async (api: TestApi) =>
    (await api.api.database.db.selectFrom('bouncer_cursors').selectAll().orderBy('bouncer').execute()) as Row[];
  const eventCount = async (api: TestApi) =>
    Number(
      (
        await api.api.database.db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    first = await startTestApi(backend);
    agent = await first.machine('agent');
    bouncer = await first.bouncer('fw');
  });

  afterAll(async () => {
    await restarted?.api.close();
    await first.close();
  });

  it('sees a write in the very next request', async () => {
    expect(await pull(first, '?startup=true')).toEqual({ new: null, deleted: null });
    await push(first, ['192.0.2.1', '192.0.2.2']);
    expect((await pull(first)).new!.map((d) => d.value)).toEqual(['192.0.2.1', '192.0.2.2']);
    const lookup = await first.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.2', headers: bouncer });
    expect(lookup.json<Decision[]>().map((d) => d.value)).toEqual(['192.0.2.2']);
  });

  it('writes nothing for polls with nothing new', async () => {
    // The bouncer's sighting was recorded by the first pull (at most one a minute): only the positions could move.
    // A position is saved once its answer is on the network, after inject returned: let the last one land.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = { rows: await positions(first), events: await eventCount(first) };
    for (let i = 0; i < 5; i++) {
      first.clock.advance(1_000);
      expect(await pull(first)).toEqual({ new: null, deleted: null });
    }
    expect(await positions(first)).toEqual(before.rows);
    expect(await eventCount(first)).toBe(before.events);
    lastIdlePoll = first.clock.now();
  });

  it('continues every bouncer from its position after a restart, without sending anything again', async () => {
    await push(first, ['192.0.2.3']);
    // Stopped (its database stays), then started again on the same database: the index is built from the log.
    await first.api.close();
    // The time of the last poll (that answered nothing) was written on the way out: the bouncer's last pull.
    expect((await positions(first))[0].pulled_at).toEqual(lastIdlePoll);
    restarted = await startTestApi(backend, {}, { api: first.api });
    await push(restarted, ['192.0.2.4']);
    expect(await pull(restarted)).toEqual({
      new: [expect.objectContaining({ value: '192.0.2.3' }), expect.objectContaining({ value: '192.0.2.4' })],
      deleted: null,
    });
    const deleted = await restarted.inject({ method: 'DELETE', url: '/v1/decisions?ip=192.0.2.1', headers: agent });
    expect(deleted.json()).toEqual({ nbDeleted: '1' });
    expect(await pull(restarted)).toEqual({
      new: null,
      deleted: [expect.objectContaining({ value: '192.0.2.1' })],
    });
  });
});

// The log is held back only by transactions that may append to it: one left open elsewhere on the server (another
// application's database here) delays no write of this one.
describe('decisions index in the API process, with a writing transaction open in another database', () => {
  let api: TestApi;
  let scratch: { url: string; drop(): Promise<void> };
  let elsewhere: DatabaseHandle;
  let release!: () => void;
  let open: Promise<void>;

  beforeAll(async () => {
    api = await startTestApi('postgres');
    scratch = await createScratchDatabase();
    elsewhere = await openDatabase({ kind: 'postgres', url: scratch.url });
    await sql`create table elsewhere (n int)`.execute(elsewhere.db);
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    open = elsewhere.db.transaction().execute(async (trx) => {
      await sql`insert into elsewhere values (1)`.execute(trx);
      entered();
      await gate;
    });
    await Promise.race([inside, open]);
  });

  afterAll(async () => {
    release();
    await open;
    await elsewhere.close();
    await scratch.drop();
    await api.close();
  });

  it("shows a decision to a bouncer's very next request", async () => {
    const agent = await api.machine('agent');
    const bouncer = await api.bouncer('fw');
    // Were the log held back, the write would answer when its wait for the index times out, on the test's clock:
    // moving that clock makes such a failure show as a missing decision rather than a hung test.
    const ticking = setInterval(() => api.clock.advance(1_000), 50);
    try {
      await pushBans(api, agent, ['192.0.2.9']);
    } finally {
      clearInterval(ticking);
    }
    const lookup = await api.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.9', headers: bouncer });
    expect((lookup.json<Decision[] | null>() ?? []).map((d) => d.value)).toEqual(['192.0.2.9']);
  });
});
