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
  /** id → DecisionRecord JSON */
  records: `${prefix}records`,
  /** Redis stream of changed records, one entry per change, id = seq: what replicas and stream deltas read. */
  changes: `${prefix}changes`,
  /** id scored by until (ms): what the expiry sweep reads. */
  expiry: `${prefix}expiry`,
});
export type DecisionKeys = ReturnType<typeof decisionKeys>;

// One script per batch: the checkpoint compare-and-set and every write commit together or not at all, so a crash
// or a replay can never apply an event twice. Records are rewritten whole and appended to the change log.
const APPLY = `
local p = ARGV[1]
if (redis.call('GET', p .. 'checkpoint') or '') ~= ARGV[2] then return -1 end
-- A new decision waits in the expiry index until the sweep records its expiry; a deleted one leaves it.
local function emit(rec, expires)
  local seq = redis.call('INCR', p .. 'seq')
  local json = cjson.encode(rec)
  local id = string.format('%d', rec.id)
  redis.call('HSET', p .. 'records', id, json)
  if expires then
    redis.call('ZADD', p .. 'expiry', rec['until'], id)
  else
    redis.call('ZREM', p .. 'expiry', id)
  end
  redis.call('XADD', p .. 'changes', string.format('%d', seq) .. '-0', 'r', json)
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
      for _, id in ipairs(redis.call('SMEMBERS', key)) do
        local json = redis.call('HGET', p .. 'records', id)
        if json then
          local rec = lower(cjson.decode(json), op.at)
          rec.removed = true
          emit(rec, false)
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

  /** Decisions whose until passed and whose expiry is not recorded yet, oldest first. */
  async dueExpiries(now: number, limit: number): Promise<number[]> {
    const ids = await this.redis.zrangebyscore(this.keys.expiry, '-inf', String(now), 'LIMIT', 0, limit);
    return ids.map(Number);
  }

  /** Changes after `seq`, in order, at most `count`. */
  async changesAfter(seq: number, count: number): Promise<{ seq: number; record: DecisionRecord }[]> {
    const entries = await this.redis.xrange(this.keys.changes, `(${seq}-0`, '+', 'COUNT', count);
    return entries.map(([id, fields]) => ({
      seq: Number(id.split('-')[0]),
      record: JSON.parse(fields[1]) as DecisionRecord,
    }));
  }
}
