import type { Checkpoint, RecordedEvent } from '@lapi/event-store';
import type Redis from 'ioredis';
import { formatCheckpoint, parseCheckpoint, type ProjectionTarget } from '../../coordination/projector';
import { decisionChanges } from '../model';
import { decisionOps, type DecisionOp, type DecisionRecord } from './decision-record';

/** The keys of one build of the decisions read model; all share a prefix so a rebuild can live beside the old one. */
export const decisionKeys = (prefix: string) => ({
  prefix,
  checkpoint: `${prefix}checkpoint`,
  /** Last change number: the change log's ids are `<seq>-0`. */
  seq: `${prefix}seq`,
  /** Hash chain over the change log up to seq (see APPLY): names a log, so a rebuilt one can be told apart. */
  hash: `${prefix}hash`,
  /** id → `<first seq>:<last seq>:<DecisionRecord JSON>` (see storedRecord): a replica's snapshot. */
  records: `${prefix}records`,
  /** id scored by until: what compaction reads. */
  ends: `${prefix}ends`,
  /** Redis stream of changed records, one entry per change, id = seq: what replicas and stream deltas read. */
  changes: `${prefix}changes`,
  /** id scored by until (ms): what the expiry sweep reads. */
  expiry: `${prefix}expiry`,
  /** Set while the read model is built from the start of the log, until it has caught up. */
  building: `${prefix}building`,
  /** Log time (ms): the latest created_at of the events applied; compaction measures the window on it. */
  clock: `${prefix}clock`,
  /** Minute of log time → last seq written in it: where compaction trims the change log. */
  marks: `${prefix}marks`,
  /** Records with until before this (ms) are dropped, and deltas from cursors pulled before it are not answered. */
  compacted: `${prefix}compacted`,
  /** `<checkpoint>#<step>`: how far the batch after that checkpoint was applied (see APPLY). */
  progress: `${prefix}progress`,
});
export type DecisionKeys = ReturnType<typeof decisionKeys>;

// What each event does to the decisions is computed in TypeScript by the rules of decisions/model.ts, from the
// records this read model holds; this script only writes it. A batch is applied in steps of at most STEP_CHANGES
// changes (a 100k-decision alert, or the deletion of 100k decisions, would otherwise hold Redis in one script for
// seconds: every replica's reads fail BUSY). Each step is one script: it checks the checkpoint and the batch's
// progress (`progress` = "<from>#<step>"), writes the step's changes and moves the progress, all or nothing; the
// last one moves the checkpoint. So a crash or a replay never applies a step twice, and a projector that takes over
// resumes at the next step, whose records it reads again. Steps are cut per event (never across two), so the steps
// of the events after a checkpoint are the same whatever the batch size. Records read before a step cannot change
// before it commits: the checkpoint and progress fence off any other projector, and compaction drops only records
// that ended long before any change an event can make.
//
// Deterministic numbering: the projector reads the log in one fixed order ((transaction id, position) below xmin,
// so nothing can later appear before the checkpoint) and the rules yield a number of changes, in an order, that
// only depend on the events and on what was built before (alert members are taken by ascending id). So a rebuild
// from the start gives every change the same seq as before: replicas and bouncer cursors stay valid when Redis is
// emptied. Each change also extends a hash chain (field h, key hash) over (id, uuid, until, removed) that lets a
// replica or a cursor check it is on the same log at a given seq, not on one numbered differently.
//
// ARGV[4]: {c = changes [id, uuid, until, removed 0|1, created 0|1, alertId, record JSON], u = ids that leave the
// expiry index without a change, a = alerts [alertId, members that leave its set, 1 when the whole set goes],
// d = the step is done (false: an alert deletion goes on with the next members)}.
const APPLY = `
local p = ARGV[1]
if (redis.call('GET', p .. 'checkpoint') or '') ~= ARGV[2] then return -1 end
local progress = redis.call('GET', p .. 'progress')
local step = 0
if progress then
  local from, n = string.match(progress, '^(.*)#(%d+)$')
  if from == ARGV[2] then step = tonumber(n) end
end
if step ~= tonumber(ARGV[6]) then return -1 end
if ARGV[2] == '' then redis.call('SET', p .. 'building', '1') end
local w = cjson.decode(ARGV[4])
local hash = redis.call('GET', p .. 'hash') or ''
for _, c in ipairs(w.c) do
  local id = c[1]
  local seq = string.format('%d', redis.call('INCR', p .. 'seq'))
  -- A record keeps the seq of its first change (records written before they carried it have none).
  local first = seq
  if c[5] == 0 then
    local stored = redis.call('HGET', p .. 'records', id)
    first = (stored and string.match(stored, '^(%d+):%d+:')) or seq
  end
  hash = redis.sha1hex(hash .. '|' .. id .. ':' .. c[2] .. ':' .. c[3] .. ':' .. c[4])
  redis.call('HSET', p .. 'records', id, first .. ':' .. seq .. ':' .. c[7])
  redis.call('ZADD', p .. 'ends', c[3], id)
  -- A new decision waits in the expiry index until the sweep records its expiry; one that ended early leaves it.
  if c[5] == 1 then
    redis.call('ZADD', p .. 'expiry', c[3], id)
    redis.call('SADD', p .. 'alert:' .. c[6], id)
  else
    redis.call('ZREM', p .. 'expiry', id)
  end
  redis.call('XADD', p .. 'changes', seq .. '-0', 'r', c[7], 'h', hash)
end
for _, id in ipairs(w.u) do
  redis.call('ZREM', p .. 'expiry', id)
end
for _, a in ipairs(w.a) do
  local key = p .. 'alert:' .. a[1]
  if a[3] == 1 then
    redis.call('DEL', key)
  else
    for _, id in ipairs(a[2]) do
      redis.call('SREM', key, id)
    end
  end
end
redis.call('SET', p .. 'hash', hash)
if w.d then
  if ARGV[7] == '1' then
    redis.call('SET', p .. 'checkpoint', ARGV[3])
    redis.call('DEL', p .. 'progress')
  else
    redis.call('SET', p .. 'progress', ARGV[2] .. '#' .. string.format('%d', step + 1))
  end
end
local clock = math.max(tonumber(redis.call('GET', p .. 'clock') or '0'), tonumber(ARGV[5]))
redis.call('SET', p .. 'clock', string.format('%d', clock))
local seq = tonumber(redis.call('GET', p .. 'seq') or '0')
if seq > 0 then redis.call('ZADD', p .. 'marks', 'GT', seq, string.format('%d', math.floor(clock / 60000))) end
return w.d and 1 or 0`;

// Drops, at most ARGV[4] at a time, the records that ended before the cutoff: the window (ARGV[3] ms) back from
// the log time, or from now if the log is ahead of this clock. Measured on the log, a build from the start (Redis
// emptied, a rebuild) drops what the first build had dropped at that point of the log, nothing it still needed.
// Once none is left: publishes the cutoff (replicas drop the same records) and trims the change log of the
// minutes of log time before it. Consumes no change number: numbering and the hash chain do not depend on it.
const COMPACT = `
local p = ARGV[1]
local clock = tonumber(redis.call('GET', p .. 'clock') or '0')
if clock == 0 then return {0, 0} end
local t = math.min(clock, tonumber(ARGV[2])) - tonumber(ARGV[3])
local cutoff = t - (t % 1000)
local ids = redis.call('ZRANGEBYSCORE', p .. 'ends', '-inf', '(' .. string.format('%d', cutoff), 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  local value = redis.call('HGET', p .. 'records', id)
  if value then
    local rec = cjson.decode(string.match(value, '^%d+:%d+:(.*)$') or value)
    redis.call('SREM', p .. 'alert:' .. string.format('%d', rec.alertId), id)
    redis.call('HDEL', p .. 'records', id)
  end
  redis.call('ZREM', p .. 'ends', id)
end
if #ids == tonumber(ARGV[4]) then return {#ids, 0} end
if cutoff > tonumber(redis.call('GET', p .. 'compacted') or '0') then
  redis.call('SET', p .. 'compacted', string.format('%d', cutoff))
end
local marks = redis.call('ZRANGE', p .. 'marks', 0, -1, 'WITHSCORES')
local last = 0
for i = 1, #marks, 2 do
  if (tonumber(marks[i]) + 1) * 60000 <= cutoff then
    last = math.max(last, tonumber(marks[i + 1]))
    redis.call('ZREM', p .. 'marks', marks[i])
  end
end
if last > 0 then redis.call('XTRIM', p .. 'changes', 'MINID', string.format('%d', last + 1) .. '-0') end
return {#ids, cutoff}`;

// Changes one APPLY script makes at most: a few tens of milliseconds of Redis.
const STEP_CHANGES = 2_000;

/** One APPLY script's input (see APPLY). */
interface StepWrites {
  readonly c: [
    id: string,
    uuid: string,
    until: string,
    removed: 0 | 1,
    created: 0 | 1,
    alertId: string,
    json: string,
  ][];
  readonly u: readonly string[];
  readonly a: [alertId: string, leaving: string[], whole: 0 | 1][];
  readonly d: boolean;
}
const NO_WRITES: StepWrites = { c: [], u: [], a: [], d: true };

/**
 * The batch's ops cut into steps of at most STEP_CHANGES changes, per event (see APPLY): puts and ids in slices,
 * alert deletions in slices of alerts (whose members are taken STEP_CHANGES at a time, see writesOf).
 */
function applySteps(events: readonly RecordedEvent[]): DecisionOp[][] {
  const steps: DecisionOp[][] = [];
  for (const event of events) {
    let puts: DecisionOp[] = [];
    for (const op of decisionOps(event)) {
      if (op.op === 'put') {
        puts.push(op);
        if (puts.length === STEP_CHANGES) {
          steps.push(puts);
          puts = [];
        }
        continue;
      }
      if (puts.length > 0) {
        steps.push(puts);
        puts = [];
      }
      if (op.op === 'removeAlerts') {
        for (let i = 0; i < op.alertIds.length; i += STEP_CHANGES) {
          steps.push([{ ...op, alertIds: op.alertIds.slice(i, i + STEP_CHANGES) }]);
        }
      } else {
        for (let i = 0; i < op.ids.length; i += STEP_CHANGES) {
          steps.push([{ ...op, ids: op.ids.slice(i, i + STEP_CHANGES) }]);
        }
      }
    }
    if (puts.length > 0) {
      steps.push(puts);
    }
  }
  return steps;
}

/** The cluster's decisions read model in Redis, fed by the Projector from the event log. */
export class RedisDecisionsTarget implements ProjectionTarget {
  readonly name = 'decisions';

  constructor(
    private readonly redis: Redis,
    readonly keys: DecisionKeys,
  ) {}

  async checkpoint(): Promise<Checkpoint | null> {
    return parseCheckpoint(await this.redis.get(this.keys.checkpoint));
  }

  async apply(events: readonly RecordedEvent[], from: Checkpoint | null, to: Checkpoint): Promise<boolean> {
    const fromText = from ? formatCheckpoint(from) : '';
    const steps = applySteps(events);
    const progress = await this.redis.get(this.keys.progress);
    const resumed = progress?.startsWith(`${fromText}#`) ? Number(progress.slice(fromText.length + 1)) : 0;
    const clock = String(Math.max(0, ...events.map((e) => e.createdAt.getTime())));
    // The last step is always an empty one: it moves the checkpoint (a batch may hold no decision at all).
    for (let step = resumed; step <= steps.length; step++) {
      for (;;) {
        const writes = step < steps.length ? await this.writesOf(steps[step]) : NO_WRITES;
        const result = await this.redis.eval(
          APPLY,
          0,
          this.keys.prefix,
          fromText,
          formatCheckpoint(to),
          JSON.stringify(writes),
          clock,
          String(step),
          step === steps.length ? '1' : '0',
        );
        if (result === -1) {
          return false;
        }
        if (result === 1) {
          break; // otherwise an alert's deletion goes on with its next members
        }
      }
    }
    return true;
  }

  /** What one step writes: the rules applied to the records it names, as they stand now. */
  private async writesOf(ops: readonly DecisionOp[]): Promise<StepWrites> {
    const op = ops[0];
    let ids: string[] = [];
    const alerts: StepWrites['a'] = [];
    const membersOf = new Map<number, number[]>();
    let done = true;
    if (op.op === 'expire' || op.op === 'expired') {
      ids = op.ids.map(String);
    } else if (op.op === 'removeAlerts') {
      // The alerts in order, each one's smallest members first, at most STEP_CHANGES members a step: the step is
      // repeated (each alert done leaves, the members done leave their alert's set) until none is left.
      const sets = ((await this.redis
        .pipeline(op.alertIds.map((alertId) => ['smembers', `${this.keys.prefix}alert:${alertId}`]))
        .exec()) ?? []) as [Error | null, string[]][];
      let budget = STEP_CHANGES;
      for (let i = 0; i < op.alertIds.length && done; i++) {
        const [error, members] = sets[i];
        if (error) {
          throw error;
        }
        const all = members.map(Number).sort((a, b) => a - b);
        const taken = all.slice(0, budget);
        budget -= taken.length;
        membersOf.set(op.alertIds[i], taken);
        ids.push(...taken.map(String));
        if (taken.length === all.length) {
          alerts.push([String(op.alertIds[i]), [], 1]);
        } else {
          alerts.push([String(op.alertIds[i]), taken.map(String), 0]);
          done = false;
        }
      }
    }
    const held = new Map<number, DecisionRecord>();
    if (ids.length > 0 && op.op !== 'expired') {
      const stored = await this.redis.hmget(this.keys.records, ...ids);
      for (const value of stored) {
        if (value !== null) {
          const { record } = parseStoredRecord(value);
          held.set(record.id, record);
        }
      }
    }
    const changes: StepWrites['c'] = [];
    const changed = new Set<number>();
    const state = { get: (id: number) => held.get(id), idsOfAlert: (alertId: number) => membersOf.get(alertId) ?? [] };
    for (const { record, created } of decisionChanges(ops, state)) {
      held.set(record.id, record); // the ops of a step see each other's changes
      changed.add(record.id);
      changes.push([
        String(record.id),
        record.uuid,
        String(record.until),
        record.removed ? 1 : 0,
        created ? 1 : 0,
        String(record.alertId),
        JSON.stringify(record),
      ]);
    }
    // A deletion that changes nothing (the decision had ended) still takes the decision out of the expiry index.
    const unchanged = op.op === 'expired' ? ids : ids.filter((id) => held.has(Number(id)) && !changed.has(Number(id)));
    return { c: changes, u: unchanged, a: alerts, d: done };
  }

  /**
   * One round of compaction (see COMPACT): drops at most `limit` records that ended more than `windowMs` before
   * the log's time (capped by `now`). `done` once none is left; `cutoff` is then the time published to replicas.
   */
  async compact(now: number, windowMs: number, limit = 1000): Promise<{ dropped: number; done: boolean }> {
    const [dropped] = (await this.redis.eval(COMPACT, 0, this.keys.prefix, now, windowMs, limit)) as [number, number];
    return { dropped, done: dropped < limit };
  }

  /** Records with until before this (ms) have been dropped; 0 when never compacted. */
  async compactedBefore(): Promise<number> {
    return Number((await this.redis.get(this.keys.compacted)) ?? 0);
  }

  /** Last change number (0 when empty). */
  async seq(): Promise<number> {
    return Number((await this.redis.get(this.keys.seq)) ?? 0);
  }

  async records(): Promise<DecisionRecord[]> {
    const all = await this.redis.hvals(this.keys.records);
    return all.map((value) => parseStoredRecord(value).record);
  }

  caughtUp(): Promise<unknown> {
    return this.redis.del(this.keys.building);
  }

  /**
   * Decisions whose until passed and whose expiry is not recorded yet, oldest first. None while the read model is
   * built from the start (Redis emptied): its expiry index still holds decisions whose expiry the log records later.
   */
  async dueExpiries(now: number, limit: number): Promise<number[]> {
    const [[, building], [, ids]] = (await this.redis
      .multi()
      .exists(this.keys.building)
      .zrangebyscore(this.keys.expiry, '-inf', String(now), 'LIMIT', 0, limit)
      .exec()) as [[null, number], [null, string[]]];
    return building ? [] : ids.map(Number);
  }

  /** Changes after `seq`, in order, at most `count`. */
  async changesAfter(seq: number, count: number): Promise<Change[]> {
    return parseChanges(await this.redis.xrange(this.keys.changes, `(${seq}-0`, '+', 'COUNT', count));
  }
}

/** One entry of the change log: the record as it became at `seq`, and the hash chain up to it. */
export interface Change {
  readonly seq: number;
  readonly record: DecisionRecord;
  readonly hash: string;
}

export const parseChanges = (entries: [id: string, fields: string[]][]): Change[] =>
  entries.map(([id, fields]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) {
      f[fields[i]] = fields[i + 1];
    }
    // Entries written before the hash chain existed have no h: '' never matches a real hash.
    return { seq: Number(id.split('-')[0]), record: JSON.parse(f.r) as DecisionRecord, hash: f.h ?? '' };
  });

/** A record as the records hash keeps it, with the seqs of its first and last change (0 for records kept before). */
export interface StoredRecord {
  readonly record: DecisionRecord;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export function parseStoredRecord(value: string): StoredRecord {
  const m = /^(\d+):(\d+):/.exec(value);
  return m
    ? { record: JSON.parse(value.slice(m[0].length)) as DecisionRecord, firstSeq: Number(m[1]), lastSeq: Number(m[2]) }
    : { record: JSON.parse(value) as DecisionRecord, firstSeq: 0, lastSeq: 0 };
}
