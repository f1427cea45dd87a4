import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { constants, createGzip, gzipSync } from 'node:zlib';

/** Writes a JSON body as-is, `null` included (Nest would send an empty body for a null result). */
export function sendJson(reply: FastifyReply, status: number, body: unknown): void {
  void reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

// Below this a body goes out as it is: gzip would save little and cost a compression per lookup.
const GZIP_MIN_BYTES = 1024;
// Level 3: nearly the ratio of the default level (6× on decision lists) at twice its speed.
const GZIP = { level: 3 };

/** True when Accept-Encoding allows gzip (`gzip` or `*` with a non-zero q). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') {
      return false;
    }
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    return !q || Number(q[1]) > 0;
  });
}

/**
 * Writes a JSON body given in pieces. One piece: sent whole, with its length. More: streamed as they are produced,
 * so a startup pull of a million decisions never holds its whole text. Gzipped when the client asks (the reference
 * never does; bouncers behind slow links or paying for traffic do), the compression running off the main thread.
 */
export function sendJsonChunks(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  chunks: Iterable<string | Buffer>,
): void {
  const gzip = acceptsGzip(request.headers['accept-encoding']);
  void reply.code(status).header('content-type', 'application/json; charset=utf-8').header('vary', 'Accept-Encoding');
  const iterator = chunks[Symbol.iterator]();
  const head = iterator.next();
  const second = head.done ? head : iterator.next();
  if (second.done) {
    const body = head.done ? '' : head.value;
    if (gzip && body.length >= GZIP_MIN_BYTES) {
      void reply.header('content-encoding', 'gzip').send(gzipSync(body, GZIP));
    } else {
      void reply.send(body);
    }
    return;
  }
  const rest = function* (): Generator<string | Buffer> {
    yield head.value;
    yield second.value;
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      yield next.value;
    }
  };
  const stream = Readable.from(rest(), { objectMode: false, highWaterMark: 256 * 1024 });
  if (gzip) {
    void reply
      .header('content-encoding', 'gzip')
      .send(stream.pipe(createGzip({ ...GZIP, flush: constants.Z_NO_FLUSH })));
  } else {
    void reply.send(stream);
  }
}

/** A body rendered ahead, in both encodings (see StartupBody): sent with its length, gzipped when the client asks. */
export interface RenderedBody {
  identity(): Promise<Buffer[]>;
  gzip(): Promise<Buffer[]>;
}

export async function sendRendered(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  body: RenderedBody,
): Promise<void> {
  const gzip = acceptsGzip(request.headers['accept-encoding']);
  const chunks = await (gzip ? body.gzip() : body.identity());
  void reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('vary', 'Accept-Encoding')
    .header(
      'content-length',
      chunks.reduce((n, c) => n + c.length, 0),
    );
  if (gzip) {
    void reply.header('content-encoding', 'gzip');
  }
  void reply.send(chunks.length === 1 ? chunks[0] : Readable.from(chunks, { objectMode: false }));
}
