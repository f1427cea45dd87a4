import { receiveAlert, type DomainEvent, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { findActiveDecisions, pullStream, sqlLookupTimesWriter, type DecisionFilter } from '@lapi/read-models';
import { anAlert, openTestDatabase, TEST_BACKENDS } from '@lapi/testing';
import { inlineBarrier } from '../decisions/decision-reader';
import { LocalCredentialChanges } from '../shared/credential-changes';
import { inlineProjections } from '../shared/inline-projections';
import { autodeleteClients, FLUSH_BATCH, flushAlerts, type RetentionDeps } from './retention';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const now = new Date();
const ago = (ms: number) => new Date(now.getTime() - ms);
const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: now.toISOString() };
const everything: DecisionFilter = { contains: true, includeSimulated: true };

/** An alert created `age` ago, with one ban per duration (counted from its creation, so `1h` is long expired). */
const alertEvent = (id: number, age: number, durations: string[] = []) => {
  const createdAt = ago(age);
  return receiveAlert(
    anAlert({ stopAt: createdAt.toISOString(), startAt: createdAt.toISOString() }),
    durations.map((duration, i) => ({
      duration,
      origin: 'cscli',
      scenario: 's',
      scope: 'Ip',
      type: 'ban',
      value: `192.0.2.${(id * 10 + i) % 250}`,
    })),
    id % 2 === 0 ? 'agent-even' : 'agent-odd',
    {
      alertId: id,
      alertUuid: `a${id}`,
      decisionIds: durations.map((_, i) => id * 10 + i),
      decisionUuids: durations.map((_, i) => `d${id}-${i}`),
    },
    createdAt,
  );
};

describe.each(TEST_BACKENDS)('retention on %s', (backend) => {
  let db: { handle: DatabaseHandle; dispose(): Promise<void> };
  let store: PostgresEventStore;
  let deps: RetentionDeps;

  beforeEach(async () => {
    db = await openTestDatabase(backend);
    store = new PostgresEventStore(db.handle.db, inlineProjections);
    deps = { database: db.handle, store, barrier: inlineBarrier, credentials: new LocalCredentialChanges() };
  });
  afterEach(() => db.dispose());

  const push = (...events: ReturnType<typeof alertEvent>[]) =>
    store.appendToStreams(
      events.map((e) => ({ streamId: `alert-${e.data.alertId}`, events: [e], expectedVersion: 'no_stream' as const })),
      { metadata },
    );
  const alertIds = async () =>
    (await db.handle.db.selectFrom('alerts').select('id').orderBy('id').execute()).map((r) => Number(r.id));
  const recorded = async (type: string) =>
    (
      await db.handle.db
        .selectFrom('events')
        .select(['data', 'metadata'])
        .where('type', '=', type)
        .orderBy('global_position')
        .execute()
    ).map((r) => ({
      data: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
      metadata: (typeof r.metadata === 'string' ? JSON.parse(r.metadata) : r.metadata) as EventMetadata,
    }));

  it('flushes alerts past max_age, keeping those that own an active decision', async () => {
    await push(
      alertEvent(1, 8 * DAY), // old, no decision
      alertEvent(2, 8 * DAY, ['1h']), // old, its ban long expired
      alertEvent(3, 8 * DAY, ['1h', '216h']), // old, one ban still active for a day
      alertEvent(4, 6 * DAY), // young
    );

    expect(await flushAlerts(deps, { maxAgeMs: 7 * DAY }, now)).toEqual({ byAge: 2, byCount: 0, completed: true });

    expect(await alertIds()).toEqual([3, 4]);
    const deletions = await recorded('AlertsDeleted');
    expect(deletions.map((d) => d.data.alertIds)).toEqual([[1, 2]]);
    expect(deletions[0].metadata.actor).toEqual({ kind: 'system', id: 'retention' });
    expect(await flushAlerts(deps, { maxAgeMs: 7 * DAY }, now)).toEqual({ byAge: 0, byCount: 0, completed: true });
  });

  it('keeps the max_items newest alerts and every alert owning an active decision', async () => {
    await push(
      alertEvent(1, 5 * HOUR),
      alertEvent(2, 4 * HOUR, ['24h']), // active: kept though over the count
      alertEvent(3, 3 * HOUR, ['1h']), // expired
      alertEvent(5, 2 * HOUR),
      alertEvent(8, HOUR),
    );

    expect(await flushAlerts(deps, { maxItems: 2 }, now)).toEqual({ byAge: 0, byCount: 2, completed: true });

    expect(await alertIds()).toEqual([2, 5, 8]);
    // Under the limit: nothing to do.
    expect(await flushAlerts(deps, { maxItems: 3 }, now)).toMatchObject({ byCount: 0 });
  });

  it('applies max_age first, then ranks what is left by count', async () => {
    await push(alertEvent(1, 9 * DAY), alertEvent(2, 8 * DAY), alertEvent(3, HOUR), alertEvent(4, HOUR));

    expect(await flushAlerts(deps, { maxAgeMs: 7 * DAY, maxItems: 1 }, now)).toEqual({
      byAge: 2,
      byCount: 1,
      completed: true,
    });
    expect(await alertIds()).toEqual([4]);
  });

  it('deletes in events of at most a thousand alerts', async () => {
    const count = 2 * FLUSH_BATCH + 500;
    const events = Array.from({ length: count }, (_, i) => alertEvent(i + 1, 8 * DAY + (count - i) * 1000));
    for (let i = 0; i < events.length; i += 500) {
      await push(...events.slice(i, i + 500));
    }

    expect(await flushAlerts(deps, { maxAgeMs: 7 * DAY }, now)).toMatchObject({ byAge: count });

    const sizes = (await recorded('AlertsDeleted')).map((d) => (d.data.alertIds as number[]).length);
    expect(sizes).toEqual([FLUSH_BATCH, FLUSH_BATCH, 500]);
    expect(await alertIds()).toEqual([]);
  });

  it('takes flushed alerts out of what bouncers see, and their expired decisions do not come back', async () => {
    await push(
      alertEvent(1, 8 * DAY, ['1h']), // flushed: its expired ban
      alertEvent(2, 8 * DAY, ['216h']), // kept: active ban
      alertEvent(3, 8 * DAY, ['2h', '3h']), // flushed: two expired bans
    );
    const first = await pullStream(db.handle.db, everything, { cursor: null, dedup: false, now });
    expect(first.new.map((d) => d.id)).toEqual([20]);

    await flushAlerts(deps, { maxAgeMs: 7 * DAY }, now);

    const delta = await pullStream(db.handle.db, everything, { cursor: first.next, dedup: false, now });
    expect(delta.new).toEqual([]);
    const startup = await pullStream(db.handle.db, everything, { cursor: null, dedup: false, now });
    expect(startup.new.map((d) => d.id)).toEqual([20]);
    expect((await findActiveDecisions(db.handle.db, everything, now)).map((d) => d.id)).toEqual([20]);
  });

  describe('autodelete', () => {
    const at = (ms: number) => ago(ms).toISOString();
    const machine = async (machineId: string, over: { authType?: 'password' | 'tls'; ip?: string; seen?: number }) => {
      const events: DomainEvent[] = [
        {
          type: 'MachineRegistered',
          data: {
            machineId,
            passwordHash: 'x',
            ipAddress: over.ip ?? '10.0.0.1',
            authType: over.authType ?? 'password',
            validated: true,
            at: at(30 * DAY),
          },
        },
      ];
      if (over.seen !== undefined) {
        events.push({ type: 'MachineHeartbeatRecorded', data: { machineId, at: at(over.seen) } });
      }
      await store.appendToStream(`machine-${machineId}`, events, { expectedVersion: 'no_stream', metadata });
    };
    const bouncer = async (name: string, pulled?: number, authType: 'api-key' | 'tls' = 'api-key') => {
      const events: DomainEvent[] = [
        { type: 'BouncerAdded', data: { name, apiKeyHash: name, authType, at: at(30 * DAY) } },
      ];
      if (pulled !== undefined) {
        events.push({
          type: 'BouncerSeen',
          data: { name, ipAddress: '10.0.0.9', type: 't', version: 'v', lastPull: at(pulled), at: at(pulled) },
        });
      }
      await store.appendToStream(`bouncer-${name}`, events, { expectedVersion: 'no_stream', metadata });
    };
    const names = async () => ({
      machines: (await db.handle.db.selectFrom('machines').select('machine_id').orderBy('machine_id').execute()).map(
        (r) => r.machine_id,
      ),
      bouncers: (await db.handle.db.selectFrom('bouncers').select('name').orderBy('name').execute()).map((r) => r.name),
    });

    it('deletes only the clients silent for longer than their auth type allows', async () => {
      await machine('agent-odd', { seen: 8 * DAY }); // stale, but owns an alert
      await machine('fresh', { seen: HOUR });
      await machine('local', { seen: 8 * DAY, ip: '127.0.0.1' });
      await machine('never-seen', {});
      await machine('stale', { seen: 8 * DAY });
      await machine('stale-cert', { seen: 8 * DAY, authType: 'tls' });
      await push(alertEvent(1, HOUR));
      await bouncer('b-fresh', HOUR);
      await bouncer('b-never');
      await bouncer('b-stale', 8 * DAY);
      await bouncer('b-stale-cert', 8 * DAY, 'tls');

      const policy = { machines: { password: 7 * DAY }, bouncers: { apiKey: 7 * DAY } };
      expect(await autodeleteClients(deps, policy, now)).toEqual({
        machines: ['stale'],
        bouncers: ['b-stale'],
        completed: true,
      });
      expect(await names()).toEqual({
        machines: ['agent-odd', 'fresh', 'local', 'never-seen', 'stale-cert'],
        bouncers: ['b-fresh', 'b-never', 'b-stale-cert'],
      });
      const deleted = [...(await recorded('MachineDeleted')), ...(await recorded('BouncerDeleted'))];
      expect(deleted.map((e) => e.metadata.actor)).toEqual([
        { kind: 'system', id: 'retention' },
        { kind: 'system', id: 'retention' },
      ]);

      // The cert durations apply to cert clients only: API-key bouncers and password machines stay.
      expect(await autodeleteClients(deps, { machines: { tls: DAY }, bouncers: { tls: 5 * MIN } }, now)).toMatchObject({
        machines: ['stale-cert'],
        bouncers: ['b-stale-cert'],
      });
      // Once its alerts are flushed, the silent machine goes too.
      await flushAlerts(deps, { maxAgeMs: 1 }, now);
      expect(await autodeleteClients(deps, policy, now)).toMatchObject({ machines: ['agent-odd'] });
    });

    it("takes a bouncer's last pull from its processes' positions and lookups, and deletes them with it", async () => {
      // Events recorded an old last pull (before pulls stopped being events), or none; the processes pulled since.
      await bouncer('b-streams', 8 * DAY);
      await bouncer('b-looks-up');
      await bouncer('b-instance', 8 * DAY);
      await bouncer('b-gone', 8 * DAY);
      const position = (key: string, ago: number) =>
        db.handle.db
          .insertInto('bouncer_cursors')
          .values({ bouncer: key, snapshot: 'index:1', pulled_at: at(ago) })
          .execute();
      await position('b-streams', HOUR);
      await position('b-gone', 9 * DAY);
      await position('b-gone\u001f10.0.0.2', 9 * DAY);
      await sqlLookupTimesWriter(db.handle.db)(
        new Map([
          ['b-looks-up', now.getTime() - 8 * DAY],
          ['b-gone\u001fpod', now.getTime() - 8 * DAY],
        ]),
      );
      await store.appendToStream(
        'bouncer-b-instance',
        [
          {
            type: 'BouncerInstanceSeen',
            data: {
              name: 'b-instance',
              instance: 'b-instance@pod',
              ipAddress: '10.0.0.3',
              type: 't',
              version: 'v',
              at: at(8 * DAY),
            },
          },
        ],
        { expectedVersion: 'any', metadata },
      );
      await position('b-instance\u001fpod', MIN);
      // A bouncer that only looks up has a last pull too: 8 days old, stale.
      expect(await autodeleteClients(deps, { machines: {}, bouncers: { apiKey: 7 * DAY } }, now)).toEqual({
        machines: [],
        bouncers: ['b-gone', 'b-looks-up'],
        completed: true,
      });
      expect((await names()).bouncers).toEqual(['b-instance', 'b-streams']);
      const keysLeft = async (table: 'bouncer_cursors' | 'bouncer_lookups') =>
        (await db.handle.db.selectFrom(table).select('bouncer').orderBy('bouncer').execute()).map((r) => r.bouncer);
      expect(await keysLeft('bouncer_cursors')).toEqual(['b-instance\u001fpod', 'b-streams']);
      expect(await keysLeft('bouncer_lookups')).toEqual([]);
    });

    it('does nothing when it lost its lease', async () => {
      await machine('stale', { seen: 8 * DAY });
      await push(alertEvent(1, 8 * DAY));
      const lost = { ...deps, stillLeader: () => Promise.resolve(false) };
      expect(await autodeleteClients(lost, { machines: { password: DAY }, bouncers: {} }, now)).toEqual({
        machines: [],
        bouncers: [],
        completed: false,
      });
      expect(await flushAlerts(lost, { maxAgeMs: DAY }, now)).toMatchObject({ byAge: 0, completed: false });
      expect(await names()).toMatchObject({ machines: ['stale'] });
      expect(await alertIds()).toEqual([1]);
    });
  });
});
