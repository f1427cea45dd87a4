import { TEST_JWT_SECRET } from '@lapi/testing';
import jwt from 'jsonwebtoken';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';

const MiB = 1024 * 1024;
const HUGE = 49 * MiB;

interface Upload {
  status: number;
  body: string;
  /** Bytes written to the socket when the answer's headers arrived. */
  sentWhenAnswered: number;
}

/**
 * Streams `size` bytes of JSON whitespace to the server as fast as it takes them (declared with Content-Length, or
 * chunked), and stops sending as soon as an answer arrives, as a client reading its responses does.
 */
function upload(
  base: string,
  method: string,
  path: string,
  size: number,
  options: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(new URL(path, base), {
      method,
      headers: {
        'content-type': 'application/json',
        // Node's client sends a DELETE's body unframed unless told to chunk it.
        ...(options.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(size) }),
        ...options.headers,
      },
    });
    req.on('response', (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, sentWhenAnswered });
      });
    });
    req.on('error', (error) => {
      if (!answered) {
        reject(error);
      }
    });
    const chunk = Buffer.alloc(64 * 1024, ' ');
    const pump = () => {
      while (!answered && sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) {
        req.end();
      }
    };
    pump();
  });
}

describe('body limits: 2 MiB until the credential is checked, 50 MiB after', () => {
  let t: TestApi;
  let base: string;
  let agent: { authorization: string };
  beforeAll(async () => {
    t = await startTestApi('pglite');
    await t.api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.api.app.getHttpServer().address() as AddressInfo).port}`;
    agent = await t.machine('uploader');
  }, 90_000); // PGlite's start is slow on a busy machine
  afterAll(() => t.close());

  const health = async () => (await fetch(`${base}/health`)).status;

  it('refuses 49 MB anonymous bodies with 413 before they are sent, on any route and method, and keeps serving', async () => {
    const uploads = [
      upload(base, 'POST', '/v1/alerts', HUGE),
      upload(base, 'POST', '/v1/no-such-route', HUGE),
      upload(base, 'DELETE', '/v1/decisions', HUGE),
      upload(base, 'POST', '/v1/alerts', HUGE, { chunked: true }),
      upload(base, 'DELETE', '/v1/decisions', HUGE, { chunked: true }),
    ];
    // Meanwhile the server answers others.
    expect(await health()).toBe(200);
    for (const answer of await Promise.all(uploads)) {
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toEqual({ message: expect.any(String) as string });
      // Refused after at most the 2 MiB limit plus what the sockets' buffers held, never after the whole body.
      expect(answer.sentWhenAnswered).toBeLessThan(HUGE / 4);
    }
    expect(await health()).toBe(200);
  });

  it('refuses them when the credential is not valid: a bad or expired token, an unknown API key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = jwt.sign({ id: 'uploader', orig_iat: now - 7200, exp: now - 3600 }, TEST_JWT_SECRET, {
      algorithm: 'HS256',
      noTimestamp: true,
    });
    const invalid: Record<string, string>[] = [
      { authorization: 'Bearer not.a.token' },
      { authorization: `Bearer ${expired}` },
      { 'x-api-key': 'f'.repeat(32) },
    ];
    for (const headers of invalid) {
      const answer = await upload(base, 'POST', '/v1/alerts', HUGE, { headers });
      expect(answer.status).toBe(413);
      expect(answer.sentWhenAnswered).toBeLessThan(HUGE / 4);
    }
  });

  it('lets small anonymous bodies reach their guard (401), chunked or not', async () => {
    expect((await upload(base, 'POST', '/v1/alerts', 3 * 1024)).status).toBe(401);
    expect((await upload(base, 'POST', '/v1/alerts', 3 * 1024, { chunked: true })).status).toBe(401);
    expect((await upload(base, 'POST', '/v1/alerts', 2 * MiB, { chunked: true })).status).toBe(401);
  });

  it('reads larger bodies once the credential is valid: a machine token, a known API key', async () => {
    const big = [cscliAlert([{ value: '192.0.2.77' }], { stopAt: t.clock.now() })].map((a) => ({
      ...a,
      message: 'm'.repeat(10 * MiB),
    }));
    const res = await t.inject({ method: 'POST', url: '/v1/alerts', headers: agent, payload: big });
    expect(res.statusCode).toBe(201);
    // A known API key lifts the limit too; the machine route then refuses the bouncer as usual.
    const key = await t.bouncer('uploading-bouncer');
    const asBouncer = await upload(base, 'POST', '/v1/alerts', 3 * MiB, { headers: key, chunked: true });
    expect(asBouncer.status).toBe(401);
    expect(asBouncer.sentWhenAnswered).toBe(3 * MiB);
  });

  it('keeps registration and login at 2 MiB whatever credential comes with them', async () => {
    const answer = await upload(base, 'POST', '/v1/watchers/login', 3 * MiB, { headers: agent });
    expect(answer.status).toBe(413);
  });
});
