import { parseIpRange, receiveAlert, type AlertInput } from '@lapi/domain';
import { PostgresEventStore, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { openTestDatabase } from '@lapi/testing';
import { MemoryDecisions } from './memory-decisions';

const alert = (at: string): AlertInput => ({
  scenario: 'test',
  scenarioHash: '',
  scenarioVersion: '',
  message: '',
  eventsCount: 1,
  startAt: at,
  stopAt: at,
  capacity: 0,
  leakspeed: '',
  simulated: false,
  remediation: true,
  events: [],
  source: { scope: 'Ip', value: '192.0.2.1' },
  meta: [],
  labels: null,
  decisions: null,
});

describe('MemoryDecisions over a log other processes write', () => {
  let handle: DatabaseHandle;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ handle, dispose } = await openTestDatabase('pglite'));
  });
  afterAll(() => dispose());

  it('syncFresh reads the log after it was called, even while an earlier read is under way', async () => {
    const store = new PostgresEventStore(handle.db);
    // The follow timer's read: it has read the log, and is slow to hand the page back.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let first = true;
    const slowFirstRead: EventStore = Object.assign(Object.create(store) as EventStore, {
      readAll: async (...args: Parameters<EventStore['readAll']>) => {
        const page = await store.readAll(...args);
        if (first) {
          first = false;
          await held;
        }
        return page;
      },
    });
    const decisions = new MemoryDecisions(slowFirstRead, { retentionMs: 3_600_000 });
    const timerSync = decisions.sync();

    // Meanwhile another process commits a decision, and a bouncer asks.
    const now = new Date();
    const event = receiveAlert(
      alert(now.toISOString()),
      [{ duration: '4h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: '192.0.2.7' }],
      'machine',
      { alertId: 1, alertUuid: 'a-1', decisionIds: [1], decisionUuids: ['d-1'] },
      now,
    );
    await store.appendToStream('alert-1', [event], {
      expectedVersion: 'no_stream',
      metadata: { actor: { kind: 'cli', id: 'test' }, at: now.toISOString() },
    });
    const asked = decisions.syncFresh();
    release();
    await Promise.all([timerSync, asked]);
    const lookup = { ip: parseIpRange('192.0.2.7')!, contains: true, includeSimulated: false };
    expect(decisions.find(lookup, Date.now())).toHaveLength(1);
  });

  it('syncWithin reads the log only when the index may be older than the bound, and then sees every commit', async () => {
    const store = new PostgresEventStore(handle.db);
    let reads = 0;
    const counted: EventStore = Object.assign(Object.create(store) as EventStore, {
      readAll: (...args: Parameters<EventStore['readAll']>) => {
        reads++;
        return store.readAll(...args);
      },
    });
    const decisions = new MemoryDecisions(counted, { retentionMs: 3_600_000 });
    await decisions.sync();
    const before = reads;
    const boundMs = 200;
    // Fresh: no read of the log at all, however many requests.
    await Promise.all(Array.from({ length: 50 }, () => decisions.syncWithin(boundMs)));
    expect(decisions.freshWithin(boundMs)).toBe(true);
    expect(reads).toBe(before);

    // Another process commits; past the bound, the next request reads the log, once for all who ask meanwhile.
    const now = new Date();
    const event = receiveAlert(
      alert(now.toISOString()),
      [{ duration: '4h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: '192.0.2.8' }],
      'machine',
      { alertId: 2, alertUuid: 'a-2', decisionIds: [2], decisionUuids: ['d-2'] },
      now,
    );
    await store.appendToStream('alert-2', [event], {
      expectedVersion: 'no_stream',
      metadata: { actor: { kind: 'cli', id: 'test' }, at: now.toISOString() },
    });
    await new Promise((resolve) => setTimeout(resolve, boundMs + 20));
    expect(decisions.freshWithin(boundMs)).toBe(false);
    await Promise.all(Array.from({ length: 50 }, () => decisions.syncWithin(boundMs)));
    expect(reads).toBe(before + 1);
    const lookup = { ip: parseIpRange('192.0.2.8')!, contains: true, includeSimulated: false };
    expect(decisions.find(lookup, Date.now())).toHaveLength(1);
  });
});
