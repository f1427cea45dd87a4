// Work on big JSON (a 100k-decision alert is ~11 MB as a body, ~20 MB as an event) in slices that give the event loop
// back between them: one JSON.parse, JSON.stringify or validation pass over it held the main thread for hundreds of
// milliseconds, and /health and bouncers waited for it (#11 item 9).

/** Longest a slice runs before it gives the event loop back. */
const SLICE_MS = 8;
/** Texts up to this size are parsed by one JSON.parse: too short to be worth slicing. */
const NATIVE_PARSE_CHARS = 64 * 1024;
/** Array elements stringified by one JSON.stringify call. */
const STRINGIFY_BATCH = 256;

/**
 * A budget of main-thread time: `if (slicer.due()) await slicer.pause();` in a loop lets timers and I/O (other
 * requests) run once a slice has used its time. setImmediate, not a microtask: I/O callbacks run before it.
 */
export class Slicer {
  private started = performance.now();

  due(): boolean {
    return performance.now() - this.started >= SLICE_MS;
  }

  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
  }
}

/** `items.map(fn)`, pausing between slices. */
export async function mapInSlices<T, R>(
  items: readonly T[],
  fn: (item: T, index: number) => R,
  slicer = new Slicer(),
): Promise<R[]> {
  const out = new Array<R>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i], i);
    if (slicer.due()) {
      await slicer.pause();
    }
  }
  return out;
}

/** Runs `steps` to its end, pausing between steps once a slice has used its time; resolves with what it returns. */
export async function runInSlices<R>(steps: Generator<unknown, R>, slicer = new Slicer()): Promise<R> {
  for (;;) {
    const step = steps.next();
    if (step.done) {
      return step.value;
    }
    if (slicer.due()) {
      await slicer.pause();
    }
  }
}

/**
 * JSON.parse of a text or of its UTF-8 bytes, in slices: JSON.parse on pieces of at most 64 KiB (runs of array
 * elements, object members), put together here. Same value as JSON.parse, and on bad JSON the same SyntaxError:
 * whenever a piece or the bytes between pieces are not what valid JSON would have, the whole text goes to JSON.parse,
 * which throws its own message (that one parse does hold the thread, for a body that is refused anyway).
 * Given bytes, no string of the whole text is ever made: on this machine a fresh 20 MB string alone (a join, a
 * decode, the flattening of a concatenated body) held the thread for 50-200 ms.
 */
export async function parseJsonInSlices(input: string | Uint8Array, slicer = new Slicer()): Promise<unknown> {
  const whole = () => (typeof input === 'string' ? input : utf8(input, 0, input.length));
  if (input.length > NATIVE_PARSE_CHARS) {
    try {
      const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
      return await new SlicedParser(bytes, slicer).document();
    } catch {
      // Invalid somewhere: JSON.parse says where and how, in its own words.
    }
  }
  return JSON.parse(whole()) as unknown;
}

const utf8 = (bytes: Uint8Array, from: number, to: number): string =>
  (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString(
    'utf8',
    from,
    to,
  );

class NotJson extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
// Where a number, true, false or null ends (anything else in it is left to JSON.parse to refuse).
const endsScalar = (b: number) => b === 0x2c || b === 0x5d || b === 0x7d || isSpace(b);

// Piece boundaries fall on ASCII bytes (brackets, commas, quotes, spaces), never inside a multi-byte character, so
// each piece decodes as it would within the whole text.
class SlicedParser {
  private readonly buffer: Buffer;

  constructor(
    bytes: Uint8Array,
    private readonly slicer: Slicer,
  ) {
    this.buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async document(): Promise<unknown> {
    const [value, end] = await this.value(this.skipSpace(0));
    if (this.skipSpace(end) !== this.buffer.length) {
      throw new NotJson();
    }
    return value;
  }

  private text(from: number, to: number): string {
    return this.buffer.toString('utf8', from, to);
  }

  /** The value starting at `i` and the index after it. */
  private async value(i: number): Promise<[unknown, number]> {
    const end = this.end(i, NATIVE_PARSE_CHARS);
    if (end >= 0) {
      return [JSON.parse(this.text(i, end)), end];
    }
    return this.buffer[i] === 0x5b ? this.array(i) : this.object(i);
  }

  private async array(i: number): Promise<[unknown[], number]> {
    const out: unknown[] = [];
    let j = this.skipSpace(i + 1);
    if (this.buffer[j] === 0x5d) {
      return [out, j + 1];
    }
    // Small elements are parsed a run at a time: the text between '[' and ']' of a run is itself an array.
    let runStart = j;
    let runEnd = j;
    const flush = () => {
      if (runEnd > runStart) {
        for (const item of JSON.parse(`[${this.text(runStart, runEnd)}]`) as unknown[]) {
          out.push(item);
        }
      }
    };
    for (;;) {
      const end = this.end(j, NATIVE_PARSE_CHARS);
      if (end >= 0) {
        runEnd = end;
      } else {
        flush();
        const [item, after] = await this.value(j);
        out.push(item);
        runEnd = after;
        runStart = after; // nothing pending: the next element starts a new run
      }
      const k = this.skipSpace(runEnd);
      const c = this.buffer[k];
      if (c === 0x5d) {
        flush();
        return [out, k + 1];
      }
      if (c !== 0x2c) {
        throw new NotJson();
      }
      j = this.skipSpace(k + 1);
      if (runStart === runEnd || runEnd - runStart >= NATIVE_PARSE_CHARS || this.slicer.due()) {
        flush();
        runStart = j;
        runEnd = j;
        if (this.slicer.due()) {
          await this.slicer.pause();
        }
      }
    }
  }

  private async object(i: number): Promise<[Record<string, unknown>, number]> {
    const out: Record<string, unknown> = {};
    let j = this.skipSpace(i + 1);
    if (this.buffer[j] === 0x7d) {
      return [out, j + 1];
    }
    for (;;) {
      if (this.buffer[j] !== QUOTE) {
        throw new NotJson();
      }
      const keyEnd = this.stringEnd(j);
      const key = JSON.parse(this.text(j, keyEnd)) as string;
      const colon = this.skipSpace(keyEnd);
      if (this.buffer[colon] !== 0x3a) {
        throw new NotJson();
      }
      const [value, end] = await this.value(this.skipSpace(colon + 1));
      // As JSON.parse does: an own "__proto__" property, not a new prototype; a repeated key keeps its first place.
      Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      const k = this.skipSpace(end);
      const c = this.buffer[k];
      if (c === 0x7d) {
        return [out, k + 1];
      }
      if (c !== 0x2c) {
        throw new NotJson();
      }
      j = this.skipSpace(k + 1);
      if (this.slicer.due()) {
        await this.slicer.pause();
      }
    }
  }

  /**
   * The index after the value starting at `i` (found by its brackets and quotes, not checked: JSON.parse checks it),
   * or -1 for an array or object longer than `limit`.
   */
  private end(i: number, limit: number): number {
    const b = this.buffer;
    const c = b[i];
    if (c === QUOTE) {
      return this.stringEnd(i);
    }
    if (c !== 0x5b && c !== 0x7b) {
      let k = i;
      while (k < b.length && !endsScalar(b[k])) {
        k++;
      }
      if (k === i) {
        throw new NotJson();
      }
      return k;
    }
    let depth = 0;
    for (let k = i; k < b.length; k++) {
      if (k - i > limit) {
        return -1;
      }
      const x = b[k];
      if (x === QUOTE) {
        k = this.stringEnd(k) - 1;
      } else if (x === 0x5b || x === 0x7b) {
        depth++;
      } else if ((x === 0x5d || x === 0x7d) && --depth === 0) {
        return k + 1;
      }
    }
    throw new NotJson();
  }

  /** The index after the string whose opening quote is at `i`. */
  private stringEnd(i: number): number {
    const b = this.buffer;
    let j = i + 1;
    for (;;) {
      const quote = b.indexOf(QUOTE, j);
      if (quote < 0) {
        throw new NotJson();
      }
      let backslashes = 0;
      while (b[quote - 1 - backslashes] === BACKSLASH) {
        backslashes++;
      }
      if (backslashes % 2 === 0) {
        return quote + 1;
      }
      j = quote + 1;
    }
  }

  /** JSON's whitespace only (space, tab, LF, CR), as JSON.parse. */
  private skipSpace(i: number): number {
    let j = i;
    while (j < this.buffer.length && isSpace(this.buffer[j])) {
      j++;
    }
    return j;
  }
}

/**
 * JSON.stringify(value) and JSON.parse of that text, in slices, without the whole text as one string: plain objects
 * and arrays are written here, array elements `STRINGIFY_BATCH` at a time by JSON.stringify (then JSON.parse for the
 * copy), anything else (toJSON, Dates, class instances) by JSON.stringify whole. The pieces, joined, are
 * JSON.stringify's text; `copy` is what reading that text back gives.
 */
export async function jsonInSlices(
  value: unknown,
  slicer = new Slicer(),
): Promise<{ pieces: string[]; copy: unknown }> {
  const pieces: string[] = [];
  const written = await writeJson(value, pieces, slicer);
  if (written === OMITTED) {
    throw new TypeError('jsonInSlices: nothing to write (undefined, a function or a symbol)');
  }
  return { pieces, copy: written.copy };
}

const OMITTED = Symbol('omitted');

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function' &&
    !Array.isArray(value)
  );
};

/** Appends the JSON of `value` to `out`; OMITTED (nothing written) where JSON.stringify would leave the key out. */
async function writeJson(value: unknown, out: string[], slicer: Slicer): Promise<{ copy: unknown } | typeof OMITTED> {
  if (Array.isArray(value) && value.length > STRINGIFY_BATCH && Object.getPrototypeOf(value) === Array.prototype) {
    const copy: unknown[] = [];
    out.push('[');
    for (let from = 0; from < value.length; from += STRINGIFY_BATCH) {
      const batch = JSON.stringify(value.slice(from, from + STRINGIFY_BATCH));
      out.push(from === 0 ? '' : ',', batch.slice(1, -1));
      for (const item of JSON.parse(batch) as unknown[]) {
        copy.push(item);
      }
      if (slicer.due()) {
        await slicer.pause();
      }
    }
    out.push(']');
    return { copy };
  }
  if (typeof value === 'object' && value !== null && isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    out.push('{');
    let first = true;
    for (const key of Object.keys(value)) {
      const mark = out.length;
      out.push(first ? '' : ',', JSON.stringify(key), ':');
      const written = await writeJson((value as Record<string, unknown>)[key], out, slicer);
      if (written === OMITTED) {
        out.length = mark;
      } else {
        first = false;
        Object.defineProperty(copy, key, { value: written.copy, writable: true, enumerable: true, configurable: true });
      }
    }
    out.push('}');
    return { copy };
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) {
    return OMITTED;
  }
  out.push(text);
  return { copy: JSON.parse(text) as unknown };
}

/** A text parameter given as pieces (see jsonInSlices): the database drivers join or encode them as they need. */
export class TextPieces {
  constructor(readonly pieces: readonly string[]) {}

  toString(): string {
    return this.pieces.join('');
  }
}
