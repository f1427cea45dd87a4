import { formatGoDurationMs } from '@lapi/domain';
import type { DecisionView } from '../sql/decision-queries';

/** What a body shows of a decision, besides the time left (from its end, given apart). */
export type RenderedDecision = Omit<DecisionView, 'until' | 'simulated'>;

/** A list of decisions and the end (ms) of each: read apart, so that an index can give the ends as they were. */
export interface RenderedList {
  readonly length: number;
  /** The i-th decision; its uuid may be '' when the list writes it itself (writeUuid). */
  at(i: number): RenderedDecision;
  until(i: number): number;
  /** Writes the i-th decision's uuid as a JSON string at `at` (room for 38 bytes made); returns the end. */
  writeUuid?(i: number, buf: Uint8Array, at: number): number;
}

const viewList = (views: readonly DecisionView[]): RenderedList => ({
  length: views.length,
  at: (i) => views[i],
  until: (i) => views[i].until.getTime(),
});

// The bodies bouncers receive, written as bytes: the same text as JSON.stringify of presentDecision's objects, but
// without building a million objects and strings for a startup pull at blocklist scale. Most of a decision's text
// repeats (its duration and its origin/scenario/scope/type are shared by thousands), so those parts are encoded once
// and copied; the rest (id, value, uuid) is written byte by byte when it is plain ASCII, the common case.

const CHUNK = 64 * 1024;
const FIRST_CHUNK = 1024;
// A decision's text is 150 to 250 bytes: buffers are sized for what is left to write, so that an answer of a few
// hundred decisions (a delta poll) takes one or two allocations instead of a chain of doublings, each copied, each
// outside the pool (memory outside the heap that grows fast makes V8 run full collections: pauses).
const BYTES_PER_DECISION = 200;
const NO_CHUNK: Buffer = Buffer.alloc(0);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const UUID_KEY: Buffer = Buffer.from(',"uuid":');

/** `"text"` as JSON.stringify writes it, as UTF-8. */
const jsonString = (s: string): Buffer => Buffer.from(JSON.stringify(s));

/** Renders decisions into 64 KiB chunks; the time left is computed once per distinct end (bulk imports share one). */
class DecisionWriter {
  // Small at first, from Node's shared pool: most answers (lookups, deltas) are a few hundred bytes, and a fresh
  // 64 KiB buffer per request would cost the garbage collector more than the answer itself.
  private buf: Buffer;
  private pos = 0;
  private readonly heads = new Map<number, Buffer>();
  private readonly middles = new Map<string, Map<string, Map<string, Map<string, Buffer>>>>();
  // The previous decision's parts: consecutive decisions mostly share them.
  private lastUntil = NaN;
  private lastHead: Buffer = Buffer.alloc(0);
  private lastMiddleOf: RenderedDecision | undefined;
  private lastMiddle: Buffer = Buffer.alloc(0);

  /**
   * `chunk`: the size of the pieces yielded (answers streamed as written keep them small); `expected`: how many
   * decisions will be written (buffers are sized from it).
   */
  constructor(
    private readonly now: number,
    private readonly chunk = CHUNK,
    private expected = 0,
  ) {
    this.buf = Buffer.allocUnsafe(expected * BYTES_PER_DECISION > FIRST_CHUNK ? this.sizeFor(0) : FIRST_CHUNK);
  }

  /** `text` as ASCII bytes (the structure of the bodies is ASCII). */
  raw(text: string): void {
    this.room(text.length);
    this.pos += this.buf.write(text, this.pos, 'latin1');
  }

  decision(d: RenderedDecision, until: number, comma: boolean, list?: RenderedList, i = 0): void {
    this.expected--;
    const head = this.head(until);
    const middle = this.middle(d);
    // Escaping makes a character at most 6 bytes; a uuid the list writes is 38.
    this.room(head.length + 16 + middle.length + 6 * (d.value.length + d.uuid.length) + 38 + 16);
    const buf = this.buf;
    if (comma) {
      buf[this.pos++] = 0x2c;
    }
    buf.set(head, this.pos);
    this.pos = writeInteger(buf, this.pos + head.length, d.id);
    buf.set(middle, this.pos);
    this.pos = writeJsonString(buf, this.pos + middle.length, d.value);
    buf.set(UUID_KEY, this.pos);
    this.pos += UUID_KEY.length;
    this.pos =
      d.uuid === '' && list?.writeUuid ? list.writeUuid(i, buf, this.pos) : writeJsonString(buf, this.pos, d.uuid);
    buf[this.pos++] = 0x7d; // }
  }

  /** `[…]`, or `null` when empty (Go's nil slice); yields each chunk filled. */
  *list(list: RenderedList): Generator<Buffer> {
    if (list.length === 0) {
      this.raw('null');
      return;
    }
    this.raw('[');
    for (let i = 0; i < list.length; i++) {
      this.decision(list.at(i), list.until(i), i > 0, list, i);
      if (this.pos >= this.chunk - 512) {
        yield this.take();
      }
    }
    this.raw(']');
  }

  /** The bytes written since the last take. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = NO_CHUNK; // the next one is allocated when written to: none after the last
    this.pos = 0;
    return out;
  }

  /** Makes room for `bytes` more: a chunk that cannot hold them is replaced by a bigger one, its text kept. */
  private room(bytes: number): void {
    if (this.pos + bytes > this.buf.length) {
      const size = this.buf === NO_CHUNK ? this.sizeFor(bytes) : 2 * this.buf.length;
      const bigger = Buffer.allocUnsafe(Math.max(size, this.pos + bytes));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
  }

  /** A new buffer's size: a chunk, or less when fewer decisions than a chunk's are left to write. */
  private sizeFor(bytes: number): number {
    return Math.min(this.chunk, Math.max(FIRST_CHUNK, bytes + 64 + Math.max(0, this.expected) * BYTES_PER_DECISION));
  }

  /** `{"duration":"…","id":` */
  private head(until: number): Buffer {
    if (until === this.lastUntil) {
      return this.lastHead;
    }
    let head = this.heads.get(until);
    if (head === undefined) {
      head = Buffer.from(`{"duration":"${formatGoDurationMs(until - this.now)}","id":`);
      if (this.heads.size < 10_000) {
        this.heads.set(until, head);
      }
    }
    this.lastUntil = until;
    this.lastHead = head;
    return head;
  }

  /** `,"origin":…,"scenario":…,"scope":…,"type":…,"value":` */
  private middle(d: RenderedDecision): Buffer {
    const last = this.lastMiddleOf;
    if (
      last !== undefined &&
      last.origin === d.origin &&
      last.scenario === d.scenario &&
      last.scope === d.scope &&
      last.type === d.type
    ) {
      return this.lastMiddle;
    }
    let byScenario = this.middles.get(d.origin);
    if (byScenario === undefined) {
      this.middles.set(d.origin, (byScenario = new Map<string, Map<string, Map<string, Buffer>>>()));
    }
    let byScope = byScenario.get(d.scenario);
    if (byScope === undefined) {
      byScenario.set(d.scenario, (byScope = new Map<string, Map<string, Buffer>>()));
    }
    let byType = byScope.get(d.scope);
    if (byType === undefined) {
      byScope.set(d.scope, (byType = new Map<string, Buffer>()));
    }
    let middle = byType.get(d.type);
    if (middle === undefined) {
      middle = Buffer.concat([
        Buffer.from(',"origin":'),
        jsonString(d.origin),
        Buffer.from(',"scenario":'),
        jsonString(d.scenario),
        Buffer.from(',"scope":'),
        jsonString(d.scope),
        Buffer.from(',"type":'),
        jsonString(d.type),
        Buffer.from(',"value":'),
      ]);
      byType.set(d.type, middle);
    }
    this.lastMiddleOf = d;
    this.lastMiddle = middle;
    return middle;
  }
}

/** Writes `s` as a JSON string at `at`; returns the position after it. Room for 6 bytes a character is needed. */
export function writeJsonString(buf: Uint8Array, at: number, s: string): number {
  let pos = at;
  buf[pos++] = QUOTE;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === QUOTE || c === BACKSLASH || c >= 0x80) {
      // Escapes or non-ASCII: as JSON.stringify and UTF-8 write it (rare: addresses and uuids are plain ASCII).
      const json = jsonString(s);
      buf.set(json, at);
      return at + json.length;
    }
    buf[pos++] = c;
  }
  buf[pos++] = QUOTE;
  return pos;
}

/** Writes a non-negative integer's decimal digits at `at`; returns the position after them. */
function writeInteger(buf: Buffer, at: number, n: number): number {
  if (n < 10) {
    buf[at] = 0x30 + n;
    return at + 1;
  }
  let digits = 0;
  for (let m = n; m >= 1; m = Math.floor(m / 10)) {
    digits++;
  }
  let pos = at + digits;
  for (let m = n; pos > at; m = Math.floor(m / 10)) {
    buf[--pos] = 0x30 + (m % 10);
  }
  return at + digits;
}

// Half of the lookups find nothing: their answer is always these bytes (never written to once made).
const NULL_BODY: Buffer = Buffer.from('null');

/** GET /v1/decisions: a list or `null`. */
export function* decisionListJson(list: readonly DecisionView[], now: Date): Generator<Buffer> {
  if (list.length === 0) {
    yield NULL_BODY;
    return;
  }
  const writer = new DecisionWriter(now.getTime(), CHUNK, list.length);
  yield* writer.list(viewList(list));
  yield writer.take();
}

/** GET /v1/decisions/stream: `{"new": …, "deleted": …}`. */
export function decisionStreamJson(
  fresh: readonly DecisionView[],
  deleted: readonly DecisionView[],
  now: Date,
): Generator<Buffer> {
  return streamBody(viewList(fresh), viewList(deleted), now.getTime());
}

/** A stream answer's body from lists given with their ends; `now` (ms) is the time the durations count from. */
export function* streamBody(fresh: RenderedList, deleted: RenderedList, now: number, chunk = CHUNK): Generator<Buffer> {
  const writer = new DecisionWriter(now, chunk, fresh.length + deleted.length);
  writer.raw('{"new":');
  yield* writer.list(fresh);
  writer.raw(',"deleted":');
  yield* writer.list(deleted);
  writer.raw('}');
  yield writer.take();
}
