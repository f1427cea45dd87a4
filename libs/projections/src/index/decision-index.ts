import { isIpScope, parseIpRange, type IpRange } from '@lapi/domain';
import type { DecisionRecord } from '../cluster/decision-record';
import type { DecisionFilter, DecisionView } from '../decision-queries';
import { SortedKeys, type OrderedKey } from './sorted-keys';
import { DecisionList, StartupBody } from './startup-body';

// A startup answer is sent again, as rendered, for this long at most: its durations overstate the time left by up to
// this much (as a slow network would), in exchange for one rendering per burst of bouncers starting together.
export const STARTUP_REUSE_MS = 1_000;
// Startup answers kept (one per distinct filters and dedup); those not asked for between two sweeps are dropped.
const STARTUP_BODIES = 8;
const STARTUP_SWEEP_MS = 5_000;

/** Where a bouncer stood after a pull: the last change it saw, and the time up to which it saw expiries. */
export interface IndexCursor {
  readonly seq: number;
  /** ms since the epoch */
  readonly pulledAt: number;
}

/** How many active decisions share a scenario, origin and type. */
export interface ActiveCount {
  readonly scenario: string;
  readonly origin: string;
  readonly type: string;
  count: number;
}

export interface IndexPage {
  readonly new: DecisionView[];
  readonly deleted: DecisionView[];
  readonly next: IndexCursor;
  /** A startup answer's body, rendered once for every pull that gets the same answer (see StartupBody). */
  readonly body?: StartupBody;
}

/**
 * Every decision in memory, answering the bouncer endpoints as `findActiveDecisions` and `pullStream` do in SQL.
 * Fed with whole records from the change log (`apply`); pure: time comes in as `now`, in ms since the epoch.
 *
 * A query costs its candidates: with `ip`/`range`, the decisions of the blocks covering the target (one Map lookup
 * per prefix length in use) or a range scan of the sorted network addresses inside it; with `value`, that value's
 * decisions; otherwise every decision. A delta costs the changes after the cursor plus the expiries since `pulledAt`.
 *
 * @example
 *   index.apply(record, seq);
 *   const first = index.startup(filter, true, now);           // startup=true
 *   const later = index.delta(filter, true, first.next, now2); // the bouncer's next pull
 */
export class DecisionIndex {
  private lastSeq = 0;
  private readonly byId = new Map<number, Entry>();
  /** Decisions without IP columns, by value: their "longest decision wins" groups. */
  private readonly byValue = new Map<string, Bag>();
  // Decisions with IP columns are found by network address; that also gives their groups, since one value always
  // parses to one address. Most decisions are IPs, so this saves a Map entry for most of them.
  private readonly v4 = new IpTable(V4);
  private readonly v6 = new IpTable(V6);
  private readonly expiries = new ExpiryBuckets();
  // The change log, one (seq, id) per apply, in seq order. Entries superseded by a later apply of the same decision
  // are dropped now and then, so it holds one entry per decision plus recent churn.
  private logSeq: number[] = [];
  private logId: number[] = [];
  private readonly strings = new Map<string, string>();
  /** Bumped by every change to what an answer can contain: a startup body taken at another version is stale. */
  private version = 0;
  private readonly startups = new Map<string, { body: StartupBody; asked: boolean }>();
  private sweeping: NodeJS.Timeout | undefined;

  /** The seq of the last record applied (0 when empty). */
  get seq(): number {
    return this.lastSeq;
  }

  get size(): number {
    return this.byId.size;
  }

  /**
   * Inserts or replaces a decision. `seq` must grow: it orders the change log that deltas read. `firstSeq`, when the
   * index starts from a snapshot rather than the whole log, is the seq of the decision's first change, before `seq`.
   */
  apply(record: DecisionRecord, seq: number, firstSeq = seq): void {
    if (!(seq > this.lastSeq)) {
      throw new RangeError(`change ${seq} is not after ${this.lastSeq}`);
    }
    const old = this.byId.get(record.id);
    if (old) {
      this.update(old, record, seq);
    } else {
      const e = this.insert(record, Math.min(firstSeq, seq));
      if (firstSeq < seq) {
        e.changedSeq = seq; // changed since its first change, as if applied from the whole log
      }
    }
    this.lastSeq = seq;
    this.version++;
    this.logSeq.push(seq);
    this.logId.push(record.id);
    if (this.logSeq.length > 2 * this.byId.size + 1024) {
      this.compactLog();
    }
  }

  /**
   * The decision as the index holds it, as a record of alert `alertId` (the index does not keep alert ids: callers
   * that change a decision know its alert, or do not need it). Undefined when unknown or compacted away.
   */
  current(id: number, alertId = 0): DecisionRecord | undefined {
    const e = this.byId.get(id);
    return (
      e && {
        id: e.id,
        uuid: e.uuid,
        alertId,
        origin: e.origin,
        type: e.type,
        scope: e.scope,
        value: e.value,
        scenario: e.scenario,
        simulated: e.simulated,
        until: e.until,
        removed: e.removed,
      }
    );
  }

  /** A snapshot taken at `seq` was applied: the changes up to it are all in (whatever their records' own seqs). */
  skipTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.version++;
  }

  /**
   * Drops the decisions that ended before `before` (ms), as compaction did in Redis. Deltas from a cursor pulled
   * before that time would miss them: callers answer those as a first pull. Returns how many were dropped.
   */
  compact(before: number): number {
    let dropped = 0;
    for (const e of this.byId.values()) {
      if (e.until < before) {
        this.byId.delete(e.id);
        this.unindexValue(e);
        dropped++;
      }
    }
    if (dropped > 0) {
      this.version++;
      this.expiries.rebuild(this.byId);
      this.compactLog();
    }
    return dropped;
  }

  /** Active decisions per (scenario, origin, type), as the reference's cs_active_decisions: one pass, no copy. */
  countActive(now: number): ActiveCount[] {
    const pass = this.countingActive(now, Infinity);
    for (;;) {
      const step = pass.next();
      if (step.done) {
        return step.value;
      }
    }
  }

  /**
   * countActive as a pass that pauses after every `batch` decisions, so that a caller can let requests run between
   * batches (a pass over a million decisions takes ~0.1–0.6 s). Changes applied during a pass may or may not count.
   */
  *countingActive(now: number, batch = 50_000): Generator<void, ActiveCount[]> {
    const counts = new Map<string, ActiveCount>();
    let seen = 0;
    for (const e of this.byId.values()) {
      if (isActive(e, now)) {
        const key = `${e.scenario}\u0000${e.origin}\u0000${e.type}`;
        const c = counts.get(key);
        if (c) {
          c.count++;
        } else {
          counts.set(key, { scenario: e.scenario, origin: e.origin, type: e.type, count: 1 });
        }
      }
      if (++seen % batch === 0) {
        yield;
      }
    }
    return [...counts.values()];
  }

  /** GET /v1/decisions: active decisions matching the filter, no dedup, by id. */
  find(filter: DecisionFilter, now: number): DecisionView[] {
    const q = this.compile(filter, false);
    const found: Entry[] = [];
    if (q) {
      for (const e of this.candidates(q)) {
        if (isActive(e, now) && q.matches(e)) {
          found.push(e);
        }
      }
    }
    return views(found);
  }

  /**
   * A stream pull without a cursor: every active decision in `new`, every expired one in `deleted`. The answer is
   * shared, body included, by the startup pulls with the same filters that come before anything changes: no change
   * applied, no decision ended since, and within STARTUP_REUSE_MS.
   */
  startup(filter: DecisionFilter, dedup: boolean, now: number): IndexPage {
    const key = filterKey(filter, dedup);
    const known = this.startups.get(key);
    let body = known?.body;
    if (
      !body ||
      body.version !== this.version ||
      now < body.renderedAt ||
      now - body.renderedAt > STARTUP_REUSE_MS ||
      !this.expiries.between(body.renderedAt, now).next().done
    ) {
      body = this.takeStartup(filter, dedup, now);
      this.startups.delete(key);
      if (this.startups.size >= STARTUP_BODIES) {
        this.startups.delete(this.startups.keys().next().value!);
      }
      this.startups.set(key, { body, asked: true });
      this.sweepLater();
    } else {
      known!.asked = true;
    }
    const shared = body;
    return {
      get new() {
        return shared.new;
      },
      get deleted() {
        return shared.deleted;
      },
      next: { seq: this.lastSeq, pulledAt: now },
      body: shared,
    };
  }

  private takeStartup(filter: DecisionFilter, dedup: boolean, now: number): StartupBody {
    const q = this.compile(filter, dedup);
    const created: Entry[] = [];
    const deleted: Entry[] = [];
    if (q) {
      for (const e of this.candidates(q)) {
        // A removed decision whose until is still ahead is in neither list, as in SQL.
        const list = isActive(e, now) ? created : e.until <= now ? deleted : null;
        if (list && q.matches(e)) {
          list.push(e);
        }
      }
    }
    created.sort(byId);
    deleted.sort(byId);
    return new StartupBody(new DecisionList(created), new DecisionList(deleted), now, this.version);
  }

  /** Drops the startup bodies nobody asked for since the previous sweep, and stale ones (they hold megabytes). */
  private sweepLater(): void {
    if (this.sweeping) {
      return;
    }
    this.sweeping = setTimeout(() => {
      this.sweeping = undefined;
      for (const [key, kept] of this.startups) {
        if (!kept.asked || kept.body.version !== this.version) {
          this.startups.delete(key);
        } else {
          kept.asked = false;
        }
      }
      if (this.startups.size > 0) {
        this.sweepLater();
      }
    }, STARTUP_SWEEP_MS).unref();
  }

  /**
   * A stream pull after `cursor`, as `pullStream` with a cursor: `new` = active decisions first seen after
   * cursor.seq, plus the now-longest active decisions of every value/type/scope that had a decision changed after
   * it; `deleted` = expired decisions changed after cursor.seq or whose until is in (cursor.pulledAt, now].
   */
  delta(filter: DecisionFilter, dedup: boolean, cursor: IndexCursor, now: number): IndexPage {
    const next = { seq: this.lastSeq, pulledAt: now };
    const q = this.compile(filter, dedup);
    if (!q) {
      return { new: [], deleted: [], next };
    }
    const created = new Set<Entry>();
    const deleted = new Set<Entry>();
    const changedKeys = new Map<string, Entry>();
    for (let i = this.firstLogIndexAfter(cursor.seq); i < this.logSeq.length; i++) {
      const e = this.byId.get(this.logId[i]);
      if (!e || this.logSeq[i] !== e.lastSeq) {
        continue; // a later entry of the log stands for this decision
      }
      if (e.firstSeq > cursor.seq && isActive(e, now) && q.matches(e)) {
        created.add(e);
      }
      if (e.changedSeq > cursor.seq) {
        // Whatever the filter, as the SQL query of changed rows that feeds the re-send rule.
        changedKeys.set(groupKey(e), e);
        if (e.until <= now && q.matches(e)) {
          deleted.add(e);
        }
      }
    }
    for (const changed of changedKeys.values()) {
      for (const e of this.sameValue(changed)) {
        if (sameKey(e, changed) && isActive(e, now) && q.matches(e)) {
          created.add(e);
        }
      }
    }
    for (const e of this.expiries.between(cursor.pulledAt, now)) {
      if (q.matches(e)) {
        deleted.add(e);
      }
    }
    return { new: views([...created]), deleted: views([...deleted]), next };
  }

  /**
   * Whether nothing was applied after `cursor` and no decision ended in (cursor.pulledAt, now]: a delta from it is
   * then empty whatever the filter, and the bouncer may stay at `cursor` rather than move to `now`, since every
   * later delta from either gives the same answer.
   */
  unchangedSince(cursor: IndexCursor, now: number): boolean {
    return cursor.seq === this.lastSeq && this.expiries.between(cursor.pulledAt, now).next().done === true;
  }

  private insert(r: DecisionRecord, seq: number): Entry {
    const e = new Entry(
      r.id,
      r.uuid,
      this.intern(r.origin),
      this.intern(r.type),
      this.intern(r.scope),
      r.value,
      this.intern(r.scenario),
      r.simulated,
      r.until,
      r.removed,
      seq,
    );
    this.byId.set(e.id, e);
    this.indexValue(e);
    this.expiries.add(e);
    return e;
  }

  private update(e: Entry, r: DecisionRecord, seq: number): void {
    // Value, type and scope never change in practice (the log lowers until or sets removed); handled all the same.
    if (e.value !== r.value || e.type !== r.type || e.scope !== r.scope) {
      this.unindexValue(e);
      e.value = r.value;
      e.type = this.intern(r.type);
      e.scope = this.intern(r.scope);
      this.indexValue(e);
    }
    const moved = untilSecond(e.until) !== untilSecond(r.until);
    e.uuid = r.uuid;
    e.origin = this.intern(r.origin);
    e.scenario = this.intern(r.scenario);
    e.simulated = r.simulated;
    e.until = r.until;
    e.removed = r.removed;
    // Every apply after the first is a change, even one that lowers nothing: SQL sets changed_xid on every row a
    // deletion names, and the feeder emits a record for each.
    e.changedSeq = seq;
    if (moved) {
      this.expiries.moved(e, this.byId);
    }
  }

  private indexValue(e: Entry): void {
    const ip = ipOf(e.scope, e.value);
    if (!ip) {
      bagAdd(this.byValue, e.value, e);
    } else if (ip.family === 4) {
      this.v4.add(e, ip);
    } else {
      this.v6.add(e, ip);
    }
  }

  private unindexValue(e: Entry): void {
    const ip = ipOf(e.scope, e.value);
    if (!ip) {
      bagDelete(this.byValue, e.value, e);
    } else if (ip.family === 4) {
      this.v4.delete(e, ip);
    } else {
      this.v6.delete(e, ip);
    }
  }

  /** Decisions that may share `e`'s value (a superset: callers compare value, type and scope). */
  private sameValue(e: Entry): Items {
    return bagItems(this.bagOf(e));
  }

  private bagOf(e: Entry): Bag | undefined {
    if (e.ipStart === null) {
      return this.byValue.get(e.value);
    }
    return typeof e.ipStart === 'number' ? this.v4.bag(e.ipStart) : this.v6.bag(e.ipStart);
  }

  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) {
      return known;
    }
    this.strings.set(s, s);
    return s;
  }

  /** The decisions a query has to look at (a superset of the answer): from the IP index, by value, or all. */
  private candidates(q: CompiledFilter): Iterable<Entry> {
    const t = q.targets[0];
    if (t) {
      const table = t.range.family === 4 ? this.v4 : this.v6;
      return q.contains ? table.covering(t.range) : table.inside(t.range);
    }
    if (q.value !== undefined) {
      const ip = parseIpRange(q.value);
      const byIp = ip?.family === 4 ? this.v4.at(V4.key(ip.start)) : ip ? this.v6.at(V6.key(ip.start)) : NONE;
      return [...bagItems(this.byValue.get(q.value)), ...byIp];
    }
    return this.byId.values();
  }

  private compile(f: DecisionFilter, dedup: boolean): CompiledFilter | null {
    if (f.scopes?.length === 0) {
      return null; // `scopes=` matches nothing
    }
    const targets: Target[] = [];
    for (const t of [f.ip, f.range]) {
      if (t) {
        targets.push(toTarget(t));
      }
    }
    const scopes = f.scopes ? new Set(f.scopes) : null;
    const origins = f.origins?.length ? new Set(f.origins) : null;
    const containing = f.scenariosContaining?.length ? f.scenariosContaining.map((w) => w.toLowerCase()) : null;
    const notContaining = f.scenariosNotContaining?.length
      ? f.scenariosNotContaining.map((w) => w.toLowerCase())
      : null;
    // Scenarios are few distinct strings (interned): lowercase each once per query, not once per decision.
    const lower = containing || notContaining ? memoized((s: string) => s.toLowerCase()) : String;
    const longest = dedup ? this.longestCheck() : null;
    const { contains, value, type, includeSimulated } = f;
    const matches = (e: Entry): boolean => {
      for (const t of targets) {
        if (!inTarget(e, t, contains)) {
          return false;
        }
      }
      if (
        (scopes && !scopes.has(e.scope)) ||
        (value !== undefined && e.value !== value) ||
        (type !== undefined && e.type !== type) ||
        (origins && !origins.has(e.origin)) ||
        (!includeSimulated && e.simulated)
      ) {
        return false;
      }
      if (containing && !containing.some((w) => lower(e.scenario).includes(w))) {
        return false;
      }
      if (notContaining?.some((w) => lower(e.scenario).includes(w))) {
        return false;
      }
      return !longest || longest(e);
    };
    return { targets, contains, value, matches };
  }

  /**
   * "Longest decision wins" over all records, removed and expired included: no decision with the same value, type
   * and scope has a strictly later until. Groups are tiny in practice; a large one gets its maximum memoised.
   */
  private longestCheck(): (e: Entry) => boolean {
    const maxima = new Map<string, number>();
    return (e) => {
      if (e.alone) {
        return true; // most decisions: no group to build, no table to look into
      }
      const group = this.sameValue(e);
      if ('size' in group && group.size > 16) {
        const key = groupKey(e);
        let max = maxima.get(key);
        if (max === undefined) {
          max = longestUntil(group, e);
          maxima.set(key, max);
        }
        return e.until >= max;
      }
      for (const o of group) {
        if (o.until > e.until && sameKey(o, e)) {
          return false;
        }
      }
      return true;
    };
  }

  private firstLogIndexAfter(seq: number): number {
    let lo = 0;
    let hi = this.logSeq.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.logSeq[mid] <= seq) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private compactLog(): void {
    const seqs: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < this.logSeq.length; i++) {
      if (this.byId.get(this.logId[i])?.lastSeq === this.logSeq[i]) {
        seqs.push(this.logSeq[i]);
        ids.push(this.logId[i]);
      }
    }
    this.logSeq = seqs;
    this.logId = ids;
  }
}

// Kept lean: at 1M decisions every field is 8 MB. alertId is not kept (no query reads it).
class Entry {
  /** seq of the last apply after the first; 0 if none. */
  changedSeq = 0;
  /** No other decision shares its value (the "longest decision wins" check has nothing to compare it with). */
  alone = true;
  /** For IP scopes: network address and last address, as keys of their family's table; null otherwise. */
  ipStart: OrderedKey | null = null;
  ipEnd: OrderedKey = 0;

  constructor(
    readonly id: number,
    public uuid: string,
    public origin: string,
    public type: string,
    public scope: string,
    public value: string,
    public scenario: string,
    public simulated: boolean,
    public until: number,
    public removed: boolean,
    readonly firstSeq: number,
  ) {}

  get lastSeq(): number {
    return this.changedSeq || this.firstSeq;
  }
}

/** One decision kept as itself, several in a Set: most keys hold one, and a Set costs ~200 bytes. */
type Bag = Entry | Set<Entry>;

const NONE: readonly Entry[] = [];

type Items = ReadonlySet<Entry> | readonly Entry[];

const bagItems = (bag: Bag | undefined): Items => (bag === undefined ? NONE : bag instanceof Set ? bag : [bag]);

/** Adds `e` under `key`; true when the key is new. */
function bagAdd<K>(map: Map<K, Bag>, key: K, e: Entry): boolean {
  const bag = map.get(key);
  if (bag === undefined) {
    map.set(key, e);
    e.alone = true;
    return true;
  }
  if (bag instanceof Set) {
    bag.add(e);
    e.alone = false;
  } else if (bag !== e) {
    map.set(key, new Set([bag, e]));
    bag.alone = false;
    e.alone = false;
  }
  return false;
}

/** Removes `e` from under `key`; true when the key is gone. */
function bagDelete<K>(map: Map<K, Bag>, key: K, e: Entry): boolean {
  const bag = map.get(key);
  if (bag instanceof Set) {
    bag.delete(e);
    if (bag.size === 1) {
      const last = bag.values().next().value!;
      map.set(key, last);
      last.alone = true;
    }
  } else if (bag === e) {
    map.delete(key);
    return true;
  }
  return false;
}

/** How one family's addresses become table keys: both order with `<` and key a Map by value. */
interface IpFamily<K extends OrderedKey> {
  readonly bits: number;
  key(address: bigint): K;
  /** The key of the network of `prefix` bits that holds `address`. */
  network(address: bigint, prefix: number): K;
}

// IPv4 shifted into the signed 32-bit range and made an int (`| 0`): a Smi, not a boxed double, as a field or a
// Map key (16 bytes saved each); order is kept.
const V4_SHIFT = 2 ** 31;
const V4: IpFamily<number> = {
  bits: 32,
  key: (address) => (Number(address) - V4_SHIFT) | 0,
  network: (address, prefix) => {
    const n = Number(address);
    return (n - (n % 2 ** (32 - prefix)) - V4_SHIFT) | 0;
  },
};

// IPv6 as 32 hex digits: a bigint Map key would hash on its low 64 bits only in V8, so every /64 would collide.
const hex32 = (address: bigint): string => address.toString(16).padStart(32, '0');
const V6: IpFamily<string> = {
  bits: 128,
  key: hex32,
  network: (address, prefix) => {
    const hostBits = BigInt(128 - prefix);
    return hex32((address >> hostBits) << hostBits);
  },
};

interface ParsedIp extends IpRange {
  readonly prefix: number;
}

/** The IP columns the projection fills (`decisionRow`): IP scopes only, any case. */
function ipOf(scope: string, value: string): ParsedIp | null {
  const range = isIpScope(scope) ? parseIpRange(value) : null;
  if (!range) {
    return null;
  }
  const hostBits = range.end === range.start ? 0 : (range.end - range.start).toString(2).length;
  return { ...range, prefix: (range.family === 4 ? 32 : 128) - hostBits };
}

/**
 * One family's decisions by network address. Every decision is an aligned CIDR block (an IP is a /32 or /128), so
 * the ones covering a target start at the target's address masked to their own prefix length: one Map lookup per
 * prefix length in use (≤ 33 / 129, usually a few), no tree. The ones inside a target start within it: a range
 * scan of the sorted network addresses, sorted on first use (contains=false is rare).
 */
class IpTable<K extends OrderedKey> {
  private readonly byStart = new Map<K, Bag>();
  private readonly starts = new SortedKeys<K>(() => this.byStart.keys());
  private readonly perPrefix: Int32Array;

  constructor(private readonly family: IpFamily<K>) {
    this.perPrefix = new Int32Array(family.bits + 1);
  }

  add(e: Entry, ip: ParsedIp): void {
    const start = this.family.key(ip.start);
    e.ipStart = start;
    e.ipEnd = this.family.key(ip.end);
    if (bagAdd(this.byStart, start, e)) {
      this.starts.add(start);
    }
    this.perPrefix[ip.prefix]++;
  }

  delete(e: Entry, ip: ParsedIp): void {
    const start = this.family.key(ip.start);
    if (bagDelete(this.byStart, start, e)) {
      this.starts.delete(start);
    }
    this.perPrefix[ip.prefix]--;
    e.ipStart = null;
    e.ipEnd = 0;
  }

  bag(start: K): Bag | undefined {
    return this.byStart.get(start);
  }

  at(start: K): Items {
    return bagItems(this.byStart.get(start));
  }

  *covering(target: IpRange): Generator<Entry> {
    const end = this.family.key(target.end);
    let previous: K | undefined;
    for (let prefix = 0; prefix <= this.family.bits; prefix++) {
      if (this.perPrefix[prefix] === 0) {
        continue;
      }
      const network = this.family.network(target.start, prefix);
      if (network === previous) {
        continue; // several lengths can mask to one address: its decisions were already seen
      }
      previous = network;
      for (const e of this.at(network)) {
        if (e.ipEnd >= end) {
          yield e;
        }
      }
    }
  }

  *inside(target: IpRange): Generator<Entry> {
    const end = this.family.key(target.end);
    for (const start of this.starts.range(this.family.key(target.start), end)) {
      for (const e of this.at(start)) {
        if (e.ipEnd <= end) {
          yield e;
        }
      }
    }
  }
}

/**
 * Decisions by the second their until falls in, for "expired since the last pull". A decision whose until moves is
 * added to its new bucket and left in the old one, where reads skip it: a mass deletion then costs O(1) a decision,
 * and the buckets are rebuilt once such leftovers outnumber half the decisions.
 */
class ExpiryBuckets {
  // A lone decision is kept as itself: an array costs ~50 bytes, and many seconds hold one.
  private buckets = new Map<number, Entry | Entry[]>();
  private readonly seconds = new SortedKeys<number>(() => this.buckets.keys());
  private leftovers = 0;

  add(e: Entry): void {
    const second = untilSecond(e.until);
    const bucket = this.buckets.get(second);
    if (bucket === undefined) {
      this.buckets.set(second, e);
      this.seconds.add(second);
    } else if (Array.isArray(bucket)) {
      // Copied while small so that it has no slack (push grows an array by half plus 16 slots).
      if (bucket.length < 16) {
        this.buckets.set(second, bucket.concat(e));
      } else {
        bucket.push(e);
      }
    } else {
      this.buckets.set(second, [bucket, e]);
    }
  }

  moved(e: Entry, all: Map<number, Entry>): void {
    this.add(e);
    if (++this.leftovers > all.size / 2 + 1024) {
      this.rebuild(all);
    }
  }

  rebuild(all: Map<number, Entry>): void {
    this.buckets = new Map();
    this.seconds.reset();
    this.leftovers = 0;
    for (const d of all.values()) {
      this.add(d);
    }
  }

  /** Decisions with until in (after, upTo]; one that moved away and back may come twice. */
  *between(after: number, upTo: number): Generator<Entry> {
    if (!(after < upTo)) {
      return;
    }
    const from = untilSecond(after);
    const to = untilSecond(upTo);
    // A bouncer pulling every few seconds reads a handful of buckets directly; a long pause uses the sorted seconds.
    const seconds = to - from <= LONG_WINDOW_SECONDS ? count(from, to) : this.seconds.range(from, to);
    for (const second of seconds) {
      const bucket = this.buckets.get(second);
      for (const e of bucket === undefined ? NONE : Array.isArray(bucket) ? bucket : [bucket]) {
        if (e.until > after && e.until <= upTo && untilSecond(e.until) === second) {
          yield e;
        }
      }
    }
  }
}

const LONG_WINDOW_SECONDS = 3600;

const untilSecond = (until: number): number => Math.floor(until / 1000);

function* count(from: number, to: number): Generator<number> {
  for (let i = from; i <= to; i++) {
    yield i;
  }
}

/** A queried IP or range, with its addresses as keys of its family's table. */
interface Target {
  readonly range: IpRange;
  readonly start: OrderedKey;
  readonly end: OrderedKey;
}

const toTarget = (range: IpRange): Target => {
  const family: IpFamily<OrderedKey> = range.family === 4 ? V4 : V6;
  return { range, start: family.key(range.start), end: family.key(range.end) };
};

/** SQL `containment`: same family, and the decision covers (contains) or lies inside (not contains) the target. */
const inTarget = (e: Entry, t: Target, contains: boolean): boolean =>
  e.ipStart !== null &&
  typeof e.ipStart === typeof t.start &&
  (contains ? e.ipStart <= t.start && e.ipEnd >= t.end : e.ipStart >= t.start && e.ipEnd <= t.end);

interface CompiledFilter {
  readonly targets: readonly Target[];
  readonly contains: boolean;
  readonly value: string | undefined;
  readonly matches: (e: Entry) => boolean;
}

// The stream reads `removed = false` besides until. GET /v1/decisions does not in SQL, but a removed decision has
// until ≤ its removal time, so the two differ only for a clock behind that time.
const isActive = (e: Entry, now: number): boolean => e.until > now && !e.removed;

const sameKey = (a: Entry, b: Entry): boolean => a.value === b.value && a.type === b.type && a.scope === b.scope;

function longestUntil(group: Iterable<Entry>, of: Entry): number {
  let max = -Infinity;
  for (const o of group) {
    if (o.until > max && sameKey(o, of)) {
      max = o.until;
    }
  }
  return max;
}

const groupKey = (e: Entry): string => `${e.type}\u0000${e.scope}\u0000${e.value}`;

function memoized(f: (s: string) => string): (s: string) => string {
  const cache = new Map<string, string>();
  return (s) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = f(s);
      cache.set(s, v);
    }
    return v;
  };
}

const byId = (a: Entry, b: Entry): number => a.id - b.id;

/** The filters as a key: bigint addresses included. */
const filterKey = (filter: DecisionFilter, dedup: boolean): string =>
  `${dedup ? 1 : 0}${JSON.stringify(filter, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;

function views(entries: Entry[]): DecisionView[] {
  entries.sort(byId);
  return entries.map((e) => ({
    id: e.id,
    uuid: e.uuid,
    origin: e.origin,
    type: e.type,
    scope: e.scope,
    value: e.value,
    scenario: e.scenario,
    simulated: e.simulated,
    until: new Date(e.until),
  }));
}
