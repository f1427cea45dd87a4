import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { fsyncSync } from 'node:fs';

/**
 * Opens the PGlite files in `path`. PGlite runs PostgreSQL with fsync off (-F), and the Emscripten file system
 * under it (NODEFS) has no fsync either, so a commit returns once it is in the OS page cache: an OS crash or power
 * loss loses it, or leaves the database corrupt. With `fsync`, PostgreSQL runs with fsync on and flushes the WAL
 * with fsync() at each commit (Emscripten's fdatasync() does nothing, so not the default fdatasync), and NODEFS's
 * fsync calls the real one: a commit has returned only once it is on disk, as on a PostgreSQL server.
 */
export async function openPGliteFiles(path: string, options: { fsync: boolean }): Promise<PGlite> {
  if (!options.fsync) {
    return PGlite.create(path);
  }
  return PGlite.create({
    fs: new SyncingNodeFS(path),
    startParams: [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync'],
  });
}

/** The parts of Emscripten's NODEFS this relies on (not in PGlite's types: they are Emscripten's internals). */
interface Nodefs {
  stream_ops: { fsync?: (stream: { nfd: number }) => number };
  /** Runs a Node fs call, turning its error into the errno the C code sees. */
  tryFSOperation<T>(f: () => T): T;
}

class SyncingNodeFS extends NodeFS {
  override async init(...args: Parameters<NodeFS['init']>): ReturnType<NodeFS['init']> {
    const { emscriptenOpts } = await super.init(...args);
    const installFsync = (mod: { NODEFS: unknown }) => {
      const nodefs = mod.NODEFS as Partial<Nodefs>;
      if (!nodefs.stream_ops || typeof nodefs.tryFSOperation !== 'function') {
        // A PGlite upgrade changed Emscripten's NODEFS: refuse rather than run without durable commits.
        throw new Error('PGlite: Emscripten NODEFS has no stream_ops/tryFSOperation, cannot make commits durable');
      }
      const tryFSOperation = nodefs.tryFSOperation.bind(nodefs);
      nodefs.stream_ops.fsync = (stream) => {
        tryFSOperation(() => fsyncSync(stream.nfd));
        return 0;
      };
    };
    return { emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun ?? []), installFsync] } };
  }
}
