// End-to-end: bad input on every route answers a client error with a JSON `message`, never a
// 5xx, and the server keeps serving. Plain HTTP, as the Go clients send it.
//
// Each case records what Debian's crowdsec 1.4.6 LAPI actually answers (`reference`, observed
// with E2E_TARGET=reference); 1.4.6 answers 500 to most client mistakes (LAPI-CONTRACT.md §1.1).
// Our server (README "Compatibility notes") answers 4xx where the reference answers 500, with a
// JSON body whose `message` is a string (1.4.6 clients crash on an error body without one), and
// the same 4xx status where the reference already answers 4xx.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable } from './cscli';
import {
  type BouncerClient,
  type CscliClient,
  type HttpResult,
  type LapiTarget,
  http,
  machineToken,
  newBouncerClient,
  newCscliClient,
  selectedTargets,
  startTarget,
  suffix,
} from './targets';

type Auth = 'machine' | 'bouncer' | 'none';

interface BadInputCase {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  auth: Auth;
  body?: string;
  /** Observed on crowdsec 1.4.6: status, and `message` (exact or pattern); `emptyBody` when it sent none. */
  reference: { status: number; message?: string | RegExp; emptyBody?: true };
  /** Ours must answer the reference's (4xx) status, not just any 4xx. */
  oursSameStatus?: true;
  /** Ours must also send the reference's message. */
  oursSameMessage?: true;
  /** The reference rejects it with 500; accepting it (2xx) is fine for ours too (newer LAPIs do). */
  oursMayAccept?: true;
  /** The reference accepts it; a 4xx is fine for ours too. */
  oursMayReject?: true;
  /**
   * A body over our limit: refused before it is read, so a client still sending it may see the connection end
   * (EPIPE, reset) rather than read the 413. That is a refusal too; the server must stay up.
   */
  refusedMayReset?: true;
}

// Free-form JSON that the cases below break in every possible way.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type JsonObject = Record<string, any>;

/** A valid alert as cscli 1.4.6 sends it for `decisions add --ip 192.0.2.50` (§4.1), then `change`d. */
function alertBody(change: (alert: JsonObject) => void = () => undefined): string {
  const alert: JsonObject = {
    capacity: 0,
    decisions: [{ duration: '1h', origin: 'cscli', scenario: 't', scope: 'Ip', type: 'ban', value: '192.0.2.50' }],
    events: [],
    events_count: 1,
    labels: null,
    leakspeed: '0',
    message: 't',
    scenario: 't',
    scenario_hash: '',
    scenario_version: '',
    simulated: false,
    source: { ip: '192.0.2.50', scope: 'Ip', value: '192.0.2.50' },
    start_at: new Date().toISOString(),
    stop_at: new Date().toISOString(),
  };
  change(alert);
  return JSON.stringify([alert]);
}

const UNABLE_TO_CREATE = (what: string) => new RegExp(`^unable to create alerts: ${what}`);
const VALIDATION = (line: string) => new RegExp(`^validation failure list:\\n(validation failure list:\\n)?${line}`);
const BAD_IP = (v: string) => `unable to convert '${v}' to int: invalid address: invalid ip address / range`;
const BAD_RANGE = (v: string) =>
  `unable to convert '${v}' to int: while parsing range ${v}: invalid CIDR address: ${v}: invalid ip address / range`;
const HUGE = '99999999999999999999';

const cases: BadInputCase[] = [
  // POST /v1/alerts (§3.5)
  ...(
    [
      ['invalid JSON', '{not json', 400, "invalid character 'n' looking for beginning of object key string"],
      ['empty body', '', 400, 'EOF'],
      [
        'an object, not a list',
        '{}',
        400,
        'json: cannot unmarshal object into Go value of type models.AddAlertsRequest',
      ],
      [
        'a string, not a list',
        '"x"',
        400,
        'json: cannot unmarshal string into Go value of type models.AddAlertsRequest',
      ],
    ] as const
  ).map(([name, body, status, message]): BadInputCase => ({
    name: `POST /v1/alerts: ${name}`,
    method: 'POST',
    path: '/v1/alerts',
    auth: 'machine',
    body,
    reference: { status, message },
    // Not JSON at all: 400 everywhere (a JSON of the wrong shape may be 400 or 422 for us).
    oursSameStatus: body === '' || body.startsWith('{not') ? true : undefined,
  })),
  ...(
    [
      ['alert without its required fields', '[{}]', 500, VALIDATION('0.capacity in body is required')],
      [
        'scenario is a number',
        alertBody((a) => (a.scenario = 1)),
        400,
        'json: cannot unmarshal number into Go struct field Alert.scenario of type string',
      ],
      [
        'capacity is a string',
        alertBody((a) => (a.capacity = '5')),
        400,
        'json: cannot unmarshal string into Go struct field Alert.capacity of type int32',
      ],
      [
        'capacity overflows int32',
        alertBody((a) => (a.capacity = 99999999999)),
        400,
        'json: cannot unmarshal number 99999999999 into Go struct field Alert.capacity of type int32',
      ],
      [
        'events_count is not an integer',
        alertBody((a) => (a.events_count = 1.5)),
        400,
        'json: cannot unmarshal number 1.5 into Go struct field Alert.events_count of type int32',
      ],
      [
        'simulated is a string',
        alertBody((a) => (a.simulated = 'no')),
        400,
        'json: cannot unmarshal string into Go struct field Alert.simulated of type bool',
      ],
      [
        'decisions is an object',
        alertBody((a) => (a.decisions = {})),
        400,
        'json: cannot unmarshal object into Go struct field Alert.decisions of type []*models.Decision',
      ],
      [
        'decision without type',
        alertBody((a) => delete a.decisions[0].type),
        500,
        VALIDATION('0.decisions.0.type in body is required'),
      ],
      ['source is null', alertBody((a) => (a.source = null)), 500, VALIDATION('0.source in body is required')],
      [
        'event without meta',
        alertBody((a) => (a.events = [{ timestamp: 'x' }])),
        500,
        VALIDATION('0.events.0.meta in body is required'),
      ],
      [
        'decision duration "abc"',
        alertBody((a) => (a.decisions[0].duration = 'abc')),
        500,
        UNABLE_TO_CREATE(`decision duration 'abc' : time: invalid duration "abc"`),
      ],
      [
        'empty decision duration',
        alertBody((a) => (a.decisions[0].duration = '')),
        500,
        UNABLE_TO_CREATE(`decision duration '' : time: invalid duration ""`),
      ],
      [
        'decision duration overflows',
        alertBody((a) => (a.decisions[0].duration = '99999999999h')),
        500,
        UNABLE_TO_CREATE(`decision duration '99999999999h' : time: invalid duration "99999999999h"`),
      ],
      [
        'Ip decision on "999.1.1.1"',
        alertBody((a) => (a.decisions[0].value = '999.1.1.1')),
        500,
        UNABLE_TO_CREATE('invalid addr/range 999.1.1.1 : invalid address'),
      ],
      [
        'Range decision on "10.0.0.0/99"',
        alertBody((a) => {
          a.decisions[0].scope = 'Range';
          a.decisions[0].value = '10.0.0.0/99';
        }),
        500,
        UNABLE_TO_CREATE('invalid addr/range 10.0.0.0/99 : while parsing range'),
      ],
      [
        'Ip decision on ""',
        alertBody((a) => (a.decisions[0].value = '')),
        500,
        UNABLE_TO_CREATE('invalid addr/range  : invalid address'),
      ],
    ] as const
  ).map(([name, body, status, message]): BadInputCase => ({
    name: `POST /v1/alerts: ${name}`,
    method: 'POST',
    path: '/v1/alerts',
    auth: 'machine',
    body,
    reference: { status, message },
  })),
  {
    // 1.4.6 only knows Go durations; ≥1.6.9 accepts a days prefix, which is harmless (§1.3).
    name: 'POST /v1/alerts: decision duration "1d"',
    method: 'POST',
    path: '/v1/alerts',
    auth: 'machine',
    body: alertBody((a) => (a.decisions[0].duration = '1d')),
    reference: { status: 500, message: UNABLE_TO_CREATE(`decision duration '1d' : time: unknown unit "d"`) },
    oursMayAccept: true,
  },
  {
    name: 'POST /v1/alerts: null (no alerts)',
    method: 'POST',
    path: '/v1/alerts',
    auth: 'machine',
    body: 'null',
    reference: { status: 201 },
    oursMayReject: true,
  },

  // GET /v1/alerts (§3.6)
  ...(
    [
      ['bogus=1', "Filter parameter 'bogus' is unknown (=1): invalid filter"],
      ['ip=1.2.3', BAD_IP('1.2.3')],
      ['range=1.2.3.0/99', BAD_RANGE('1.2.3.0/99')],
      ['since=xx', 'while parsing duration: time: invalid duration "xx"'],
      ['since=9999999999h', 'while parsing duration: time: invalid duration "9999999999h"'],
      ['until=xd', 'while parsing duration: strconv.Atoi: parsing "x": invalid syntax'],
      ['limit=x', 'bad limit in parameters: [x]: unable to query'],
      [`limit=${HUGE}`, `bad limit in parameters: [${HUGE}]: unable to query`],
      [
        'has_active_decision=maybe',
        `'maybe' is not a boolean: strconv.ParseBool: parsing "maybe": invalid syntax: unable to parse type`,
      ],
      ['contains=maybe', 'invalid contains value : strconv.ParseBool: parsing "maybe": invalid syntax: invalid filter'],
    ] as const
  ).map(([query, message]): BadInputCase => ({
    name: `GET /v1/alerts?${query}`,
    method: 'GET',
    path: `/v1/alerts?${query}`,
    auth: 'machine',
    reference: { status: 500, message },
  })),
  {
    // The reference crashes (recovered panic: 500, no body).
    name: 'GET /v1/alerts?limit=-1',
    method: 'GET',
    path: '/v1/alerts?limit=-1',
    auth: 'machine',
    reference: { status: 500, emptyBody: true },
  },

  // GET /v1/alerts/:alert_id (§3.7)
  ...['abc', '1.5', HUGE].map((id): BadInputCase => ({
    name: `GET /v1/alerts/${id}`,
    method: 'GET',
    path: `/v1/alerts/${id}`,
    auth: 'machine',
    reference: { status: 400, message: 'alert_id must be valid integer' },
    oursSameStatus: true,
    oursSameMessage: true,
  })),
  {
    name: 'GET /v1/alerts/999999 (unknown)',
    method: 'GET',
    path: '/v1/alerts/999999',
    auth: 'machine',
    reference: { status: 404, message: 'object not found' },
    oursSameStatus: true,
    oursSameMessage: true,
  },
  {
    name: 'GET /v1/alerts/-1',
    method: 'GET',
    path: '/v1/alerts/-1',
    auth: 'machine',
    reference: { status: 404, message: 'object not found' },
  },

  // DELETE /v1/alerts/:alert_id and /v1/alerts (§3.8, §3.9)
  {
    name: 'DELETE /v1/alerts/abc',
    method: 'DELETE',
    path: '/v1/alerts/abc',
    auth: 'machine',
    reference: { status: 400, message: 'alert_id must be valid integer' },
    oursSameStatus: true,
    oursSameMessage: true,
  },
  {
    name: 'DELETE /v1/alerts/999999 (unknown)',
    method: 'DELETE',
    path: '/v1/alerts/999999',
    auth: 'machine',
    reference: { status: 500, message: 'ent: alert not found' },
  },
  {
    name: 'DELETE /v1/alerts?bogus=1',
    method: 'DELETE',
    path: '/v1/alerts?bogus=1',
    auth: 'machine',
    reference: { status: 500, message: "Filter parameter 'bogus' is unknown (=1): invalid filter" },
  },
  {
    name: 'DELETE /v1/alerts?ip=nope',
    method: 'DELETE',
    path: '/v1/alerts?ip=nope',
    auth: 'machine',
    reference: { status: 500, message: BAD_IP('nope') },
  },

  // DELETE /v1/decisions (§3.10); none of these may expire anything.
  ...(
    [
      ['scope=Ip', "'scope' doesn't exist: invalid filter"],
      ['type=ban&bogus=1', "'bogus' doesn't exist: invalid filter"],
      ['ip=nope', BAD_IP('nope')],
      ['range=1.2.3.4/40', BAD_RANGE('1.2.3.4/40')],
      ['contains=maybe', 'invalid contains value : strconv.ParseBool: parsing "maybe": invalid syntax: invalid filter'],
    ] as const
  ).map(([query, message]): BadInputCase => ({
    name: `DELETE /v1/decisions?${query}`,
    method: 'DELETE',
    path: `/v1/decisions?${query}`,
    auth: 'machine',
    reference: { status: 500, message },
  })),

  // DELETE /v1/decisions/:decision_id (§3.11)
  ...['abc', '1e3', HUGE].map((id): BadInputCase => ({
    name: `DELETE /v1/decisions/${id}`,
    method: 'DELETE',
    path: `/v1/decisions/${id}`,
    auth: 'machine',
    reference: { status: 400, message: 'decision_id must be valid integer' },
    oursSameStatus: true,
    oursSameMessage: true,
  })),
  ...['999999', '-5'].map((id): BadInputCase => ({
    name: `DELETE /v1/decisions/${id} (unknown)`,
    method: 'DELETE',
    path: `/v1/decisions/${id}`,
    auth: 'machine',
    reference: { status: 500, message: `decision with id '${id}' doesn't exist: unable to delete` },
  })),

  // GET /v1/decisions (§3.12)
  ...(
    [
      ['ip=nope', BAD_IP('nope')],
      ['ip=1.2.3.4.5', BAD_IP('1.2.3.4.5')],
      ['ip=::zz', BAD_IP('::zz')],
      ['ip=%00', BAD_IP('\u0000')],
      ['range=10.0.0.0/33', BAD_RANGE('10.0.0.0/33')],
      ['range=nope', BAD_IP('nope')],
      ['contains=maybe', 'invalid contains value : strconv.ParseBool: parsing "maybe": invalid syntax: invalid filter'],
    ] as const
  ).map(([query, message]): BadInputCase => ({
    name: `GET /v1/decisions?${query}`,
    method: 'GET',
    path: `/v1/decisions?${query}`,
    auth: 'bouncer',
    reference: { status: 500, message },
  })),
  {
    // Unknown parameters are ignored on the bouncer routes (§3.12).
    name: 'GET /v1/decisions?bogus=1 (ignored)',
    method: 'GET',
    path: '/v1/decisions?bogus=1&ip=192.0.2.222',
    auth: 'bouncer',
    reference: { status: 200 },
  },
  {
    name: 'GET /v1/decisions?value=<8000 chars>',
    method: 'GET',
    path: `/v1/decisions?value=${'a'.repeat(8000)}`,
    auth: 'bouncer',
    reference: { status: 200 },
  },

  // GET /v1/decisions/stream (§3.13)
  {
    name: 'GET /v1/decisions/stream?ip=nope',
    method: 'GET',
    path: '/v1/decisions/stream?ip=nope',
    auth: 'bouncer',
    reference: { status: 500, message: /^new decisions since '.*': unable to query$/ },
  },
  {
    name: 'GET /v1/decisions/stream?range=nope&startup=true',
    method: 'GET',
    path: '/v1/decisions/stream?range=nope&startup=true',
    auth: 'bouncer',
    reference: { status: 500, message: 'get all decisions with filters: unable to query' },
  },
  {
    name: 'GET /v1/decisions/stream?contains=maybe',
    method: 'GET',
    path: '/v1/decisions/stream?contains=maybe',
    auth: 'bouncer',
    reference: { status: 500, message: /^new decisions since '.*': unable to query$/ },
  },
  {
    name: 'GET /v1/decisions/stream?startup=maybe (a delta)',
    method: 'GET',
    path: '/v1/decisions/stream?startup=maybe',
    auth: 'bouncer',
    reference: { status: 200 },
  },
  {
    name: 'GET /v1/decisions/stream?bogus=1 (ignored)',
    method: 'GET',
    path: '/v1/decisions/stream?bogus=1',
    auth: 'bouncer',
    reference: { status: 200 },
  },

  // POST /v1/watchers and /v1/watchers/login (§3.1, §2.1)
  {
    name: 'POST /v1/watchers: invalid JSON',
    method: 'POST',
    path: '/v1/watchers',
    auth: 'none',
    body: '{bad',
    reference: { status: 400, message: "invalid character 'b' looking for beginning of object key string" },
    oursSameStatus: true,
  },
  {
    name: 'POST /v1/watchers: machine_id is a number',
    method: 'POST',
    path: '/v1/watchers',
    auth: 'none',
    body: '{"machine_id":1,"password":"x"}',
    reference: {
      status: 400,
      message:
        'json: cannot unmarshal number into Go struct field WatcherRegistrationRequest.machine_id of type string',
    },
  },
  {
    name: 'POST /v1/watchers: no password',
    method: 'POST',
    path: '/v1/watchers',
    auth: 'none',
    body: `{"machine_id":"e2e-nopass-${randomBytes(3).toString('hex')}"}`,
    reference: { status: 500, message: 'validation failure list:\npassword in body is required' },
  },
  {
    name: 'POST /v1/watchers/login: invalid JSON',
    method: 'POST',
    path: '/v1/watchers/login',
    auth: 'none',
    body: '{bad',
    reference: { status: 401, message: "missing: invalid character 'b' looking for beginning of object key string" },
    oursSameStatus: true,
  },
  {
    name: 'POST /v1/watchers/login: machine_id is a number',
    method: 'POST',
    path: '/v1/watchers/login',
    auth: 'none',
    body: '{"machine_id":1,"password":"x"}',
    reference: {
      status: 401,
      message:
        'missing: json: cannot unmarshal number into Go struct field WatcherAuthRequest.machine_id of type string',
    },
  },
  {
    // 1.4.6 reads any size; ours (as 1.7.8) refuses more than 2 MiB before authentication.
    name: 'POST /v1/watchers/login: 3 MiB body',
    method: 'POST',
    path: '/v1/watchers/login',
    auth: 'none',
    body: JSON.stringify({ machine_id: 'x'.repeat(3 * 1024 * 1024), password: 'y' }),
    reference: { status: 401, message: 'ent: machine not found' },
    refusedMayReset: true,
  },
];

describe.each(selectedTargets())('bad input on every route (%s)', (targetName) => {
  const sfx = suffix();
  let tmp: string;
  let target: LapiTarget;
  let cli: CscliClient;
  let bouncer: BouncerClient;
  let token: string;

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), `lapi-e2e-bad-${targetName}-`));
    target = await startTarget(targetName, tmp);
    cli = await newCscliClient(target, join(tmp, 'cscli'), `e2e-bad-cli-${sfx}`);
    bouncer = await newBouncerClient(target, `e2e-bad-${sfx}`);
    const login = `e2e-bad-http-${sfx}`;
    const password = randomBytes(24).toString('hex');
    await target.addMachine(login, password);
    token = await machineToken(target, login, password);
    // A decision that every rejected DELETE must leave alone.
    await cli.ok(['decisions', 'add', '--ip', '192.0.2.222', '--duration', '1h', '--reason', 'e2e keep me']);
  });

  afterAll(async () => {
    await target?.stop();
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  const send = (c: BadInputCase): Promise<HttpResult | undefined> => {
    const headers: Record<string, string> = { 'User-Agent': 'crowdsec/v1.4.6-e2e' };
    if (c.auth === 'machine') {
      headers.Authorization = `Bearer ${token}`;
    } else if (c.auth === 'bouncer') {
      headers['X-Api-Key'] = bouncer.key;
    }
    if (c.body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    const sent = http(`${target.url}${c.path}`, { method: c.method, headers, body: c.body });
    if (!c.refusedMayReset || target.isReference) {
      return sent;
    }
    return sent.catch(async (error: Error & { cause?: { code?: string } }) => {
      if (!['EPIPE', 'ECONNRESET'].includes(error.cause?.code ?? '')) {
        throw error;
      }
      // Refused mid-upload: no answer to check, but the server must still answer the next request.
      expect((await http(`${target.url}/health`)).status).toBe(200);
      return undefined;
    });
  };

  const describeAnswer = (c: BadInputCase, r: HttpResult) =>
    `${c.method} ${c.path.slice(0, 200)} → HTTP ${r.status} ${r.contentType ?? '(no content-type)'} ${r.text.slice(0, 500)}` +
    `\n--- ${target.name} LAPI output (last 2000 chars) ---\n${target.output().slice(-2000)}`;

  const messageOf = (r: HttpResult): unknown =>
    r.json && typeof r.json === 'object' && !Array.isArray(r.json)
      ? (r.json as { message?: unknown }).message
      : undefined;

  it.each(cases.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const r = await send(c);
    if (r === undefined) {
      return; // refusedMayReset: the connection ended mid-upload (checked in send)
    }
    const context = describeAnswer(c, r);
    if (target.isReference) {
      expect({ status: r.status, context }).toEqual({ status: c.reference.status, context });
      if (c.reference.emptyBody) {
        expect({ body: r.text, context }).toEqual({ body: '', context });
      } else if (r.status >= 400) {
        expect({ message: typeof messageOf(r), context }).toEqual({ message: 'string', context });
      }
    } else {
      expect({ below500: r.status < 500, context }).toEqual({ below500: true, context });
      if (c.reference.status >= 400 && !c.oursMayAccept) {
        expect({ clientError: r.status >= 400, context }).toEqual({ clientError: true, context });
      }
      if (c.reference.status < 400 && !c.oursMayReject) {
        expect({ success: r.status < 400, context }).toEqual({ success: true, context });
      }
      if (c.oursSameStatus) {
        expect({ status: r.status, context }).toEqual({ status: c.reference.status, context });
      }
      if (r.status >= 400) {
        expect(r.contentType ?? '').toMatch(/^application\/json/);
        expect({ message: typeof messageOf(r), context }).toEqual({ message: 'string', context });
        expect({ empty: messageOf(r) === '', context }).toEqual({ empty: false, context });
      }
    }
    const expected = c.reference.message;
    if (expected !== undefined && (target.isReference || c.oursSameMessage)) {
      const message = messageOf(r);
      if (typeof expected === 'string') {
        expect({ message, context }).toEqual({ message: expected, context });
      } else {
        expect({ message, context }).toEqual({ message: expect.stringMatching(expected), context });
      }
    }
  });

  it('the server is still up and its data untouched afterwards', async () => {
    const health = await http(`${target.url}/health`);
    expect({ status: health.status, body: health.json }).toEqual({ status: 200, body: { status: 'up' } });
    const kept = await bouncer.decisions('ip=192.0.2.222');
    expect(kept.map((d) => [d.value, d.scenario])).toEqual([['192.0.2.222', 'e2e keep me']]);
    const listed = await cli.ok(['decisions', 'list']);
    expect(listed.stdout).toContain('Ip:192.0.2.222');
    const fresh = await newBouncerClient(target, `e2e-bad-after-${sfx}`);
    const stream = await fresh.stream('startup=true');
    expect((stream.new ?? []).map((d) => d.value)).toContain('192.0.2.222');
  });
});
