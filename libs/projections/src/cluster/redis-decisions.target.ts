import type { Checkpoint, RecordedEvent } from '@lapi/event-store';
import type Redis from 'ioredis';
import { decisionOps, type DecisionRecord } from './decision-record';
import { formatCheckpoint, parseCheckpoint, type ProjectionTarget } from './projector';

/** The keys of one build of the decisions read model; all share a prefix so a rebuild can live beside the old one. */
export const decisionKeys = (prefix: string) => ({
  prefix,
  checkpoint: `${prefix}checkpoint`,
  /** Last change number: the change log's ids are `<seq>-0`. */
  seq: `${prefix}seq`,
  /** Hash chain over the change log up to seq (see APPLY): names a log, so a rebuilt one can be told apart. */
  hash: `${prefix}hash`,
  /** id → DecisionRecord JSON */
  records: `${prefix}records`,
  /** Redis stream of changed records, one entry per change, id = seq: what replicas and stream deltas read. */
  changes: `${prefix}changes`,
  /** id scored by until (ms): what the expiry sweep reads. */
  expiry: `${prefix}expiry`,
  /** Set while the read model is built from the start of the log, until it has caught up. */
  building: `${prefix}building`,
});
export type DecisionKeys = ReturnType<typeof decisionKeys>;

// One script per batch: the checkpoint compare-and-set and every write commit together or not at all, so a crash
// or a replay can never apply an event twice. Records are rewritten whole and appended to the change log.
//
// Deterministic numbering: the projector reads the log in one fixed order ((transaction id, position) below xmin,
// so nothing can later appear before the checkpoint) and this script emits a number of changes, in an order, that
// only depend on the events and on what it built before (alert members are sorted, not taken in set order). So a
// rebuild from the start gives every change the same seq as before: replicas and bouncer cursors stay valid when
// Redis is emptied. Each change also extends a hash chain (field h, key hash) over (id, uuid, until, removed) that
// lets a replica or a cursor check it is on the same log at a given seq, not on one numbered differently.
const APPLY = `
local p = ARGV[1]
if (redis.call('GET', p .. 'checkpoint') or '') ~= ARGV[2] then return -1 end
if ARGV[2] == '' then redis.call('SET', p .. 'building', '1') end
local hash = redis.call('GET', p .. 'hash') or ''
-- A new decision waits in the expiry index until the sweep records its expiry; a deleted one leaves it.
local function emit(rec, expires)
  local seq = redis.call('INCR', p .. 'seq')
  local json = cjson.encode(rec)
  local id = string.format('%d', rec.id)
  hash = redis.sha1hex(hash .. '|' .. id .. ':' .. rec.uuid .. ':' .. string.format('%d', rec['until']) .. ':' .. (rec.removed and '1' or '0'))
  redis.call('HSET', p .. 'records', id, json)
  if expires then
    redis.call('ZADD', p .. 'expiry', rec['until'], id)
  else
    redis.call('ZREM', p .. 'expiry', id)
  end
  redis.call('XADD', p .. 'changes', string.format('%d', seq) .. '-0', 'r', json, 'h', hash)
end
local function lower(rec, at)
  if at < rec['until'] then rec['until'] = at end
  return rec
end
for _, op in ipairs(cjson.decode(ARGV[4])) do
  if op.op == 'put' then
    emit(op.record, true)
    redis.call('SADD', p .. 'alert:' .. string.format('%d', op.record.alertId), string.format('%d', op.record.id))
  elseif op.op == 'expire' then
    for _, id in ipairs(op.ids) do
      local json = redis.call('HGET', p .. 'records', string.format('%d', id))
      if json then emit(lower(cjson.decode(json), op.at), false) end
    end
  elseif op.op == 'removeAlerts' then
    for _, alertId in ipairs(op.alertIds) do
      local key = p .. 'alert:' .. string.format('%d', alertId)
      local ids = redis.call('SMEMBERS', key)
      table.sort(ids, function(a, b) return tonumber(a) < tonumber(b) end)
      for _, id in ipairs(ids) do
        local json = redis.call('HGET', p .. 'records', id)
        if json then
          local rec = cjson.decode(json)
          -- One that already ended (expired, deleted or removed by then) was announced: nothing changes for readers.
          if rec.removed or rec['until'] <= op.at then
            redis.call('ZREM', p .. 'expiry', id)
          else
            rec['until'] = op.at
            rec.removed = true
            emit(rec, false)
          end
        end
      end
      redis.call('DEL', key)
    end
  elseif op.op == 'expired' then
    for _, id in ipairs(op.ids) do
      redis.call('ZREM', p .. 'expiry', string.format('%d', id))
    end
  end
end
redis.call('SET', p .. 'hash', hash)
redis.call('SET', p .. 'checkpoint', ARGV[3])
return tonumber(redis.call('GET', p .. 'seq') or '0')`;

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
    const ops = events.flatMap(decisionOps);
    const result = await this.redis.eval(
      APPLY,
      0,
      this.keys.prefix,
      from ? formatCheckpoint(from) : '',
      formatCheckpoint(to),
      JSON.stringify(ops),
    );
    return result !== -1;
  }

  /** Last change number (0 when empty). */
  async seq(): Promise<number> {
    return Number((await this.redis.get(this.keys.seq)) ?? 0);
  }

  async records(): Promise<DecisionRecord[]> {
    const all = await this.redis.hvals(this.keys.records);
    return all.map((json) => JSON.parse(json) as DecisionRecord);
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
