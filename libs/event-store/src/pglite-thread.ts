import { Worker } from 'node:worker_threads';
import { parseJsonInSlices, Slicer, TextPieces } from './json-slices';

/** What the Kysely driver needs of PGlite: one connection that runs one statement at a time. */
export interface EmbeddedPostgres {
  readonly waitReady: Promise<void>;
  readonly closed: boolean;
  query<R>(sql: string, params: readonly unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  close(): Promise<void>;
}

type Request = { op: 'query'; sql: string; params: readonly unknown[] } | { op: 'close' };

/** A long text parameter, sent as UTF-8 pieces whose memory moves to the thread (see toMovable). */
interface MovedText {
  readonly movedText: Uint8Array[];
}

// Text parameters longer than this go to the thread as bytes that move rather than as a string that is copied:
// posting the ~20 MB event of a 100k-decision alert as a string held the main thread ~60 ms.
// Likewise json/jsonb values read back (the thread would otherwise post them as objects: see query()).
const MOVED_TEXT_CHARS = 1024 * 1024;
const PIECE_CHARS = 1024 * 1024;
// PostgreSQL's buffer pool lives in PGlite's WebAssembly memory, which never shrinks: PGlite's default of 128 MB
// ends up resident once the database outgrows it. Reads the pool misses come from the OS page cache (NODEFS reads
// files), and the bouncer endpoints read the in-memory index, not the database: 16 MB keeps ~110 MB off the RSS.
const MEMORY_PARAMS = ['-c', 'shared_buffers=16MB'];
type Reply =
  | {
      id: number;
      ok: true;
      rows?: Record<string, unknown>[];
      affectedRows?: number;
      /** Long json/jsonb values, [row, column], sent as UTF-8 (a Uint8Array) rather than parsed. */
      moved?: [number, string][];
    }
  | { id: number; ok: false; error: Record<string, unknown> };

// Runs in the thread. Given as source rather than a file so that the built server and the tests (TypeScript run by
// Jest) start the same code; PGlite is required by absolute path, resolved here.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
const ready = open(workerData);
// See PGliteThread's options.fsync.
function open({ dataDir, fsync, nodefs, memoryParams }) {
  if (dataDir === undefined || !fsync) {
    return PGlite.create({ dataDir, startParams: [...PGlite.defaultStartParams, ...memoryParams] });
  }
  const { NodeFS } = require(nodefs);
  const { fsyncSync } = require('node:fs');
  class SyncingNodeFS extends NodeFS {
    async init(...args) {
      const { emscriptenOpts } = await super.init(...args);
      const installFsync = (mod) => {
        const nodefs = mod.NODEFS;
        if (!nodefs || !nodefs.stream_ops || typeof nodefs.tryFSOperation !== 'function') {
          // A PGlite upgrade changed Emscripten's NODEFS: refuse rather than run without durable commits.
          throw new Error('PGlite: Emscripten NODEFS has no stream_ops/tryFSOperation, cannot make commits durable');
        }
        const tryFSOperation = nodefs.tryFSOperation.bind(nodefs);
        nodefs.stream_ops.fsync = (stream) => {
          tryFSOperation(() => fsyncSync(stream.nfd));
          return 0;
        };
      };
      return { emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun || []), installFsync] } };
    }
  }
  return PGlite.create({
    fs: new SyncingNodeFS(dataDir),
    startParams: [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync', ...memoryParams],
  });
}
ready.then(() => parentPort.postMessage({ id: 0, ok: true }), (e) => parentPort.postMessage({ id: 0, ok: false, error: plain(e) }));
function plain(e) {
  const out = { ...e, message: e && e.message ? e.message : String(e), name: e && e.name ? e.name : 'Error' };
  for (const k of Object.keys(out)) if (typeof out[k] === 'function' || typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) delete out[k];
  return out;
}
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const keepText = (text) => text;
const JSON_AS_TEXT = { parsers: { 114: keepText, 3802: keepText } };
function moved(pieces) {
  return pieces.map((piece) => decoder.decode(piece)).join('');
}
parentPort.on('message', async (m) => {
  try {
    const pg = await ready;
    if (m.op === 'close') {
      await pg.close();
      parentPort.postMessage({ id: m.id, ok: true });
      return;
    }
    const params = m.params.map((p) => (p !== null && typeof p === 'object' && Array.isArray(p.movedText) ? moved(p.movedText) : p));
    const r = await pg.query(m.sql, params, JSON_AS_TEXT);
    // json/jsonb values come as text: parsed here, unless long (see PGliteThread.query).
    const jsonFields = (r.fields || []).filter((f) => f.dataTypeID === 114 || f.dataTypeID === 3802).map((f) => f.name);
    const movedFields = [];
    const transfer = [];
    r.rows.forEach((row, i) => {
      for (const name of jsonFields) {
        const text = row[name];
        if (typeof text !== 'string') {
          continue;
        }
        if (text.length > workerData.movedTextChars && text.isWellFormed()) {
          const bytes = encoder.encode(text);
          transfer.push(bytes.buffer);
          row[name] = bytes;
          movedFields.push([i, name]);
        } else {
          row[name] = JSON.parse(text);
        }
      }
    });
    parentPort.postMessage({ id: m.id, ok: true, rows: r.rows, affectedRows: r.affectedRows, moved: movedFields }, transfer);
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, error: plain(e) });
  }
});
`;

/**
 * PGlite in a worker thread. Postgres compiled to WebAssembly runs synchronously: on the main thread one big
 * statement (a 100k-decision alert's event is ~20 MB of JSON) stopped every request for seconds, /health included.
 * Here the main thread only posts statements and awaits answers. Statements run one after the other, in the order
 * sent, so a transaction the driver holds stays atomic and serialized exactly as before.
 */
export class PGliteThread implements EmbeddedPostgres {
  readonly waitReady: Promise<void>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void }>();
  private nextId = 1;
  private failure: Error | undefined;
  private ended = false;
  private posted: Promise<void> = Promise.resolve();

  /**
   * `dataDir` undefined: in memory. `fsync`: PGlite runs PostgreSQL with fsync off (-F), and the Emscripten file
   * system under it (NODEFS) has no fsync either, so a commit returns once it is in the OS page cache: an OS crash or
   * power loss loses it, or leaves the database corrupt. With `fsync`, PostgreSQL runs with fsync on and flushes the
   * WAL with fsync() at each commit (Emscripten's fdatasync() does nothing, so not the default fdatasync), and
   * NODEFS's fsync calls the real one: a commit has returned only once it is on disk, as on a PostgreSQL server.
   */
  constructor(dataDir: string | undefined, options: { fsync: boolean } = { fsync: false }) {
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        pglite: require.resolve('@electric-sql/pglite'),
        nodefs: require.resolve('@electric-sql/pglite/nodefs'),
        dataDir,
        fsync: options.fsync,
        movedTextChars: MOVED_TEXT_CHARS,
        memoryParams: MEMORY_PARAMS,
      },
    });
    this.waitReady = new Promise<void>((resolve, reject) =>
      this.pending.set(0, {
        resolve: (reply) => (reply.ok ? resolve() : reject(toError(reply.error))),
        reject,
      }),
    );
    // A database that cannot open leaves no thread behind to keep the process alive.
    this.waitReady.catch(() => {
      this.ended = true;
      void this.worker.terminate();
    });
    this.worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      waiting?.resolve(reply);
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiting of this.pending.values()) {
        waiting.reject(this.failure);
      }
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the PGlite thread exited (code ${code})`)));
  }

  get closed(): boolean {
    return this.ended;
  }

  async query<R>(sql: string, params: readonly unknown[]): Promise<{ rows: R[]; affectedRows?: number }> {
    const reply = await this.send({ op: 'query', sql, params });
    const rows = reply.rows ?? [];
    if (reply.moved?.length) {
      // The ~20 MB event of a 100k-decision alert, read back: posted as objects, it was rebuilt here in one
      // uninterrupted task of hundreds of milliseconds; as text it is parsed here in slices.
      const slicer = new Slicer();
      for (const [i, name] of reply.moved) {
        rows[i][name] = await parseJsonInSlices(rows[i][name] as Uint8Array, slicer);
      }
    }
    return { rows: rows as R[], affectedRows: reply.affectedRows };
  }

  async close(): Promise<void> {
    if (this.ended) {
      return;
    }
    this.ended = true;
    try {
      await this.send({ op: 'close' });
    } finally {
      await this.worker.terminate();
    }
  }

  private async send(request: Request): Promise<Reply & { ok: true }> {
    if (this.failure) {
      throw this.failure;
    }
    const id = this.nextId++;
    const replied = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // Posted in the order sent, also when a long parameter takes a few slices to encode.
    const posting = this.posted.then(async () => {
      const { message, transfer } = await toMovable(request);
      this.worker.postMessage({ ...message, id }, transfer);
    });
    this.posted = posting.catch(() => undefined);
    posting.catch((error: unknown) => {
      this.pending.get(id)?.reject(error instanceof Error ? error : new Error(String(error)));
      this.pending.delete(id);
    });
    const reply = await replied;
    if (!reply.ok) {
      throw toError(reply.error);
    }
    return reply;
  }
}

/** `request`, its long text parameters as UTF-8 pieces to transfer (encoded in slices). */
async function toMovable(request: Request): Promise<{ message: Request; transfer: ArrayBuffer[] }> {
  if (request.op !== 'query' || !request.params.some((p) => isLongText(p) || p instanceof TextPieces)) {
    return { message: request, transfer: [] };
  }
  const slicer = new Slicer();
  const encoder = new TextEncoder();
  const transfer: ArrayBuffer[] = [];
  const params: unknown[] = [];
  for (const param of request.params) {
    if (param instanceof TextPieces && param.pieces.reduce((n, piece) => n + piece.length, 0) <= MOVED_TEXT_CHARS) {
      params.push(param.toString());
      continue;
    }
    if (param instanceof TextPieces) {
      // JSON.stringify's pieces: well-formed, each (no surrogate pair is cut between two). Encoded ~1 MB at a time.
      const encoded: Uint8Array[] = [];
      let group = '';
      for (const [n, piece] of param.pieces.entries()) {
        group += piece;
        if (group.length >= PIECE_CHARS || n === param.pieces.length - 1) {
          encoded.push(encoder.encode(group));
          group = '';
          if (slicer.due()) {
            await slicer.pause();
          }
        }
      }
      transfer.push(...encoded.map((piece) => piece.buffer as ArrayBuffer));
      params.push({ movedText: encoded } satisfies MovedText);
      continue;
    }
    if (!isLongText(param)) {
      params.push(param);
      continue;
    }
    const pieces: Uint8Array[] = [];
    for (let from = 0; from < param.length;) {
      let to = Math.min(param.length, from + PIECE_CHARS);
      const last = param.charCodeAt(to - 1);
      if (to < param.length && last >= 0xd800 && last <= 0xdbff) {
        to--; // never between the two halves of a surrogate pair
      }
      pieces.push(encoder.encode(param.slice(from, to)));
      from = to;
      if (slicer.due()) {
        await slicer.pause();
      }
    }
    transfer.push(...pieces.map((piece) => piece.buffer as ArrayBuffer));
    params.push({ movedText: pieces } satisfies MovedText);
  }
  return { message: { ...request, params }, transfer };
}

// A lone surrogate would not survive UTF-8: such a text is posted as it is.
const isLongText = (param: unknown): param is string =>
  typeof param === 'string' && param.length > MOVED_TEXT_CHARS && param.isWellFormed();

/** The thread's error as an Error again, with the fields PGlite gives it (code, detail, constraint…). */
function toError(fields: Record<string, unknown>): Error {
  const error = new Error(typeof fields.message === 'string' ? fields.message : 'PGlite error');
  Object.assign(error, fields);
  return error;
}
