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
 * JSON.parse(text), in slices: JSON.parse on pieces of at most 64 KiB (runs of array elements, object members), put
 * together here. Same value as JSON.parse, and on bad JSON the same SyntaxError: whenever a piece or the text between
 * pieces is not what valid JSON would have, the whole text goes to JSON.parse, which throws its own message (that one
 * parse does hold the thread, for a body that is refused anyway).
 */
export async function parseJsonInSlices(text: string, slicer = new Slicer()): Promise<unknown> {
  if (text.length > NATIVE_PARSE_CHARS) {
    try {
      return await new SlicedParser(text, slicer).document();
    } catch {
      // Invalid somewhere: JSON.parse says where and how, in its own words.
    }
  }
  return JSON.parse(text) as unknown;
}

class NotJson extends Error {}

const STRUCTURAL = /[[\]{}"]/g;
const SCALAR = /[^,\]}\s]*/y;

class SlicedParser {
  constructor(
    private readonly text: string,
    private readonly slicer: Slicer,
  ) {}

  async document(): Promise<unknown> {
    const [value, end] = await this.value(this.skipSpace(0));
    if (this.skipSpace(end) !== this.text.length) {
      throw new NotJson();
    }
    return value;
  }

  /** The value starting at `i` and the index after it. */
  private async value(i: number): Promise<[unknown, number]> {
    const c = this.text[i];
    const end = this.end(i, NATIVE_PARSE_CHARS);
    if (end >= 0) {
      return [JSON.parse(this.text.slice(i, end)), end];
    }
    return c === '[' ? this.array(i) : this.object(i);
  }

  private async array(i: number): Promise<[unknown[], number]> {
    const out: unknown[] = [];
    let j = this.skipSpace(i + 1);
    if (this.text[j] === ']') {
      return [out, j + 1];
    }
    // Small elements are parsed a run at a time: the text between '[' and ']' of a run is itself an array.
    let runStart = j;
    let runEnd = j;
    const flush = () => {
      if (runEnd > runStart) {
        for (const item of JSON.parse(`[${this.text.slice(runStart, runEnd)}]`) as unknown[]) {
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
      const c = this.text[k];
      if (c === ']') {
        flush();
        return [out, k + 1];
      }
      if (c !== ',') {
        throw new NotJson();
      }
      j = this.skipSpace(k + 1);
      if (runStart === runEnd) {
        runStart = j;
        runEnd = j;
      } else if (runEnd - runStart >= NATIVE_PARSE_CHARS) {
        flush();
        runStart = j;
        runEnd = j;
      }
      if (this.slicer.due()) {
        flush();
        runStart = j;
        runEnd = j;
        await this.slicer.pause();
      }
    }
  }

  private async object(i: number): Promise<[Record<string, unknown>, number]> {
    const out: Record<string, unknown> = {};
    let j = this.skipSpace(i + 1);
    if (this.text[j] === '}') {
      return [out, j + 1];
    }
    for (;;) {
      if (this.text[j] !== '"') {
        throw new NotJson();
      }
      const keyEnd = this.end(j, Infinity);
      const key = JSON.parse(this.text.slice(j, keyEnd)) as string;
      const colon = this.skipSpace(keyEnd);
      if (this.text[colon] !== ':') {
        throw new NotJson();
      }
      const [value, end] = await this.value(this.skipSpace(colon + 1));
      // As JSON.parse does: an own "__proto__" property, not a new prototype; a repeated key keeps its first place.
      Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      const k = this.skipSpace(end);
      const c = this.text[k];
      if (c === '}') {
        return [out, k + 1];
      }
      if (c !== ',') {
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
    const c = this.text[i];
    if (c === '"') {
      return this.stringEnd(i);
    }
    if (c !== '[' && c !== '{') {
      SCALAR.lastIndex = i;
      SCALAR.test(this.text);
      if (SCALAR.lastIndex === i) {
        throw new NotJson();
      }
      return SCALAR.lastIndex;
    }
    let depth = 0;
    STRUCTURAL.lastIndex = i;
    for (;;) {
      const found = STRUCTURAL.exec(this.text);
      if (!found) {
        throw new NotJson();
      }
      const at = found.index;
      if (at - i > limit) {
        return -1;
      }
      const s = found[0];
      if (s === '"') {
        STRUCTURAL.lastIndex = this.stringEnd(at);
      } else if (s === '[' || s === '{') {
        depth++;
      } else if (--depth === 0) {
        return at + 1;
      }
    }
  }

  /** The index after the string whose opening quote is at `i`. */
  private stringEnd(i: number): number {
    let j = i + 1;
    for (;;) {
      const quote = this.text.indexOf('"', j);
      if (quote < 0) {
        throw new NotJson();
      }
      let backslashes = 0;
      while (this.text.charCodeAt(quote - 1 - backslashes) === 0x5c) {
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
    for (;;) {
      const c = this.text.charCodeAt(j);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
        return j;
      }
      j++;
    }
  }
}

/**
 * JSON.stringify(value), in slices: plain objects and arrays are written here, array elements `STRINGIFY_BATCH` at a
 * time by JSON.stringify, anything else (toJSON, Dates, class instances) by JSON.stringify whole. Same text as
 * JSON.stringify. Returned as pieces: a consumer that can take them so (a transfer to another thread) never needs
 * the whole text as one string; `.join('')` otherwise.
 */
export async function stringifyJsonInSlices(value: unknown, slicer = new Slicer()): Promise<string[]> {
  const out: string[] = [];
  if ((await writeJson(value, out, slicer)) === false) {
    throw new TypeError('stringifyJsonInSlices: nothing to write (undefined, a function or a symbol)');
  }
  return out;
}

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function' &&
    !Array.isArray(value)
  );
};

/** Appends the JSON of `value` to `out`; false (nothing written) where JSON.stringify would leave the key out. */
async function writeJson(value: unknown, out: string[], slicer: Slicer): Promise<boolean> {
  if (Array.isArray(value) && value.length > STRINGIFY_BATCH && Object.getPrototypeOf(value) === Array.prototype) {
    out.push('[');
    for (let from = 0; from < value.length; from += STRINGIFY_BATCH) {
      const batch = JSON.stringify(value.slice(from, from + STRINGIFY_BATCH));
      out.push(from === 0 ? '' : ',', batch.slice(1, -1));
      if (slicer.due()) {
        await slicer.pause();
      }
    }
    out.push(']');
    return true;
  }
  if (typeof value === 'object' && value !== null && isPlainObject(value)) {
    out.push('{');
    let first = true;
    for (const key of Object.keys(value)) {
      const mark = out.length;
      out.push(first ? '' : ',', JSON.stringify(key), ':');
      if (await writeJson((value as Record<string, unknown>)[key], out, slicer)) {
        first = false;
      } else {
        out.length = mark;
      }
    }
    out.push('}');
    return true;
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) {
    return false;
  }
  out.push(text);
  return true;
}
