import {
  ALERT_DELETIONS_STREAM,
  DECISION_DELETIONS_STREAM,
  parseIpRange,
  receiveAlert,
  type AlertInput,
  type DecisionInput,
  type DomainEvent,
  type EventMetadata,
} from '@lapi/domain';
import { PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { openTestDatabase } from '@lapi/testing';
import { decisionChanges, type DecisionState } from '../model';
import type { DecisionRecord } from '../redis/decision-record';
import { findActiveDecisions, pullStream, type DecisionFilter, type StreamCursor } from '../sql/decision-queries';
import { alertsProjection } from '../sql/decisions.projection';
import { DecisionIndex, type IndexCursor } from './decision-index';

// The index must answer as the SQL queries do. Random decisions go through the real write path (events, the
// projection, PGlite) and, as the change log would carry them, into a DecisionIndex; random filters then ask both.

const BASE = Date.parse('2030-01-01T00:00:00Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** mulberry32: seeded, so a failure replays. */
function generator(seed: number) {
  let a = seed;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chance = (p: number) => random() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const subset = <T>(xs: readonly T[]): T[] => xs.filter(() => chance(0.4));
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  return { random, chance, pick, subset, int };
}
type Gen = ReturnType<typeof generator>;

const ADDRESSES = [
  '192.0.2.1',
  '192.0.2.2',
  '192.0.2.130',
  '192.0.2.255',
  '198.51.100.7',
  '10.0.0.1',
  '2001:db8::1',
  '2001:db8::2',
  '2001:db8:1::1',
  '::1',
  '::ffff:192.0.2.1',
];
const CIDRS = [
  '192.0.2.0/24',
  '192.0.2.128/25',
  '192.0.0.0/16',
  '0.0.0.0/0',
  '192.0.2.1/32',
  '198.51.100.7/24',
  '10.0.0.0/8',
  '2001:db8::/32',
  '2001:db8::/64',
  '::/0',
  '2001:db8::1/128',
  '2001:db8:1::/48',
  '::ffff:192.0.2.0/120',
];
const OTHER_VALUES = ['alice', 'bob', '192.0.2.1', 'FR'];
const TYPES = ['ban', 'ban', 'captcha'];
const ORIGINS = ['cscli', 'crowdsec', 'CAPI', 'lists'];
const SCENARIOS = ['crowdsecurity/ssh-bf', 'crowdsecurity/http-probing', 'Manual ban', 'SSH-slow', ''];
// 10s, 20s, 7m, 8m10s: untils that fall exactly on the times pulled at below (boundaries of `until > now`).
const DURATIONS = ['-1h', '-30s', '1s', '10s', '20s', '30s', '5m', '7m', '8m10s', '9m', '1h', '4h', '24h'];

const QUERY_IPS = [...ADDRESSES, '192.0.2.77', '203.0.113.1', '2001:db8:1::5', '::ffff:10.0.0.1'];
const QUERY_RANGES = [...CIDRS, '192.0.2.0/25', '10.0.0.0/24', '2001:db8:1::/64', '198.51.100.0/24'];
const SCOPES = ['Ip', 'Range', 'Username', 'Country', 'ip'];
const WORDS = ['ssh', 'HTTP', 'ban', 'crowdsecurity', ''];

function randomDecision(g: Gen): DecisionInput {
  const base = {
    duration: g.pick(DURATIONS),
    origin: g.pick(ORIGINS),
    scenario: g.pick(SCENARIOS),
    type: g.pick(TYPES),
  };
  const kind = g.random();
  if (kind < 0.4) {
    return { ...base, scope: g.chance(0.9) ? 'Ip' : 'ip', value: g.pick(ADDRESSES) };
  }
  if (kind < 0.75) {
    return { ...base, scope: g.chance(0.9) ? 'Range' : 'Ip', value: g.pick(CIDRS) };
  }
  return { ...base, scope: g.pick(['Username', 'Country']), value: g.pick(OTHER_VALUES) };
}

function randomFilter(g: Gen): DecisionFilter {
  const words = () => (g.chance(0.25) ? g.subset(WORDS) : undefined);
  return {
    ip: g.chance(0.3) ? parseIpRange(g.pick(QUERY_IPS))! : undefined,
    range: g.chance(0.2) ? parseIpRange(g.pick(QUERY_RANGES))! : undefined,
    contains: g.chance(0.6),
    scopes: g.chance(0.5) ? g.subset(SCOPES) : undefined,
    value: g.chance(0.1) ? g.pick([...ADDRESSES, ...CIDRS, ...OTHER_VALUES]) : undefined,
    type: g.chance(0.2) ? g.pick(TYPES) : undefined,
    origins: g.chance(0.3) ? g.subset(ORIGINS) : undefined,
    scenariosContaining: words(),
    scenariosNotContaining: words(),
    includeSimulated: g.chance(0.5),
  };
}

const alertInput = (stopAt: number, simulated: boolean): AlertInput => ({
  scenario: 'test',
  scenarioHash: '',
  scenarioVersion: '',
  message: '',
  eventsCount: 1,
  startAt: new Date(stopAt).toISOString(),
  stopAt: new Date(stopAt).toISOString(),
  capacity: 0,
  leakspeed: '',
  simulated,
  remediation: false,
  events: [],
  source: { scope: 'Ip', value: '192.0.2.1' },
  decisions: null,
  meta: [],
  labels: null,
});

/** Writes through the event store and feeds the same changes, as whole records, to an index. */
class World {
  readonly index = new DecisionIndex();
  private readonly store: PostgresEventStore;
  private readonly records = new Map<number, DecisionRecord>();
  private readonly alerts = new Map<number, number[]>();
  /** What the rules read: the records as fed so far (each change is fed as it is yielded). */
  private readonly state: DecisionState = {
    get: (id) => this.records.get(id),
    idsOfAlert: (alertId) => this.alerts.get(alertId) ?? [],
  };
  private seq = 0;
  private nextAlert = 1;
  private nextDecision = 1;

  constructor(
    readonly handle: DatabaseHandle,
    private readonly g: Gen,
  ) {
    this.store = new PostgresEventStore(handle.db, [alertsProjection]);
  }

  get decisionIds(): number[] {
    return [...this.records.keys()];
  }

  get alertIds(): number[] {
    return [...this.alerts.keys()];
  }

  decisionsWhere(test: (r: DecisionRecord) => boolean): number[] {
    return [...this.records.values()].filter(test).map((r) => r.id);
  }

  /** Alerts not deleted yet with a decision that passes the test. */
  alertsWhere(test: (r: DecisionRecord) => boolean): number[] {
    return [...this.alerts].filter(([, ids]) => ids.some((id) => test(this.records.get(id)!))).map(([id]) => id);
  }

  async addAlerts(count: number, stopAts: readonly number[]): Promise<void> {
    for (let n = 0; n < count; n++) {
      const decisions = Array.from({ length: this.g.int(1, 4) }, () => randomDecision(this.g));
      const alertId = this.nextAlert++;
      const decisionIds = decisions.map(() => this.nextDecision++);
      const event = receiveAlert(
        alertInput(this.g.pick(stopAts), this.g.chance(0.15)),
        decisions,
        'machine',
        { alertId, alertUuid: `a-${alertId}`, decisionIds, decisionUuids: decisionIds.map((id) => `d-${id}`) },
        new Date(BASE),
      );
      await this.append(`alert-${alertId}`, event, 'no_stream');
      this.alerts.set(alertId, decisionIds);
      for (const d of event.data.decisions) {
        this.feed({ ...d, alertId, until: Date.parse(d.until), removed: false });
      }
    }
  }

  async deleteDecisions(ids: number[], at: number): Promise<void> {
    await this.append(DECISION_DELETIONS_STREAM, {
      type: 'DecisionsDeleted',
      data: { decisionIds: ids, at: new Date(at).toISOString() },
    });
    for (const { record } of decisionChanges([{ op: 'expire', ids, at }], this.state)) {
      this.feed(record);
    }
  }

  async deleteAlerts(alertIds: number[], at: number): Promise<void> {
    await this.append(ALERT_DELETIONS_STREAM, {
      type: 'AlertsDeleted',
      data: { alertIds, at: new Date(at).toISOString() },
    });
    for (const { record } of decisionChanges([{ op: 'removeAlerts', alertIds, at }], this.state)) {
      this.feed(record);
    }
    for (const alertId of alertIds) {
      this.alerts.delete(alertId); // a deleted alert cannot be deleted again
    }
  }

  /** A random mix of deletions at times in [from, to]. */
  async churn(from: number, to: number): Promise<void> {
    const at = () => this.g.int(from, to);
    for (let n = 0; n < 8; n++) {
      await this.deleteDecisions(
        this.decisionIds.filter(() => this.g.chance(0.04)),
        at(),
      );
    }
    await this.deleteAlerts(
      this.alertIds.filter(() => this.g.chance(0.05)),
      at(),
    );
  }

  private feed(r: DecisionRecord): void {
    this.records.set(r.id, r);
    this.seq += this.g.int(1, 3);
    this.index.apply(r, this.seq);
  }

  private async append(stream: string, event: DomainEvent, expectedVersion: 'no_stream' | 'any' = 'any') {
    const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date(BASE).toISOString() };
    await this.store.appendToStream(stream, [event], { expectedVersion, metadata });
  }
}

/** Both sides pulled at the same moment: the SQL snapshot and the index's seq stand for the same state. */
interface Cursors {
  readonly sql: StreamCursor;
  readonly index: IndexCursor;
}

describe('DecisionIndex answers as the SQL queries (pglite)', () => {
  let handle: DatabaseHandle;
  let dispose: () => Promise<void>;
  let world: World;
  let g: Gen;

  beforeAll(async () => {
    ({ handle, dispose } = await openTestDatabase('pglite'));
    g = generator(20261128);
    world = new World(handle, g);
  });
  afterAll(() => dispose());

  const findBoth = async (filter: DecisionFilter, now: number) => {
    const sql = await findActiveDecisions(handle.db, filter, new Date(now));
    expect({ filter, now, found: world.index.find(filter, now) }).toEqual({ filter, now, found: sql });
    return sql.length;
  };

  const startupBoth = async (filter: DecisionFilter, dedup: boolean, now: number) => {
    const sql = await pullStream(handle.db, filter, { cursor: null, dedup, now: new Date(now) });
    const mine = world.index.startup(filter, dedup, now);
    expect({ filter, dedup, now, new: mine.new, deleted: mine.deleted }).toEqual({
      filter,
      dedup,
      now,
      new: sql.new,
      deleted: sql.deleted,
    });
    return sql.new.length + sql.deleted.length;
  };

  const pullAll = async (now: number): Promise<Cursors> => {
    const sql = await pullStream(
      handle.db,
      { contains: true, includeSimulated: true },
      { cursor: null, dedup: true, now: new Date(now) },
    );
    return { sql: sql.next, index: { seq: world.index.seq, pulledAt: now } };
  };

  const deltaBoth = async (filter: DecisionFilter, dedup: boolean, cursors: Cursors, now: number) => {
    const sql = await pullStream(handle.db, filter, { cursor: cursors.sql, dedup, now: new Date(now) });
    const mine = world.index.delta(filter, dedup, cursors.index, now);
    expect({ filter, dedup, now, new: mine.new, deleted: mine.deleted }).toEqual({
      filter,
      dedup,
      now,
      new: sql.new,
      deleted: sql.deleted,
    });
    return sql.new.length + sql.deleted.length;
  };

  /** Runs `n` random filters; the total of answers shows the filters are not all empty. */
  const compare = async (n: number, ask: (f: DecisionFilter) => Promise<number>) => {
    let answered = 0;
    for (let i = 0; i < n; i++) {
      answered += await ask(randomFilter(g));
    }
    expect(answered).toBeGreaterThan(n);
  };

  // Removal times stay at or before every `now` asked below: GET /v1/decisions in SQL does not read `removed`,
  // the index does (a removed decision with until still ahead exists only for a clock behind the removal).
  const NOWS = [BASE, BASE + 20 * SEC, BASE + 7 * MIN, BASE + 2 * HOUR];

  it('finds and streams from startup as SQL, on fresh decisions', async () => {
    await world.addAlerts(150, [BASE - 2 * HOUR, BASE - 10 * MIN, BASE, BASE, BASE, BASE + MIN]);
    expect(world.index.size).toBe(world.decisionIds.length);
    for (const now of NOWS) {
      await compare(40, (f) => findBoth(f, now));
      await compare(20, (f) => startupBoth(f, true, now));
      await compare(10, (f) => startupBoth(f, false, now));
    }
  }, 120_000);

  it('answers as SQL after decisions and alerts are deleted', async () => {
    await world.churn(BASE - 5 * MIN, BASE);
    for (const now of NOWS) {
      await compare(30, (f) => findBoth(f, now));
      await compare(20, (f) => startupBoth(f, true, now));
      await compare(10, (f) => startupBoth(f, false, now));
    }
  }, 120_000);

  it('gives the same deltas as SQL across adds, deletions and expiries between pulls', async () => {
    const t1 = BASE + 10 * SEC;
    const c1 = await pullAll(t1);
    // Between pulls: new alerts (some already expired, some expiring before the next pull), deletions, removals.
    await world.addAlerts(60, [BASE - HOUR, BASE, t1, t1 + MIN]);
    await world.churn(t1, t1 + 5 * MIN);
    const t2 = t1 + 8 * MIN;
    await world.deleteDecisions(world.decisionIds.slice(0, 5), t1 + 5 * MIN); // some a second time
    await world.deleteDecisions(world.decisionIds.slice(-10, -5), t2); // until = now of the pull
    // Deleted by a clock ahead of the pull: changed after the cursor yet still active (or active and removed).
    const activeAt = (t: number) => (r: DecisionRecord) => r.until > t && !r.removed;
    await world.deleteDecisions(
      world.decisionIds.filter(() => g.chance(0.03)),
      t2 + HOUR,
    );
    await world.deleteDecisions(world.decisionsWhere(activeAt(t2)).slice(0, 8), t2 + HOUR);
    await world.deleteAlerts(world.alertsWhere(activeAt(t2)).slice(0, 4), t2 + HOUR);
    for (const dedup of [true, false]) {
      await compare(60, (f) => deltaBoth(f, dedup, c1, t2));
    }
    const c2 = await pullAll(t2);
    await world.addAlerts(40, [t2 - 30 * SEC, t2]);
    await world.churn(t2, t2 + 10 * MIN);
    // A pull long after the previous one: more than an hour of expiries.
    const t3 = t2 + 3 * HOUR;
    for (const dedup of [true, false]) {
      await compare(60, (f) => deltaBoth(f, dedup, c2, t3));
      await compare(30, (f) => deltaBoth(f, dedup, c1, t3));
    }
    const c3 = await pullAll(t3);
    // Pulled again at the same instant: only what changed counts, expiring exactly now included.
    await world.deleteDecisions(world.decisionsWhere(activeAt(t3)).slice(0, 10), t3);
    for (const dedup of [true, false]) {
      await compare(20, async (f) => (await deltaBoth(f, dedup, c3, t3)) + 1);
    }
    // A day later: the expiries since, and the deletions made at t3.
    for (const dedup of [true, false]) {
      await compare(20, async (f) => (await deltaBoth(f, dedup, c3, t3 + 30 * HOUR)) + 1);
    }
    await compare(30, (f) => findBoth(f, t3));
    await compare(30, (f) => startupBoth(f, true, t3));
  }, 180_000);
});
