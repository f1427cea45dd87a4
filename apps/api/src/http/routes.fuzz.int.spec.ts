import {
  addAlertsRequest,
  bulkCheckAllowlistRequest,
  usageMetricsRequest,
  watcherAuthRequest,
  watcherRegistrationRequest,
} from '@lapi/lapi-contract';
import {
  CONTENT_TYPES,
  edgeString,
  forgeJwt,
  jsonBodyFrom,
  pathSegment,
  queryString,
  rawBodyText,
  TEST_JWT_SECRET,
} from '@lapi/testing';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { ZodTypeAny } from 'zod';
import { AGENT_UA, startTestApi, type TestApi } from '../../test/api-harness';

// Property-based fuzzing of every route with invalid and edge-case input, authenticated so that validation is
// reached: whatever comes in, the answer is never a 5xx, a client error carries a JSON `message` (gin's empty
// 404/405 aside), and the server still answers /health afterwards. A failure prints fast-check's seed and path;
// replay it with LAPI_FUZZ_SEED=<seed> (LAPI_FUZZ_RUNS scales the number of runs, default 60 per property).

const RUNS = Number(process.env.LAPI_FUZZ_RUNS ?? 60);
const SEED = process.env.LAPI_FUZZ_SEED ? Number(process.env.LAPI_FUZZ_SEED) : undefined;
const params = (numRuns = RUNS): fc.Parameters<unknown> => ({ numRuns, seed: SEED, endOnFailure: true });

type Auth = 'machine' | 'bouncer' | 'none';
type Method = 'GET' | 'HEAD' | 'POST' | 'DELETE';

// The query parameters of each route (reference swagger, plus the newer ones clients send).
const ALERT_PARAMS = [
  'scope',
  'value',
  'scenario',
  'ip',
  'range',
  'contains',
  'since',
  'until',
  'created_before',
  'decision_type',
  'origin',
  'include_capi',
  'has_active_decision',
  'simulated',
  'limit',
  'sort',
  'kind',
  'with_decisions',
];
const DECISION_PARAMS = [
  'scope',
  'scopes',
  'value',
  'type',
  'ip',
  'range',
  'contains',
  'origins',
  'scenarios_containing',
  'scenarios_not_containing',
  'simulated',
];
const STREAM_PARAMS = [...DECISION_PARAMS, 'startup', 'dedup'];
const DELETE_DECISION_PARAMS = ['ip', 'range', 'contains', 'value', 'type', 'scenario', 'origin', 'scopes', 'uuid'];

interface FuzzRoute {
  method: Method;
  /** As registered. */
  route: string;
  auth: Auth;
  body?: ZodTypeAny;
  query?: readonly string[];
  /** Has a `:param` segment. */
  param?: true;
}

const ROUTES: FuzzRoute[] = [
  { method: 'POST', route: '/v1/watchers', auth: 'none', body: watcherRegistrationRequest },
  { method: 'POST', route: '/v1/watchers/login', auth: 'none', body: watcherAuthRequest },
  { method: 'POST', route: '/v1/alerts', auth: 'machine', body: addAlertsRequest },
  { method: 'GET', route: '/v1/alerts', auth: 'machine', query: ALERT_PARAMS },
  { method: 'DELETE', route: '/v1/alerts', auth: 'machine', query: ALERT_PARAMS },
  { method: 'GET', route: '/v1/alerts/:alert_id', auth: 'machine', param: true, query: [] },
  { method: 'DELETE', route: '/v1/alerts/:alert_id', auth: 'machine', param: true, query: [] },
  { method: 'DELETE', route: '/v1/decisions', auth: 'machine', query: DELETE_DECISION_PARAMS },
  { method: 'DELETE', route: '/v1/decisions/:decision_id', auth: 'machine', param: true, query: [] },
  { method: 'GET', route: '/v1/decisions', auth: 'bouncer', query: DECISION_PARAMS },
  { method: 'GET', route: '/v1/decisions/stream', auth: 'bouncer', query: STREAM_PARAMS },
  { method: 'POST', route: '/v1/usage-metrics', auth: 'bouncer', body: usageMetricsRequest },
  { method: 'GET', route: '/v1/heartbeat', auth: 'machine', query: [] },
  { method: 'GET', route: '/v1/allowlists', auth: 'machine', query: ['with_content'] },
  { method: 'GET', route: '/v1/allowlists/:name', auth: 'machine', param: true, query: ['with_content'] },
  { method: 'GET', route: '/v1/allowlists/check/:value', auth: 'machine', param: true, query: [] },
  { method: 'POST', route: '/v1/allowlists/check', auth: 'machine', body: bulkCheckAllowlistRequest },
  { method: 'GET', route: '/v1/refresh_token', auth: 'machine', query: [] },
  { method: 'GET', route: '/health', auth: 'none', query: [] },
  { method: 'GET', route: '/health/ready', auth: 'none', query: [] },
  // Fuzzed for authentication only below: a valid token here deletes the machine the other properties use.
  { method: 'DELETE', route: '/v1/watchers/self', auth: 'machine' },
];

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** What is wrong with an answer to bad input (empty: nothing). */
function clientAnswerProblems(method: Method, res: Answer): string[] {
  if (res.status >= 500) {
    return [`status ${res.status}: ${res.body.slice(0, 300)}`];
  }
  if (method === 'HEAD') {
    return []; // no body goes out (Node's server drops it; inject does not)
  }
  if (res.status < 400) {
    return [];
  }
  if (res.body === '') {
    // gin's answer to an unknown path or method (reference §1).
    return res.status === 404 || res.status === 405 ? [] : [`status ${res.status} without a body`];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    return [`status ${res.status} with a body that is not JSON: ${res.body.slice(0, 200)}`];
  }
  const obj = parsed as Record<string, unknown> | null;
  if (!obj || typeof obj !== 'object' || typeof obj.message !== 'string') {
    return [`status ${res.status} without a string message: ${res.body.slice(0, 200)}`];
  }
  const extra = Object.keys(obj).filter((k) => !['message', 'code', 'errors'].includes(k));
  return extra.length ? [`unexpected keys ${extra.join(',')} in ${res.body.slice(0, 200)}`] : [];
}

describe('fuzz: every route with generated invalid input', () => {
  let t: TestApi;
  let auth: Record<Auth, Record<string, string>>;

  beforeAll(async () => {
    // Throttling would answer every login 429 after a few failures, and the fuzzer would stop reaching validation.
    t = await startTestApi('postgres', {
      LAPI_LOGIN_MAX_FAILURES_PER_IP: '1000000',
      LAPI_LOGIN_MAX_FAILURES_PER_MACHINE: '1000000',
    });
    auth = { machine: await t.machine('fuzz-agent'), bouncer: await t.bouncer('fuzz-bouncer'), none: {} };
  });

  afterAll(async () => {
    await t?.close();
  });

  const send = async (
    route: FuzzRoute,
    method: Method,
    url: string,
    headers: Record<string, string>,
    payload?: string,
  ): Promise<void> => {
    const res = await t.inject({ method, url, headers: { 'user-agent': AGENT_UA, ...headers }, payload });
    const answer = { status: res.statusCode, headers: res.headers, body: res.body };
    const problems = clientAnswerProblems(method, answer);
    if (problems.length) {
      throw new Error(`${method} ${url} (${route.route}) → ${problems.join('; ')}`);
    }
  };

  afterEach(async () => {
    const res = await t.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
  });

  it('fuzzes every route the server registers', () => {
    const fuzzed = new Set(ROUTES.map((r) => `${r.method} ${r.route}`));
    const missing = t.api.routes
      .list()
      // HEAD runs the GET handler; the query properties below send both.
      .map((r) => `${r.method === 'HEAD' ? 'GET' : r.method} ${r.url}`)
      .filter((r) => !fuzzed.has(r));
    expect(missing).toEqual([]);
  });

  const withBody = ROUTES.filter((r) => r.body);
  it.each(withBody.map((r) => [`${r.method} ${r.route}`, r] as const))(
    '%s: JSON bodies derived from the swagger model, broken at one place',
    async (_name, route) => {
      await fc.assert(
        fc.asyncProperty(jsonBodyFrom(route.body!), async (body) => {
          await send(
            route,
            route.method,
            route.route,
            { ...auth[route.auth], 'content-type': 'application/json' },
            JSON.stringify(body) ?? '',
          );
        }),
        params(),
      );
    },
  );

  it.each(withBody.map((r) => [`${r.method} ${r.route}`, r] as const))(
    '%s: malformed JSON, huge and deep bodies, any content type',
    async (_name, route) => {
      await fc.assert(
        fc.asyncProperty(rawBodyText(), fc.option(fc.constantFrom(...CONTENT_TYPES)), async (text, contentType) => {
          const headers: Record<string, string> = { ...auth[route.auth] };
          if (contentType !== null) {
            headers['content-type'] = contentType;
          }
          await send(route, route.method, route.route, headers, text);
        }),
        params(Math.ceil(RUNS / 2)),
      );
    },
  );

  const withQuery = ROUTES.filter((r) => r.query);
  it.each(withQuery.map((r) => [`${r.method} ${r.route}`, r] as const))(
    '%s: query parameters and path ids of every kind',
    async (_name, route) => {
      const methods: Method[] = route.method === 'GET' ? ['GET', 'HEAD'] : [route.method];
      await fc.assert(
        fc.asyncProperty(
          route.param ? pathSegment() : fc.constant(''),
          queryString(route.query!),
          fc.constantFrom(...methods),
          async (segment, query, method) => {
            const path = route.param ? route.route.replace(/:[a-z_]+$/, segment) : route.route;
            await send(route, method, query ? `${path}?${query}` : path, auth[route.auth]);
          },
        ),
        params(),
      );
    },
  );

  // Authentication itself: random and forged credentials never get past the guards, and never crash them.
  const guarded = ROUTES.filter((r) => r.auth !== 'none');
  const headerText = fc.string({ unit: 'grapheme-ascii', maxLength: 300 });
  const forgedToken = fc
    .record({
      secret: fc.oneof(fc.constant('wrong-secret-'.padEnd(64, 'y')), fc.string({ minLength: 1, maxLength: 80 })),
      id: fc.oneof(edgeString(), fc.integer(), fc.constant(null)),
      exp: fc.oneof(fc.integer(), fc.constant('soon'), fc.constant(null)),
      alg: fc.constantFrom('HS256', 'none', 'HS512', 'RS256', ''),
    })
    .map(({ secret, id, exp, alg }) => forgeJwt(secret, { id, exp, orig_iat: 0 }, { alg, typ: 'JWT' }));
  // Signed with the server's secret, valid claims, but critical header extensions that no one here understands.
  const criticalToken = fc.array(edgeString(), { maxLength: 3 }).map((crit) => {
    const now = Math.floor(Date.now() / 1000);
    return forgeJwt(TEST_JWT_SECRET, { id: 'fuzz-agent', exp: now + 3600, orig_iat: now }, { alg: 'HS256', crit });
  });
  const credentialHeaders = fc.oneof(
    headerText.map((v) => ({ authorization: v })),
    headerText.map((v) => ({ authorization: `Bearer ${v}` })),
    forgedToken.map((v) => ({ authorization: `Bearer ${v}` })),
    forgedToken.map((v) => ({ cookie: `jwt=${v}` })),
    criticalToken.map((v) => ({ authorization: `Bearer ${v}` })),
    headerText.map((v) => ({ cookie: `jwt=${v}` })),
    headerText.map((v) => ({ 'x-api-key': v })),
    headerText.map((v) => ({ cookie: v })),
  );
  it.each(guarded.map((r) => [`${r.method} ${r.route}`, r] as const))(
    "%s: random and forged credentials are refused with the guard's answer",
    async (_name, route) => {
      await fc.assert(
        fc.asyncProperty(credentialHeaders, async (headers) => {
          const path = route.param ? route.route.replace(/:[a-z_]+$/, '1') : route.route;
          const res = await t.inject({
            method: route.method,
            url: path,
            headers: { 'user-agent': AGENT_UA, ...headers },
          });
          // Either credential: an X-Api-Key is the bouncer's, anything else (with the agent's User-Agent) a machine's.
          const asMachine = route.route === '/v1/usage-metrics' && !('x-api-key' in headers);
          if (route.route === '/v1/refresh_token') {
            expect(res.statusCode).toBe(401); // the handler parses the token itself
          } else if (route.auth === 'machine' || asMachine) {
            expect(res.statusCode).toBe(401);
            expect(res.headers['www-authenticate']).toBe('JWT realm=Crowdsec API local');
            expect(res.json()).toEqual({ code: 401, message: expect.any(String) });
          } else {
            expect({ status: res.statusCode, body: res.body }).toEqual({
              status: 403,
              body: '{"message":"access forbidden"}',
            });
          }
        }),
        params(),
      );
    },
  );

  // A token signed with the server's own secret but odd claims: the guard either refuses it or the route answers.
  it.each(guarded.filter((r) => r.route !== '/v1/watchers/self').map((r) => [`${r.method} ${r.route}`, r] as const))(
    '%s: tokens signed with the server secret and odd claims',
    async (_name, route) => {
      const now = Math.floor(Date.now() / 1000);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(edgeString(), fc.integer(), fc.constant(null), fc.constant('fuzz-agent')),
          fc.oneof(fc.constant(now + 3600), fc.constant(now - 1), fc.integer(), fc.constant(2 ** 53 + 1)),
          async (id, exp) => {
            const token = forgeJwt(TEST_JWT_SECRET, { id, exp, orig_iat: now });
            const path = route.param ? route.route.replace(/:[a-z_]+$/, '1') : route.route;
            const body = route.body ? JSON.stringify([]) : undefined;
            await send(route, route.method, path, { authorization: `Bearer ${token}` }, body);
          },
        ),
        params(Math.ceil(RUNS / 2)),
      );
    },
  );

  // On the wire: request lines and headers Node's parser or Fastify refuse before any route runs.
  it('raw requests with broken request lines and headers: never a 5xx, and the server keeps serving', async () => {
    await t.api.app.listen(0, '127.0.0.1');
    const port = (t.api.app.getHttpServer().address() as AddressInfo).port;
    const raw = (bytes: Buffer): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
        socket.setTimeout(5000, () => socket.destroy());
        socket.end(bytes);
      });
    const target = fc.oneof(
      fc.constantFrom('/v1/decisions/%ZZ', '/v1/alerts/%', '/v1/alerts?ip=%E0%A4%A', '*', 'http://x/v1/alerts', '//'),
      fc.uint8Array({ minLength: 1, maxLength: 60 }).map((b) => `/v1/alerts/${Buffer.from(b).toString('latin1')}`),
      fc.constant(`/v1/decisions?value=${'a'.repeat(20_000)}`),
    );
    const header = fc.oneof(
      fc.constant(''),
      fc.constantFrom('X-Api-Key: a\x00b\r\n', 'Content-Length: -1\r\n', 'Content-Length: 1\r\nContent-Length: 2\r\n'),
      fc.constantFrom('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', `X-Big: ${'b'.repeat(20_000)}\r\n`),
      fc.uint8Array({ maxLength: 40 }).map((b) => `X-Junk: ${Buffer.from(b).toString('latin1')}\r\n`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'DELETE', 'POST'),
        target,
        header,
        async (method, path, extra) => {
          const answer = await raw(
            Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`, 'latin1'),
          );
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
          // No answer at all (the connection reset) is a refusal too; a 5xx is not.
          expect(status < 500).toBe(true);
          const health = await t.inject({ method: 'GET', url: '/health' });
          expect(health.statusCode).toBe(200);
        },
      ),
      params(Math.ceil(RUNS / 2)),
    );
  });
});
