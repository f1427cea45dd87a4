import { isIpScope, parseIpRange, type IpRange } from '@lapi/domain';
import type { DecisionRecord } from '../redis/decision-record';
import type { DecisionFilter, DecisionView } from '../sql/decision-queries';
import { writeJsonString, type RenderedDecision, type RenderedList } from './decisions-json';
import { SortedKeys, type OrderedKey } from './sorted-keys';
import { StartupBody } from './startup-body';

// A startup answer is sent again, as rendered, for this long at most: its durations overstate the time left by up to
// this much (as a slow network would), in exchange for one rendering per burst of bouncers starting together.
export const STARTUP_REUSE_MS = 1_000;
// ... or, when rendering it took longer, for as long as that (a busy process would otherwise render anew for every
// pull of a burst, each body hundreds of MB at 1M decisions), up to this while it is still being rendered.
export const STARTUP_SHARE_MS = 10_000;
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
  private readonly cols = new Columns();
  /** Decision id → slot. */
  private readonly byId = new Map<number, number>();
  /** Decisions without IP columns, by value: the first slot of their "longest decision wins" groups. */
  private readonly byValue = new Map<string, number>();
  // Decisions with IP columns are found by network address; that also gives their groups, since one value always
  // parses to one address.
  private readonly v4: IpTable<number>;
  private readonly v6: IpTable<string>;
  private readonly expiries: ExpiryBuckets;
  // The change log, one (seq, slot) per apply, in seq order. Entries superseded by a later apply of the same
  // decision are dropped now and then, so it holds one entry per decision plus recent churn.
  private log = new ChangeLog();
  /** Bumped by every change to what an answer can contain: a startup body taken at another version is stale. */
  private version = 0;
  private readonly startups = new Map<string, { body: StartupBody; asked: boolean }>();
  private sweeping: NodeJS.Timeout | undefined;

  constructor() {
    const c = this.cols;
    this.v4 = new IpTable(
      V4,
      c,
      (s) => c.start4[s],
      (s) => c.end4[s],
    );
    this.v6 = new IpTable(
      V6,
      c,
      (s) => c.v6.get(s)!.start,
      (s) => c.v6.get(s)!.end,
    );
    this.expiries = new ExpiryBuckets(c);
  }

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
    let slot = this.byId.get(record.id);
    if (slot !== undefined) {
      this.update(slot, record, seq);
    } else {
      slot = this.insert(record, Math.min(firstSeq, seq));
      if (firstSeq < seq) {
        this.cols.changedSeq[slot] = seq; // changed since its first change, as if applied from the whole log
      }
    }
    this.lastSeq = seq;
    this.version++;
    this.log.push(seq, slot);
    if (this.log.length > 2 * this.byId.size + 1024) {
      this.log.compact(this.cols);
    }
  }

  /**
   * The decision as the index holds it, as a record of alert `alertId` (the index does not keep alert ids: callers
   * that change a decision know its alert, or do not need it). Undefined when unknown or compacted away.
   */
  current(id: number, alertId = 0): DecisionRecord | undefined {
    const slot = this.byId.get(id);
    if (slot === undefined) {
      return undefined;
    }
    const c = this.cols;
    const k = c.kindOf(slot);
    return {
      id,
      uuid: c.uuid(slot),
      alertId,
      origin: k.origin,
      type: k.type,
      scope: k.scope,
      value: c.values[slot],
      scenario: k.scenario,
      simulated: (c.flags[slot] & SIMULATED) !== 0,
      until: c.until[slot],
      removed: (c.flags[slot] & REMOVED) !== 0,
    };
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
    const c = this.cols;
    // Slots freed by the previous compaction can be reused from now on: a startup answer taken before it (which
    // renders from slots) has been sent long since.
    c.releaseFreed();
    let dropped = 0;
    for (const [id, slot] of this.byId) {
      if (c.until[slot] < before) {
        this.byId.delete(id);
        this.unindexValue(slot);
        this.expiries.remove(slot);
        c.free(slot);
        dropped++;
      }
    }
    if (dropped > 0) {
      this.version++;
      this.log.compact(c);
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
    const c = this.cols;
    let seen = 0;
    for (const slot of this.byId.values()) {
      if (isActive(c, slot, now)) {
        const k = c.kindOf(slot);
        const found = counts.get(k.countKey);
        if (found) {
          found.count++;
        } else {
          counts.set(k.countKey, { scenario: k.scenario, origin: k.origin, type: k.type, count: 1 });
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
    const found: number[] = [];
    if (q) {
      for (const slot of this.candidates(q)) {
        if (isActive(this.cols, slot, now) && q.matches(slot)) {
          found.push(slot);
        }
      }
    }
    return this.views(found);
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
      now - body.renderedAt > Math.max(STARTUP_REUSE_MS, body.busy ? STARTUP_SHARE_MS : body.renderMs) ||
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
    const c = this.cols;
    const created: number[] = [];
    const deleted: number[] = [];
    if (q) {
      for (const slot of this.candidates(q)) {
        // A removed decision whose until is still ahead is in neither list, as in SQL.
        const list = isActive(c, slot, now) ? created : c.until[slot] <= now ? deleted : null;
        if (list && q.matches(slot)) {
          list.push(slot);
        }
      }
    }
    return new StartupBody(new SlotList(c, created), new SlotList(c, deleted), now, this.version);
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
    const c = this.cols;
    const created = new Set<number>();
    const deleted = new Set<number>();
    const changedKeys = new Map<string, number>();
    const log = this.log;
    for (let i = log.firstAfter(cursor.seq); i < log.length; i++) {
      const slot = log.slots[i];
      if (!c.used(slot) || log.seqs[i] !== c.lastSeq(slot)) {
        continue; // a later entry of the log stands for this decision
      }
      if (c.firstSeq[slot] > cursor.seq && isActive(c, slot, now) && q.matches(slot)) {
        created.add(slot);
      }
      if (c.changedSeq[slot] > cursor.seq) {
        // Whatever the filter, as the SQL query of changed rows that feeds the re-send rule.
        changedKeys.set(groupKey(c, slot), slot);
        if (c.until[slot] <= now && q.matches(slot)) {
          deleted.add(slot);
        }
      }
    }
    for (const changed of changedKeys.values()) {
      for (let o = this.groupHead(changed); o !== NIL; o = c.groupNext[o]) {
        if (sameKey(c, o, changed) && isActive(c, o, now) && q.matches(o)) {
          created.add(o);
        }
      }
    }
    for (const slot of this.expiries.between(cursor.pulledAt, now)) {
      if (q.matches(slot)) {
        deleted.add(slot);
      }
    }
    return { new: this.views([...created]), deleted: this.views([...deleted]), next };
  }

  /**
   * Whether nothing was applied after `cursor` and no decision ended in (cursor.pulledAt, now]: a delta from it is
   * then empty whatever the filter, and the bouncer may stay at `cursor` rather than move to `now`, since every
   * later delta from either gives the same answer.
   */
  unchangedSince(cursor: IndexCursor, now: number): boolean {
    return cursor.seq === this.lastSeq && this.expiries.between(cursor.pulledAt, now).next().done === true;
  }

  private insert(r: DecisionRecord, seq: number): number {
    const c = this.cols;
    const slot = c.allocate();
    c.ids[slot] = r.id;
    c.setUuid(slot, r.uuid);
    c.kind[slot] = c.internKind(r.origin, r.type, r.scope, r.scenario);
    c.values[slot] = r.value;
    c.flags[slot] = USED | (r.simulated ? SIMULATED : 0) | (r.removed ? REMOVED : 0);
    c.until[slot] = r.until;
    c.firstSeq[slot] = seq;
    c.changedSeq[slot] = 0;
    this.byId.set(r.id, slot);
    this.indexValue(slot);
    this.expiries.add(slot);
    return slot;
  }

  private update(slot: number, r: DecisionRecord, seq: number): void {
    const c = this.cols;
    const k = c.kindOf(slot);
    // Value, type and scope never change in practice (the log lowers until or sets removed); handled all the same.
    const regroup = c.values[slot] !== r.value || k.type !== r.type || k.scope !== r.scope;
    if (regroup) {
      this.unindexValue(slot);
    }
    c.values[slot] = r.value;
    c.kind[slot] = c.internKind(r.origin, r.type, r.scope, r.scenario);
    if (regroup) {
      this.indexValue(slot);
    }
    const moved = untilSecond(c.until[slot]) !== untilSecond(r.until);
    if (moved) {
      this.expiries.remove(slot);
    }
    c.setUuid(slot, r.uuid);
    c.flags[slot] =
      (c.flags[slot] & ~(SIMULATED | REMOVED)) | (r.simulated ? SIMULATED : 0) | (r.removed ? REMOVED : 0);
    c.until[slot] = r.until;
    // Every apply after the first is a change, even one that lowers nothing: SQL sets changed_xid on every row a
    // deletion names, and the feeder emits a record for each.
    c.changedSeq[slot] = seq;
    if (moved) {
      this.expiries.add(slot);
    }
  }

  private indexValue(slot: number): void {
    const c = this.cols;
    const ip = ipOf(c.kindOf(slot).scope, c.values[slot]);
    if (!ip) {
      c.flags[slot] &= ~(IP4 | IP6);
      groupAdd(c, this.byValue, c.values[slot], slot);
    } else if (ip.family === 4) {
      c.flags[slot] = (c.flags[slot] & ~IP6) | IP4;
      this.v4.add(slot, ip);
    } else {
      c.flags[slot] = (c.flags[slot] & ~IP4) | IP6;
      this.v6.add(slot, ip);
    }
  }

  private unindexValue(slot: number): void {
    const c = this.cols;
    const ip = ipOf(c.kindOf(slot).scope, c.values[slot]);
    if (!ip) {
      groupDelete(c, this.byValue, c.values[slot], slot);
    } else if (ip.family === 4) {
      this.v4.delete(slot, ip);
    } else {
      this.v6.delete(slot, ip);
    }
    c.flags[slot] &= ~(IP4 | IP6);
  }

  /** The first slot of the group holding `slot`: the decisions that may share its value (compare value, type, scope). */
  private groupHead(slot: number): number {
    const prev = this.cols.groupPrev;
    let head = slot;
    while (prev[head] !== NIL) {
      head = prev[head];
    }
    return head;
  }

  /** The decisions a query has to look at (a superset of the answer): from the IP index, by value, or all. */
  private candidates(q: CompiledFilter): Iterable<number> {
    const t = q.targets[0];
    if (t) {
      const table = t.range.family === 4 ? this.v4 : this.v6;
      return q.contains ? table.covering(t.range) : table.inside(t.range);
    }
    if (q.value !== undefined) {
      const ip = parseIpRange(q.value);
      const byIp = ip?.family === 4 ? this.v4.at(V4.key(ip.start)) : ip ? this.v6.at(V6.key(ip.start)) : NONE;
      return [...group(this.cols, this.byValue.get(q.value)), ...byIp];
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
    const c = this.cols;
    const scopes = f.scopes ? new Set(f.scopes) : null;
    const origins = f.origins?.length ? new Set(f.origins) : null;
    const containing = f.scenariosContaining?.length ? f.scenariosContaining.map((w) => w.toLowerCase()) : null;
    const notContaining = f.scenariosNotContaining?.length
      ? f.scenariosNotContaining.map((w) => w.toLowerCase())
      : null;
    // The filters on kinds (few: scenario, origin, type and scope together) are decided once per kind and query.
    const { contains, value, type, includeSimulated } = f;
    const kindOk = (k: Kind): boolean => {
      if (
        (scopes && !scopes.has(k.scope)) ||
        (type !== undefined && k.type !== type) ||
        (origins && !origins.has(k.origin))
      ) {
        return false;
      }
      const scenario = containing || notContaining ? k.scenario.toLowerCase() : '';
      if (containing && !containing.some((w) => scenario.includes(w))) {
        return false;
      }
      return !notContaining?.some((w) => scenario.includes(w));
    };
    const kinds = new Int8Array(c.kinds.length); // 0: not decided yet, 1: matches, -1: does not
    const longest = dedup ? this.longestCheck() : null;
    const matches = (slot: number): boolean => {
      for (const t of targets) {
        if (!inTarget(c, slot, t, contains)) {
          return false;
        }
      }
      const flags = c.flags[slot];
      if ((!includeSimulated && (flags & SIMULATED) !== 0) || (value !== undefined && c.values[slot] !== value)) {
        return false;
      }
      const kind = c.kind[slot];
      let ok = kind < kinds.length ? kinds[kind] : 0;
      if (ok === 0) {
        ok = kindOk(c.kinds[kind]) ? 1 : -1;
        if (kind < kinds.length) {
          kinds[kind] = ok;
        }
      }
      return ok === 1 && (!longest || longest(slot));
    };
    return { targets, contains, value, matches };
  }

  /**
   * "Longest decision wins" over all records, removed and expired included: no decision with the same value, type
   * and scope has a strictly later until. Groups are tiny in practice; a large one gets its maximum memoised.
   */
  private longestCheck(): (slot: number) => boolean {
    const c = this.cols;
    const maxima = new Map<string, number>();
    return (slot) => {
      if (c.groupNext[slot] === NIL && c.groupPrev[slot] === NIL) {
        return true; // most decisions: alone with their value, nothing to compare with
      }
      const head = this.groupHead(slot);
      let n = 0;
      for (let o = head; o !== NIL && n <= 16; o = c.groupNext[o]) {
        n++;
      }
      if (n > 16) {
        const key = groupKey(c, slot);
        let max = maxima.get(key);
        if (max === undefined) {
          max = -Infinity;
          for (let o = head; o !== NIL; o = c.groupNext[o]) {
            if (c.until[o] > max && sameKey(c, o, slot)) {
              max = c.until[o];
            }
          }
          maxima.set(key, max);
        }
        return c.until[slot] >= max;
      }
      for (let o = head; o !== NIL; o = c.groupNext[o]) {
        if (c.until[o] > c.until[slot] && sameKey(c, o, slot)) {
          return false;
        }
      }
      return true;
    };
  }

  private views(slots: number[]): DecisionView[] {
    const c = this.cols;
    slots.sort((a, b) => c.ids[a] - c.ids[b]);
    return slots.map((slot) => c.view(slot, c.until[slot]));
  }
}

const NIL = -1;
// Bits of Columns.flags.
const USED = 1;
const SIMULATED = 2;
const REMOVED = 4;
const IP4 = 8;
const IP6 = 16;

/** What thousands of decisions share: interned once, referenced by number. */
class Kind {
  /** countActive's key. */
  readonly countKey: string;

  constructor(
    readonly origin: string,
    readonly type: string,
    readonly scope: string,
    readonly scenario: string,
  ) {
    this.countKey = `${scenario}\u0000${origin}\u0000${type}`;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const HEX_CODES = new Uint8Array(512);
HEX.forEach((pair, b) => {
  HEX_CODES[2 * b] = pair.charCodeAt(0);
  HEX_CODES[2 * b + 1] = pair.charCodeAt(1);
});
/** Where each byte of a uuid starts in its text (the dashes skipped). */
const UUID_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * The decisions, one slot each, as columns: typed arrays for numbers, flags, addresses and uuids (canonical
 * lowercase ones as 16 bytes), kinds by number, and one string per decision: its value. At 1M decisions a column of
 * doubles is 8 MB, outside the JavaScript heap (no garbage collection walks it).
 */
class Columns {
  capacity = 0;
  ids = new Float64Array(0);
  until = new Float64Array(0);
  firstSeq = new Float64Array(0);
  /** seq of the last apply after the first; 0 if none. */
  changedSeq = new Float64Array(0);
  flags = new Uint8Array(0);
  kind = new Uint32Array(0);
  /** IPv4 network and last address, as keys of V4 (IP4 decisions). */
  start4 = new Int32Array(0);
  end4 = new Int32Array(0);
  /** Links of the "longest decision wins" groups (same value or network address) and of the expiry buckets. */
  groupNext = new Int32Array(0);
  groupPrev = new Int32Array(0);
  expiryNext = new Int32Array(0);
  expiryPrev = new Int32Array(0);
  uuidBytes = new Uint8Array(0);
  readonly values: string[] = [];
  /** Uuids not in canonical form, by slot. */
  readonly otherUuids = new Map<number, string>();
  /** IPv6 addresses, as keys of V6, by slot (IP6 decisions: few). */
  readonly v6 = new Map<number, { start: string; end: string }>();
  readonly kinds: Kind[] = [];
  private readonly kindIds = new Map<string, number>();
  private next = 0;
  private readonly reusable: number[] = [];
  private freed: number[] = [];

  allocate(): number {
    const reused = this.reusable.pop();
    if (reused !== undefined) {
      return reused;
    }
    if (this.next === this.capacity) {
      this.grow(Math.max(1024, Math.ceil(this.capacity * 1.5)));
    }
    return this.next++;
  }

  /** A slot given back: reusable after releaseFreed, so that a startup answer taken before can still read it. */
  free(slot: number): void {
    this.flags[slot] = 0;
    this.values[slot] = '';
    this.otherUuids.delete(slot);
    this.v6.delete(slot);
    this.freed.push(slot);
  }

  releaseFreed(): void {
    for (const slot of this.freed) {
      this.reusable.push(slot);
    }
    this.freed = [];
  }

  used(slot: number): boolean {
    return (this.flags[slot] & USED) !== 0;
  }

  lastSeq(slot: number): number {
    return this.changedSeq[slot] || this.firstSeq[slot];
  }

  kindOf(slot: number): Kind {
    return this.kinds[this.kind[slot]];
  }

  internKind(origin: string, type: string, scope: string, scenario: string): number {
    const key = `${origin}\u0000${type}\u0000${scope}\u0000${scenario}`;
    let id = this.kindIds.get(key);
    if (id === undefined) {
      id = this.kinds.length;
      this.kinds.push(new Kind(origin, type, scope, scenario));
      this.kindIds.set(key, id);
    }
    return id;
  }

  setUuid(slot: number, uuid: string): void {
    if (UUID.test(uuid)) {
      this.otherUuids.delete(slot);
      const bytes = this.uuidBytes;
      for (let i = 0; i < 16; i++) {
        bytes[16 * slot + i] = parseInt(uuid.substr(UUID_AT[i], 2), 16);
      }
    } else {
      this.otherUuids.set(slot, uuid);
    }
  }

  uuid(slot: number): string {
    const other = this.otherUuids.get(slot);
    if (other !== undefined) {
      return other;
    }
    const b = this.uuidBytes;
    const at = 16 * slot;
    let s = '';
    for (let i = 0; i < 16; i++) {
      s += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[b[at + i]];
    }
    return s;
  }

  /** Writes the uuid as JSON (quoted) at `at` when canonical; returns the position after it, or -1 if not. */
  writeUuid(slot: number, buf: Uint8Array, at: number): number {
    if (this.otherUuids.has(slot)) {
      return -1;
    }
    const b = this.uuidBytes;
    let pos = at;
    buf[pos++] = 0x22;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) {
        buf[pos++] = 0x2d;
      }
      const byte = b[16 * slot + i];
      buf[pos++] = HEX_CODES[2 * byte];
      buf[pos++] = HEX_CODES[2 * byte + 1];
    }
    buf[pos++] = 0x22;
    return pos;
  }

  view(slot: number, until: number): DecisionView {
    const k = this.kindOf(slot);
    return {
      id: this.ids[slot],
      uuid: this.uuid(slot),
      origin: k.origin,
      type: k.type,
      scope: k.scope,
      value: this.values[slot],
      scenario: k.scenario,
      simulated: (this.flags[slot] & SIMULATED) !== 0,
      until: new Date(until),
    };
  }

  private grow(capacity: number): void {
    const f64 = (a: Float64Array<ArrayBuffer>) => copyInto(new Float64Array(capacity), a);
    const i32 = (a: Int32Array<ArrayBuffer>) => copyInto(new Int32Array(capacity), a);
    this.ids = f64(this.ids);
    this.until = f64(this.until);
    this.firstSeq = f64(this.firstSeq);
    this.changedSeq = f64(this.changedSeq);
    this.flags = copyInto(new Uint8Array(capacity), this.flags);
    this.kind = copyInto(new Uint32Array(capacity), this.kind);
    this.start4 = i32(this.start4);
    this.end4 = i32(this.end4);
    this.groupNext = i32(this.groupNext);
    this.groupPrev = i32(this.groupPrev);
    this.expiryNext = i32(this.expiryNext);
    this.expiryPrev = i32(this.expiryPrev);
    this.uuidBytes = copyInto(new Uint8Array(16 * capacity), this.uuidBytes);
    this.capacity = capacity;
  }
}

function copyInto<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(to: T, from: T): T {
  to.set(from);
  return to;
}

/** Adds `slot` to the group under `key` (the group's first slot is what the map holds). */
function groupAdd<K>(c: Columns, heads: Map<K, number>, key: K, slot: number): boolean {
  const head = heads.get(key);
  c.groupPrev[slot] = NIL;
  c.groupNext[slot] = head ?? NIL;
  if (head !== undefined) {
    c.groupPrev[head] = slot;
  }
  heads.set(key, slot);
  return head === undefined;
}

/** Removes `slot` from the group under `key`; true when the key is gone. */
function groupDelete<K>(c: Columns, heads: Map<K, number>, key: K, slot: number): boolean {
  const prev = c.groupPrev[slot];
  const next = c.groupNext[slot];
  if (next !== NIL) {
    c.groupPrev[next] = prev;
  }
  c.groupNext[slot] = NIL;
  c.groupPrev[slot] = NIL;
  if (prev !== NIL) {
    c.groupNext[prev] = next;
    return false;
  }
  if (next !== NIL) {
    heads.set(key, next);
    return false;
  }
  heads.delete(key);
  return true;
}

function* group(c: Columns, head: number | undefined): Generator<number> {
  for (let o = head ?? NIL; o !== NIL; o = c.groupNext[o]) {
    yield o;
  }
}

const NONE: readonly number[] = [];

/** A startup answer's decisions, as slots and their ends when it was taken: rendered from the columns. */
class SlotList implements RenderedList {
  private readonly slots: Int32Array;
  private readonly ends: Float64Array;

  constructor(
    private readonly c: Columns,
    slots: number[],
  ) {
    slots.sort((a, b) => c.ids[a] - c.ids[b]);
    this.slots = Int32Array.from(slots);
    this.ends = new Float64Array(slots.length);
    for (let i = 0; i < slots.length; i++) {
      this.ends[i] = c.until[slots[i]];
    }
  }

  get length(): number {
    return this.slots.length;
  }

  at(i: number): RenderedDecision {
    const c = this.c;
    const slot = this.slots[i];
    const k = c.kindOf(slot);
    // A canonical uuid is written from its bytes (writeUuid): '' here.
    const uuid = c.otherUuids.get(slot) ?? '';
    return {
      id: c.ids[slot],
      uuid,
      origin: k.origin,
      type: k.type,
      scope: k.scope,
      value: c.values[slot],
      scenario: k.scenario,
    };
  }

  writeUuid(i: number, buf: Uint8Array, at: number): number {
    const slot = this.slots[i];
    const end = this.c.writeUuid(slot, buf, at);
    return end >= 0 ? end : writeJsonString(buf, at, this.c.uuid(slot));
  }

  until(i: number): number {
    return this.ends[i];
  }

  views(): DecisionView[] {
    return Array.from(this.slots, (slot, i) => this.c.view(slot, this.ends[i]));
  }
}

/** How one family's addresses become table keys: both order with `<` and key a Map by value. */
interface IpFamily<K extends OrderedKey> {
  readonly bits: number;
  key(address: bigint): K;
  /** The key of the network of `prefix` bits that holds `address`. */
  network(address: bigint, prefix: number): K;
}

// IPv4 shifted into the signed 32-bit range and made an int (`| 0`): it fits an Int32Array and is a Smi as a Map
// key; order is kept.
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
  /** Network address → the first slot of its group. */
  private readonly heads = new Map<K, number>();
  private readonly starts = new SortedKeys<K>(() => this.heads.keys());
  private readonly perPrefix: Int32Array;

  constructor(
    private readonly family: IpFamily<K>,
    private readonly c: Columns,
    readonly startOf: (slot: number) => K,
    readonly endOf: (slot: number) => K,
  ) {
    this.perPrefix = new Int32Array(family.bits + 1);
  }

  add(slot: number, ip: ParsedIp): void {
    const start = this.family.key(ip.start);
    const end = this.family.key(ip.end);
    if (typeof start === 'number') {
      this.c.start4[slot] = start;
      this.c.end4[slot] = end as number;
    } else {
      this.c.v6.set(slot, { start, end: end as string });
    }
    if (groupAdd(this.c, this.heads, start, slot)) {
      this.starts.add(start);
    }
    this.perPrefix[ip.prefix]++;
  }

  delete(slot: number, ip: ParsedIp): void {
    const start = this.family.key(ip.start);
    if (groupDelete(this.c, this.heads, start, slot)) {
      this.starts.delete(start);
    }
    this.perPrefix[ip.prefix]--;
    this.c.v6.delete(slot);
  }

  at(start: K): Iterable<number> {
    return group(this.c, this.heads.get(start));
  }

  *covering(target: IpRange): Generator<number> {
    const end = this.family.key(target.end);
    const next = this.c.groupNext;
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
      for (let o = this.heads.get(network) ?? NIL; o !== NIL; o = next[o]) {
        if (this.endOf(o) >= end) {
          yield o;
        }
      }
    }
  }

  *inside(target: IpRange): Generator<number> {
    const end = this.family.key(target.end);
    const next = this.c.groupNext;
    for (const start of this.starts.range(this.family.key(target.start), end)) {
      for (let o = this.heads.get(start) ?? NIL; o !== NIL; o = next[o]) {
        if (this.endOf(o) <= end) {
          yield o;
        }
      }
    }
  }
}

/** Decisions by the second their until falls in, for "expired since the last pull": one linked list a second. */
class ExpiryBuckets {
  /** Second → the first slot of its list. */
  private readonly heads = new Map<number, number>();
  private readonly seconds = new SortedKeys<number>(() => this.heads.keys());

  constructor(private readonly c: Columns) {}

  add(slot: number): void {
    const c = this.c;
    const second = untilSecond(c.until[slot]);
    const head = this.heads.get(second);
    c.expiryPrev[slot] = NIL;
    c.expiryNext[slot] = head ?? NIL;
    if (head === undefined) {
      this.seconds.add(second);
    } else {
      c.expiryPrev[head] = slot;
    }
    this.heads.set(second, slot);
  }

  /** Takes `slot` out of the list of the second of its until (call before changing it). */
  remove(slot: number): void {
    const c = this.c;
    const prev = c.expiryPrev[slot];
    const next = c.expiryNext[slot];
    if (next !== NIL) {
      c.expiryPrev[next] = prev;
    }
    if (prev !== NIL) {
      c.expiryNext[prev] = next;
    } else {
      const second = untilSecond(c.until[slot]);
      if (next !== NIL) {
        this.heads.set(second, next);
      } else {
        this.heads.delete(second);
        this.seconds.delete(second);
      }
    }
    c.expiryNext[slot] = NIL;
    c.expiryPrev[slot] = NIL;
  }

  /** Decisions with until in (after, upTo]. */
  *between(after: number, upTo: number): Generator<number> {
    if (!(after < upTo)) {
      return;
    }
    const c = this.c;
    const from = untilSecond(after);
    const to = untilSecond(upTo);
    // A bouncer pulling every few seconds reads a handful of buckets directly; a long pause uses the sorted seconds.
    const seconds = to - from <= LONG_WINDOW_SECONDS ? count(from, to) : this.seconds.range(from, to);
    for (const second of seconds) {
      for (let o = this.heads.get(second) ?? NIL; o !== NIL; o = c.expiryNext[o]) {
        const until = c.until[o];
        if (until > after && until <= upTo) {
          yield o;
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

/** The change log: (seq, slot) pairs in seq order, in growable typed arrays. */
class ChangeLog {
  seqs = new Float64Array(1024);
  slots = new Int32Array(1024);
  length = 0;

  push(seq: number, slot: number): void {
    if (this.length === this.seqs.length) {
      const capacity = Math.ceil(this.length * 1.5);
      this.seqs = copyInto(new Float64Array(capacity), this.seqs);
      this.slots = copyInto(new Int32Array(capacity), this.slots);
    }
    this.seqs[this.length] = seq;
    this.slots[this.length] = slot;
    this.length++;
  }

  firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid] <= seq) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** Keeps the last entry of each decision still held, in place. */
  compact(c: Columns): void {
    let kept = 0;
    for (let i = 0; i < this.length; i++) {
      const slot = this.slots[i];
      if (c.used(slot) && c.lastSeq(slot) === this.seqs[i]) {
        this.seqs[kept] = this.seqs[i];
        this.slots[kept] = slot;
        kept++;
      }
    }
    this.length = kept;
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
function inTarget(c: Columns, slot: number, t: Target, contains: boolean): boolean {
  const flags = c.flags[slot];
  let start: OrderedKey;
  let end: OrderedKey;
  if ((flags & IP4) !== 0 && typeof t.start === 'number') {
    start = c.start4[slot];
    end = c.end4[slot];
  } else if ((flags & IP6) !== 0 && typeof t.start === 'string') {
    const v6 = c.v6.get(slot)!;
    start = v6.start;
    end = v6.end;
  } else {
    return false;
  }
  return contains ? start <= t.start && end >= t.end : start >= t.start && end <= t.end;
}

interface CompiledFilter {
  readonly targets: readonly Target[];
  readonly contains: boolean;
  readonly value: string | undefined;
  readonly matches: (slot: number) => boolean;
}

// The stream reads `removed = false` besides until. GET /v1/decisions does not in SQL, but a removed decision has
// until ≤ its removal time, so the two differ only for a clock behind that time.
const isActive = (c: Columns, slot: number, now: number): boolean =>
  c.until[slot] > now && (c.flags[slot] & REMOVED) === 0;

function sameKey(c: Columns, a: number, b: number): boolean {
  if (c.values[a] !== c.values[b]) {
    return false;
  }
  const ka = c.kindOf(a);
  const kb = c.kindOf(b);
  return ka.type === kb.type && ka.scope === kb.scope;
}

const groupKey = (c: Columns, slot: number): string => {
  const k = c.kindOf(slot);
  return `${k.type}\u0000${k.scope}\u0000${c.values[slot]}`;
};

/** The filters as a key: bigint addresses included. */
const filterKey = (filter: DecisionFilter, dedup: boolean): string =>
  `${dedup ? 1 : 0}${JSON.stringify(filter, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
