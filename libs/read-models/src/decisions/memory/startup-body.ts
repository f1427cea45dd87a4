import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import type { DecisionView } from '../sql/decision-queries';
import { streamBody, type RenderedList } from './decisions-json';

// Level 3: nearly the ratio of the default level (6× on decision lists) at twice its speed.
const GZIP_LEVEL = 3;
// Kept whole in memory, so in big chunks: fewer buffers to allocate and to write.
const CHUNK = 1024 * 1024;
// Chunks rendered between two yields to the event loop (a million decisions make ~175 of them).
const CHUNKS_PER_SLICE = 2;

/** A startup answer's decisions: rendered as they were when it was taken, or read as views. */
export interface StartupList extends RenderedList {
  views(): DecisionView[];
}

/**
 * A startup answer (every active decision in `new`, every ended one in `deleted`) rendered once and sent as it is
 * to every startup pull with the same filters until the index changes: a fleet of bouncers restarting together
 * costs one rendering and one compression, not one each. Rendered lazily, in slices (requests run in between),
 * from the decisions as they were when it was taken; durations count from `renderedAt`.
 */
export class StartupBody {
  private rendered: Promise<Buffer[]> | undefined;
  private gzipped: Promise<Buffer[]> | undefined;
  private newViews: DecisionView[] | undefined;
  private deletedViews: DecisionView[] | undefined;
  /** ms since the epoch of its last use, for the index to drop bodies nobody asks for. */
  usedAt: number;
  /** How long its rendering and compression took (ms of wall time; 0 until both are done). */
  renderMs = 0;
  /** Rendering or compressing: the pulls that share it now get it sooner than from a new rendering. */
  busy = false;

  constructor(
    private readonly fresh: StartupList,
    private readonly ended: StartupList,
    /** The time the answer was taken at (ms): what is active and ended, and what the durations count from. */
    readonly renderedAt: number,
    /** The index's version when taken: a later change makes the body stale. */
    readonly version: number,
  ) {
    this.usedAt = renderedAt;
  }

  get newCount(): number {
    return this.fresh.length;
  }

  get deletedCount(): number {
    return this.ended.length;
  }

  get new(): DecisionView[] {
    return (this.newViews ??= this.fresh.views());
  }

  get deleted(): DecisionView[] {
    return (this.deletedViews ??= this.ended.views());
  }

  /** The JSON body, uncompressed, in chunks. */
  identity(): Promise<Buffer[]> {
    this.rendered ??= this.timed(this.render());
    return this.rendered;
  }

  /** The JSON body gzipped, in chunks (compressed off the main thread, once). */
  gzip(): Promise<Buffer[]> {
    this.gzipped ??= this.timed(this.identity().then(compress));
    return this.gzipped;
  }

  private timed(work: Promise<Buffer[]>): Promise<Buffer[]> {
    const started = performance.now() - this.renderMs;
    this.busy = true;
    const done = () => {
      this.renderMs = performance.now() - started;
      this.busy = false;
    };
    work.then(done, done);
    return work;
  }

  private async render(): Promise<Buffer[]> {
    const chunks: Buffer[] = [];
    for (const chunk of streamBody(this.fresh, this.ended, this.renderedAt, CHUNK)) {
      chunks.push(chunk);
      if (chunks.length % CHUNKS_PER_SLICE === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return chunks;
  }
}

async function compress(chunks: readonly Buffer[]): Promise<Buffer[]> {
  const gzip = createGzip({ level: GZIP_LEVEL });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = once(gzip, 'end');
  for (const chunk of chunks) {
    if (!gzip.write(chunk)) {
      await once(gzip, 'drain');
    }
  }
  gzip.end();
  await ended;
  return out;
}
