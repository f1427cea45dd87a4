import { jsonInSlices, TextPieces } from './json-slices';
import { PGliteThread } from './pglite-thread';

describe('PGlite in a worker thread', () => {
  let pg: PGliteThread;

  beforeAll(async () => {
    pg = new PGliteThread(undefined);
    await pg.waitReady;
  });

  afterAll(() => pg.close());

  it('keeps a small buffer pool (PGlite never gives back the memory it fills)', async () => {
    const { rows } = await pg.query<{ shared_buffers: string }>('show shared_buffers', []);
    expect(rows).toEqual([{ shared_buffers: '16MB' }]);
  });

  it('answers with the values PGlite parses (dates, jsonb, arrays, nulls) and the affected row count', async () => {
    await pg.query('create table t (id int, at timestamptz, data jsonb, tags text[], note text)', []);
    const inserted = await pg.query('insert into t values ($1, $2, $3::jsonb, $4, $5), ($6, $2, $3::jsonb, $4, null)', [
      1,
      new Date('2026-01-02T03:04:05.000Z'),
      '{"a":[1,"x"]}',
      ['p', 'q'],
      'n',
      2,
    ]);
    expect(inserted.affectedRows).toBe(2);
    const { rows } = await pg.query<{ id: number; at: Date; data: unknown; tags: string[]; note: string | null }>(
      'select * from t order by id',
      [],
    );
    expect(rows).toEqual([
      { id: 1, at: new Date('2026-01-02T03:04:05.000Z'), data: { a: [1, 'x'] }, tags: ['p', 'q'], note: 'n' },
      { id: 2, at: new Date('2026-01-02T03:04:05.000Z'), data: { a: [1, 'x'] }, tags: ['p', 'q'], note: null },
    ]);
  });

  it('takes and gives back long texts and json (moved as bytes) as it does short ones', async () => {
    await pg.query('create table big (id int, doc jsonb, body text)', []);
    const doc = {
      decisions: Array.from({ length: 30_000 }, (_, i) => ({ value: `11.0.${i >> 8}.${i & 255}`, note: 'é✓😀\t"' })),
      nested: { small: [1, 2], 'key é': null },
    };
    const { pieces } = await jsonInSlices(doc);
    const body = `${'long text é✓😀 '.repeat(100_000)}end`;
    // The jsonb as pieces (an event's text) and as one string, plus a text longer than a MiB.
    await pg.query('insert into big values (1, cast($1 as text)::jsonb, $2), (2, cast($3 as text)::jsonb, $4)', [
      new TextPieces(pieces),
      body,
      pieces.join(''),
      'short',
    ]);
    expect(pieces.join('').length).toBeGreaterThan(1024 * 1024);
    const { rows } = await pg.query<{ id: number; doc: unknown; body: string; small: unknown }>(
      `select id, doc, body, '{"a":1}'::json as small from big order by id`,
      [],
    );
    expect(rows).toEqual([
      { id: 1, doc, body, small: { a: 1 } },
      { id: 2, doc, body: 'short', small: { a: 1 } },
    ]);
  });

  it("rejects a failed statement with PGlite's error fields, and keeps serving", async () => {
    await pg.query('create table u (id int primary key)', []);
    await pg.query('insert into u values (1)', []);
    await expect(pg.query('insert into u values (1)', [])).rejects.toMatchObject({
      message: expect.stringContaining('duplicate key') as unknown,
      code: '23505',
    });
    expect((await pg.query<{ n: number }>('select count(*)::int as n from u', [])).rows).toEqual([{ n: 1 }]);
  });

  it('runs statements in the order sent: a transaction sent as a sequence stays whole', async () => {
    await pg.query('create table v (n int)', []);
    const sent = [
      pg.query('begin', []),
      pg.query('insert into v values (1)', []),
      pg.query('insert into v values (2)', []),
      pg.query('rollback', []),
      pg.query('select count(*)::int as n from v', []),
    ];
    const results = await Promise.all(sent);
    expect(results[4].rows).toEqual([{ n: 0 }]);
  });
});

it('fails to open a data directory it cannot use, and ends its thread', async () => {
  const pg = new PGliteThread('/proc/lapi-cannot-create-this');
  await expect(pg.waitReady).rejects.toThrow();
  expect(pg.closed).toBe(true);
  await expect(pg.query('select 1', [])).rejects.toThrow();
});
