import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { openDatabase, PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { anAlert, openTestDatabase } from '@lapi/testing';
import { sql } from 'kysely';
import { decisionExists, pullStream, type DecisionFilter, type StreamCursor } from './decision-queries';
import { alertsProjection } from './decisions.projection';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const all: DecisionFilter = { contains: true, includeSimulated: true };
let nextId = 1;

// Transactions overlapping in time need a server: this runs on Postgres only.
describe('the decision stream under concurrent transactions (postgres)', () => {
  let handle: DatabaseHandle;
  let other: DatabaseHandle;
  let dispose: () => Promise<void>;
  let store: PostgresEventStore;

  const ban = (ip: string) => {
    const id = nextId++;
    return receiveAlert(
      anAlert(),
      [{ duration: '1h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: ip }],
      'm',
      { alertId: id, alertUuid: `a${id}`, decisionIds: [id], decisionUuids: [`d${id}`] },
      new Date(),
    );
  };
  const add = (s: PostgresEventStore, ip: string) => {
    const event = ban(ip);
    return s.appendToStream(`alert-${event.data.alertId}`, [event], { expectedVersion: 'no_stream', metadata });
  };
  const pull = (cursor: StreamCursor | null) => pullStream(handle.db, all, { cursor, dedup: false, now: new Date() });

  beforeAll(async () => {
    const db = await openTestDatabase('postgres');
    handle = db.handle;
    dispose = db.dispose;
    other = await openDatabase({ kind: 'postgres', url: handle.url! });
    store = new PostgresEventStore(handle.db, [alertsProjection]);
  });
  afterAll(async () => {
    await other.close();
    await dispose();
  });

  it('is not held back by a transaction left open elsewhere on the server', async () => {
    const { next } = await pull(null);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const idle = other.db.transaction().execute(async (trx) => {
      await sql`select pg_current_xact_id()`.execute(trx); // takes a transaction id and keeps it
      opened();
      await held;
    });
    await open;
    try {
      await add(store, '192.0.2.1');
      const page = await pull(next);
      expect(page.new.map((d) => d.value)).toEqual(['192.0.2.1']);
    } finally {
      release();
      await idle;
    }
  });

  it('delivers a late commit once, at the first pull after it commits', async () => {
    const { next: start } = await pull(null);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const slow = new PostgresEventStore(other.db, [
      alertsProjection,
      {
        name: 'hold-open',
        eventTypes: ['AlertReceived'],
        apply: async () => {
          entered();
          await gate;
        },
      },
    ]);
    const slowAppend = add(slow, '192.0.2.2'); // takes its transaction id first
    await inside;
    let whileOpen;
    try {
      await add(store, '192.0.2.3'); // commits first
      whileOpen = await pull(start);
    } finally {
      release();
      await slowAppend;
    }
    expect(whileOpen.new.map((d) => d.value)).toEqual(['192.0.2.3']);
    const after = await pull(whileOpen.next);
    expect(after.new.map((d) => d.value)).toEqual(['192.0.2.2']);
    expect((await pull(after.next)).new).toEqual([]);
  });

  it('sends nothing again when an alert is deleted whose decisions had already ended, nor when deleted twice', async () => {
    const alertId = nextId++;
    const ids = [nextId++, nextId++, nextId++];
    const event = receiveAlert(
      anAlert(),
      ['-1h', '1h', '1h'].map((duration, i) => ({
        duration,
        origin: 'cscli',
        scenario: 's',
        scope: 'Ip',
        type: 'ban',
        value: `198.51.100.${i + 1}`,
      })),
      'm',
      { alertId, alertUuid: `a${alertId}`, decisionIds: ids, decisionUuids: ids.map((i) => `d${i}`) },
      new Date(),
    );
    await store.appendToStream(`alert-${alertId}`, [event], { expectedVersion: 'no_stream', metadata });
    const at = () => ({ at: new Date().toISOString() });
    await store.appendToStream(
      'decision-deletions',
      [{ type: 'DecisionsDeleted', data: { decisionIds: [ids[1]], ...at() } }],
      {
        expectedVersion: 'any',
        metadata,
      },
    );
    const { next } = await pull(null);
    const deleteAlert = () =>
      store.appendToStream('alert-deletions', [{ type: 'AlertsDeleted', data: { alertIds: [alertId], ...at() } }], {
        expectedVersion: 'any',
        metadata,
      });

    await deleteAlert();
    const page = await pull(next);
    expect({ new: page.new, deleted: page.deleted.map((d) => d.id) }).toEqual({ new: [], deleted: [ids[2]] });
    expect(await Promise.all(ids.map((id) => decisionExists(handle.db, id)))).toEqual([false, false, false]);

    await deleteAlert();
    const again = await pull(page.next);
    expect({ new: again.new, deleted: again.deleted }).toEqual({ new: [], deleted: [] });
  });
});
