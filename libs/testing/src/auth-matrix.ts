import jwt from 'jsonwebtoken';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { IssuedCertificate } from './certificates';

// The auth matrix of issue #6: every route × every kind of credential → the status and body we answer, and where
// Debian's crowdsec 1.4.6 answers differently, what it answers. One table drives the in-process test of our server
// (apps/api/src/http/auth-matrix.int.spec.ts), the check of the reference (test/e2e/auth-matrix.e2e.spec.ts) and
// docs/auth-matrix.md (renderAuthMatrix; auth-matrix.spec.ts keeps the file in sync).

/** The credentials of the matrix; a new one makes every row below fail to compile until its cell is written. */
export const CREDENTIALS = [
  'none',
  'bouncer',
  'machine',
  'unvalidated',
  'expired',
  'agentCert',
  'bouncerCert',
] as const;
export type Credential = (typeof CREDENTIALS)[number];

export const CREDENTIAL_TITLES: Record<Credential, string> = {
  none: 'no credentials',
  bouncer: 'bouncer key',
  machine: 'machine JWT',
  unvalidated: 'unvalidated machine',
  expired: 'expired token',
  agentCert: 'agent cert',
  bouncerCert: 'bouncer cert',
};

/** What the client sends for each credential (the doc's legend). */
export const CREDENTIAL_MEANING: Record<Credential, string> = {
  none: 'no `Authorization`, no `X-Api-Key`; login: an empty body',
  bouncer: '`X-Api-Key` of a bouncer; login: an empty body',
  machine: "`Authorization: Bearer` a token from the validated machine's login; login: its id and password",
  unvalidated:
    '`Bearer` a token naming a registered, not validated machine, signed with the server secret (no login issues ' +
    "one; 1.4.6's JWT middleware does not consult the database, ours checks the machine still honours the " +
    'token); login: its id and password',
  expired:
    '`Bearer` a token of the validated machine, signed with the server secret, expired 1 min ago and issued 61 min ' +
    "ago (past the refresh window); login: that header plus the machine's id and password (the 1.4.6 agent " +
    'sends its stale token along)',
  agentCert:
    "over HTTPS, a client certificate of the server's CA with OU `agent-ou` and nothing else; login: empty " +
    '`machine_id` and `password`, as the 1.4.6 agent sends them with a certificate',
  bouncerCert: "over HTTPS, a client certificate of the server's CA with OU `bouncer-ou` and nothing else",
};

/** The expected body. */
export type BodyExpectation =
  | { kind: 'json'; value: unknown }
  /** No body at all (HEAD, 201/204 answers, gin's 404/405). */
  | { kind: 'empty' }
  /** A login answer: exactly {code: 200, expire, token}. */
  | { kind: 'token' }
  /** POST /v1/alerts: the created ids, as strings. */
  | { kind: 'ids' }
  /** Exactly this text (what the reference sends is not always JSON). */
  | { kind: 'raw'; text: string };

export interface Expectation {
  status: number;
  body: BodyExpectation;
}

export interface MatrixRow {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** The route as registered (`:param` for path parameters). */
  route: string;
  /** What is requested (the route with its parameters and query filled in). */
  path: string;
  /** The JSON body sent, if any; given the machine ids of the run and the credential. */
  body?: (ctx: MatrixIdentities, credential: Credential) => unknown;
  /** Login: the credential is the body; no header but the expired token's is sent. */
  credentialsInBody?: true;
  expect: Record<Credential, Expectation>;
  /** What crowdsec 1.4.6 answers where it differs; `absent`: the route is newer (gin's 404, empty body). */
  reference?: Partial<Record<Credential, Expectation>> | 'absent';
  /** Why we differ from 1.4.6, for the doc. */
  note?: string;
}

/** The identities a run creates before driving the matrix. */
export interface MatrixIdentities {
  /** A validated machine and its password. */
  machineId: string;
  password: string;
  /** A machine registered over POST /v1/watchers and never validated. */
  unvalidatedId: string;
  unvalidatedPassword: string;
  /** Unique per run, for names created by the matrix itself. */
  runId: string;
}

export interface MatrixCredentials extends MatrixIdentities {
  bouncerKey: string;
  /** The server's JWT secret, to sign the unvalidated and expired tokens. */
  jwtSecret: string;
  /** A token from the validated machine's login. */
  machineToken: string;
}

// Expectation builders.
const json = (status: number, value: unknown): Expectation => ({ status, body: { kind: 'json', value } });
const empty = (status: number): Expectation => ({ status, body: { kind: 'empty' } });
const token: Expectation = { status: 200, body: { kind: 'token' } };
const jwt401 = (message: string): Expectation => json(401, { code: 401, message });
const forbidden = json(403, { message: 'access forbidden' });
const noToken = jwt401('cookie token is empty');
const expiredToken = jwt401('Token is expired');
const notValidated = jwt401('machine <id> not validated');

/** The same answer for every credential. */
const all = (e: Expectation): Record<Credential, Expectation> => ({
  none: e,
  bouncer: e,
  machine: e,
  unvalidated: e,
  expired: e,
  agentCert: e,
  bouncerCert: e,
});
/** A route behind the JWT middleware, answering `ok` to a valid token of a machine that still honours it. */
const machineRoute = (ok: Expectation): Record<Credential, Expectation> => ({
  none: noToken,
  bouncer: noToken,
  machine: ok,
  unvalidated: notValidated,
  expired: expiredToken,
  // A certificate is no token: it only logs an agent in (reference §2.3).
  agentCert: noToken,
  bouncerCert: noToken,
});
/** A route behind the bouncer middleware, answering `ok` to a valid key. */
const bouncerRoute = (ok: Expectation): Record<Credential, Expectation> => ({
  none: forbidden,
  bouncer: ok,
  machine: forbidden,
  unvalidated: forbidden,
  expired: forbidden,
  agentCert: forbidden,
  bouncerCert: ok,
});
/** 1.4.6 never looks a token's machine up: a token it signed for an unvalidated machine works. */
const anySignedToken = (ok: Expectation): Partial<Record<Credential, Expectation>> => ({ unvalidated: ok });
/** HEAD: the same statuses as GET, never a body. */
const head = (e: Record<Credential, Expectation>): Record<Credential, Expectation> =>
  Object.fromEntries(Object.entries(e).map(([c, x]) => [c, empty(x.status)])) as Record<Credential, Expectation>;

// Filters that match nothing the matrix creates, so answers do not depend on the order cells run in.
const NO_MATCH = 'ip=198.51.100.77';
const MISSING_ID = '999999';
const MISSING_DECISION = `decision with id '${MISSING_ID}' doesn't exist: unable to delete`;

/** A minimal usage report: a bouncer's (remediation component) or an agent's (log processor). */
const usageReport = (bouncer: boolean): unknown =>
  bouncer
    ? { remediation_components: [{ version: 'v0.0.31', utc_startup_timestamp: 1764355000 }] }
    : { log_processors: [{ version: 'v1.7.0', utc_startup_timestamp: 1764355000, hub_items: {}, datasources: {} }] };

/** A complete alert as cscli 1.4.6 sends it for `decisions add --ip 192.0.2.50`. */
export const matrixAlert = (): unknown[] => [
  {
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
  },
];

export const AUTH_MATRIX: MatrixRow[] = [
  { method: 'GET', route: '/health', path: '/health', expect: all(json(200, { status: 'up' })) },
  {
    method: 'GET',
    route: '/health/ready',
    path: '/health/ready',
    expect: all(json(200, { status: 'ready' })),
    reference: 'absent',
    note: 'ours only, for load balancers',
  },
  {
    method: 'HEAD',
    route: '/health/ready',
    path: '/health/ready',
    expect: all(empty(200)),
    reference: 'absent',
    note: 'ours only',
  },
  // Not a route: the metrics name every machine and bouncer, so they have their own listener.
  {
    method: 'GET',
    route: '/metrics',
    path: '/metrics',
    expect: all(empty(404)),
    note: 'not a route: metrics are on `LAPI_METRICS_LISTEN_URI`, as 1.4.6 on its own port',
  },
  {
    method: 'HEAD',
    route: '/metrics',
    path: '/metrics',
    expect: all(empty(404)),
  },
  {
    method: 'HEAD',
    route: '/health',
    path: '/health',
    expect: all(empty(200)),
    reference: all(empty(405)),
    note: '1.4.6 registers GET only',
  },
  {
    method: 'POST',
    route: '/v1/watchers',
    path: '/v1/watchers',
    body: (ctx, credential) => ({ machine_id: `matrix-${ctx.runId}-${credential}`, password: 'matrix-password' }),
    expect: all(empty(201)),
  },
  {
    method: 'POST',
    route: '/v1/watchers/login',
    path: '/v1/watchers/login',
    credentialsInBody: true,
    body: (ctx, credential) => {
      switch (credential) {
        case 'machine':
        case 'expired':
          return { machine_id: ctx.machineId, password: ctx.password, scenarios: [] };
        case 'unvalidated':
          return { machine_id: ctx.unvalidatedId, password: ctx.unvalidatedPassword, scenarios: [] };
        case 'agentCert':
        case 'bouncerCert':
          return { machine_id: '', password: '', scenarios: [] };
        case 'none':
        case 'bouncer':
          return undefined;
      }
    },
    expect: {
      none: jwt401('missing: EOF'),
      bouncer: jwt401('missing: EOF'),
      machine: token,
      unvalidated: { status: 401, body: { kind: 'json', value: { code: 401, message: 'machine <id> not validated' } } },
      expired: token,
      agentCert: token,
      bouncerCert: forbidden,
    },
    reference: {
      // gin writes the bouncer middleware-like refusal, then gin-jwt's 401 after it: two JSON bodies, status 403.
      bouncerCert: {
        status: 403,
        body: {
          kind: 'raw',
          text:
            '{"message":"access forbidden"}{"code":401,"message":"while trying to validate client cert: client ' +
            'certificate OU ([bouncer-ou]) doesn\'t match expected OU ([agent-ou])"}',
        },
      },
    },
    note: "we send 1.4.6's first body only: two JSON documents in one answer is no JSON",
  },
  {
    method: 'GET',
    route: '/v1/refresh_token',
    path: '/v1/refresh_token',
    expect: { ...machineRoute(token), expired: jwt401('token is expired') },
    reference: anySignedToken(token),
  },
  {
    method: 'HEAD',
    route: '/v1/refresh_token',
    path: '/v1/refresh_token',
    expect: head({ ...machineRoute(token), expired: jwt401('token is expired') }),
    reference: all(empty(405)),
    note: '1.4.6 registers GET only',
  },
  {
    method: 'GET',
    route: '/v1/heartbeat',
    path: '/v1/heartbeat',
    expect: machineRoute(empty(200)),
    reference: anySignedToken(empty(200)),
  },
  {
    method: 'HEAD',
    route: '/v1/heartbeat',
    path: '/v1/heartbeat',
    expect: head(machineRoute(empty(200))),
    reference: all(empty(405)),
    note: '1.4.6 registers GET only',
  },
  {
    method: 'POST',
    route: '/v1/alerts',
    path: '/v1/alerts',
    body: () => matrixAlert(),
    expect: machineRoute({ status: 201, body: { kind: 'ids' } }),
    reference: anySignedToken({ status: 201, body: { kind: 'ids' } }),
  },
  {
    method: 'GET',
    route: '/v1/alerts',
    path: `/v1/alerts?${NO_MATCH}`,
    expect: machineRoute(json(200, null)),
    reference: anySignedToken(json(200, null)),
  },
  {
    method: 'HEAD',
    route: '/v1/alerts',
    path: `/v1/alerts?${NO_MATCH}`,
    expect: head(machineRoute(empty(200))),
    reference: anySignedToken(empty(200)),
  },
  {
    method: 'GET',
    route: '/v1/alerts/:alert_id',
    path: `/v1/alerts/${MISSING_ID}`,
    expect: machineRoute(json(404, { message: 'object not found' })),
    reference: anySignedToken(json(404, { message: 'object not found' })),
  },
  {
    method: 'HEAD',
    route: '/v1/alerts/:alert_id',
    path: `/v1/alerts/${MISSING_ID}`,
    expect: head(machineRoute(empty(404))),
    reference: anySignedToken(empty(404)),
  },
  {
    method: 'DELETE',
    route: '/v1/alerts',
    path: `/v1/alerts?${NO_MATCH}`,
    expect: machineRoute(json(200, { nbDeleted: '0' })),
    reference: anySignedToken(json(200, { nbDeleted: '0' })),
  },
  {
    method: 'DELETE',
    route: '/v1/alerts/:alert_id',
    path: `/v1/alerts/${MISSING_ID}`,
    expect: machineRoute(json(404, { message: 'ent: alert not found' })),
    reference: {
      machine: json(500, { message: 'ent: alert not found' }),
      unvalidated: json(500, { message: 'ent: alert not found' }),
    },
    note: "a missing id is the client's mistake: 404, not 1.4.6's 500",
  },
  {
    method: 'DELETE',
    route: '/v1/decisions',
    path: `/v1/decisions?${NO_MATCH}`,
    expect: machineRoute(json(200, { nbDeleted: '0' })),
    reference: anySignedToken(json(200, { nbDeleted: '0' })),
  },
  {
    method: 'DELETE',
    route: '/v1/decisions/:decision_id',
    path: `/v1/decisions/${MISSING_ID}`,
    expect: machineRoute(json(404, { message: MISSING_DECISION })),
    reference: {
      machine: json(500, { message: MISSING_DECISION }),
      unvalidated: json(500, { message: MISSING_DECISION }),
    },
    note: "a missing id is the client's mistake: 404, not 1.4.6's 500",
  },
  { method: 'GET', route: '/v1/decisions', path: `/v1/decisions?${NO_MATCH}`, expect: bouncerRoute(json(200, null)) },
  {
    method: 'HEAD',
    route: '/v1/decisions',
    path: `/v1/decisions?${NO_MATCH}`,
    expect: head(bouncerRoute(empty(200))),
  },
  {
    method: 'GET',
    route: '/v1/decisions/stream',
    path: '/v1/decisions/stream?startup=true&scopes=Country',
    expect: bouncerRoute(json(200, { new: null, deleted: null })),
  },
  {
    method: 'HEAD',
    route: '/v1/decisions/stream',
    path: '/v1/decisions/stream?startup=true&scopes=Country',
    expect: head(bouncerRoute(empty(200))),
  },
  // Allowlists (crowdsec ≥1.6.6): the matrix creates none, so every list is empty and every value unlisted.
  ...(['GET', 'HEAD'] as const).flatMap((method): MatrixRow[] => {
    const answer = (e: Expectation) => (method === 'HEAD' ? head(machineRoute(e)) : machineRoute(e));
    return [
      {
        method,
        route: '/v1/allowlists',
        path: '/v1/allowlists?with_content=true',
        expect: answer(json(200, [])),
        reference: 'absent',
        note: 'crowdsec ≥1.6.6',
      },
      {
        method,
        route: '/v1/allowlists/check/:value',
        path: '/v1/allowlists/check/198.51.100.77',
        expect: method === 'HEAD' ? answer(empty(204)) : answer(json(200, {})),
        reference: 'absent',
        note: 'crowdsec ≥1.6.6',
      },
      {
        method,
        route: '/v1/allowlists/:name',
        path: '/v1/allowlists/missing',
        expect: answer(json(404, { message: "allowlist 'missing' not found" })),
        reference: 'absent',
        note: "crowdsec ≥1.6.6; an unknown list is the client's mistake: 404, not the reference's 500",
      },
    ];
  }),
  {
    method: 'POST',
    route: '/v1/allowlists/check',
    path: '/v1/allowlists/check',
    body: () => ({ targets: ['198.51.100.77'] }),
    expect: machineRoute(json(200, { results: [] })),
    reference: 'absent',
    note: 'crowdsec ≥1.6.9',
  },
  {
    method: 'POST',
    route: '/v1/usage-metrics',
    path: '/v1/usage-metrics',
    body: (_ids, credential) => usageReport(credential === 'bouncer' || credential === 'bouncerCert'),
    // The reference's dispatch: X-Api-Key → bouncer, else a token or a `crowdsec/` User-Agent → machine (the matrix
    // sends the agent's User-Agent with every credential), else the bouncer's certificate.
    expect: { ...machineRoute(empty(201)), bouncer: empty(201) },
    reference: 'absent',
    note: 'crowdsec ≥1.6.3; either credential',
  },
  // Last: it deletes the machine its token names (whose token is refused from then on).
  {
    method: 'DELETE',
    route: '/v1/watchers/self',
    path: '/v1/watchers/self',
    expect: machineRoute(empty(204)),
    reference: 'absent',
    note: 'crowdsec ≥1.6.9',
  },
];

/** What crowdsec 1.4.6 answers in a cell. */
export function referenceExpectation(row: MatrixRow, credential: Credential): Expectation {
  if (row.reference === 'absent') {
    return empty(404);
  }
  return row.reference?.[credential] ?? row.expect[credential];
}

export interface MatrixRequest {
  method: MatrixRow['method'];
  path: string;
  headers: Record<string, string>;
  /** JSON text, if any. */
  body?: string;
  /** Send over HTTPS with this client certificate. */
  cert?: 'agent' | 'bouncer';
}

export interface MatrixResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, unknown>;
  text: string;
}

const SECONDS = () => Math.floor(Date.now() / 1000);

/** A token signed like the server's own (HS256, claims {exp, id, orig_iat}). */
export function signMachineToken(secret: string, machineId: string, exp: number, origIat: number): string {
  return jwt.sign({ exp, id: machineId, orig_iat: origIat }, secret, { algorithm: 'HS256', noTimestamp: true });
}

/** The request of one cell. */
export function matrixRequest(row: MatrixRow, credential: Credential, creds: MatrixCredentials): MatrixRequest {
  // Go clients all send a `name/version` User-Agent; the login refuses any other.
  const headers: Record<string, string> = { 'user-agent': 'crowdsec/v1.4.6-authmatrix' };
  const now = SECONDS();
  const bearer: Record<Credential, string | undefined> = {
    none: undefined,
    bouncer: undefined,
    machine: creds.machineToken,
    unvalidated: signMachineToken(creds.jwtSecret, creds.unvalidatedId, now + 3600, now),
    expired: signMachineToken(creds.jwtSecret, creds.machineId, now - 60, now - 3660),
    agentCert: undefined,
    bouncerCert: undefined,
  };
  if (credential === 'bouncer') {
    headers['x-api-key'] = creds.bouncerKey;
  }
  const header = row.credentialsInBody && credential !== 'expired' ? undefined : bearer[credential];
  if (header) {
    headers.authorization = `Bearer ${header}`;
  }
  const body = row.body?.(creds, credential);
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  const cert = credential === 'agentCert' ? 'agent' : credential === 'bouncerCert' ? 'bouncer' : undefined;
  return {
    method: row.method,
    path: row.path,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    ...(cert ? { cert } : {}),
  };
}

/** A matrix request over HTTPS to 127.0.0.1:port, trusting `caCertFile`, with a client certificate or none. */
export function sendOverHttps(
  port: number,
  req: MatrixRequest,
  caCertFile: string,
  cert?: IssuedCertificate,
): Promise<MatrixResponse> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        method: req.method,
        path: req.path,
        headers: req.headers,
        ca: readFileSync(caCertFile),
        ...(cert ? { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) } : {}),
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

const WWW_AUTHENTICATE = 'JWT realm=Crowdsec API local';

/** What is wrong with an answer (empty: it is the expected one). `<id>` in a message stands for the unvalidated machine. */
export function checkAnswer(expected: Expectation, res: MatrixResponse, ids: MatrixIdentities): string[] {
  const problems: string[] = [];
  if (res.status !== expected.status) {
    problems.push(`status ${res.status}, expected ${expected.status}`);
  }
  let parsed: unknown;
  try {
    parsed = res.text === '' ? undefined : JSON.parse(res.text);
  } catch {
    parsed = undefined;
  }
  const body = expected.body;
  switch (body.kind) {
    case 'empty':
      if (res.text !== '') {
        problems.push(`body ${res.text.slice(0, 200)}, expected none`);
      }
      break;
    case 'json': {
      const want = JSON.stringify(body.value).replace('<id>', ids.unvalidatedId);
      if (JSON.stringify(sortKeys(parsed)) !== JSON.stringify(sortKeys(JSON.parse(want)))) {
        problems.push(`body ${res.text.slice(0, 200)}, expected ${want}`);
      }
      const value = body.value as { code?: unknown } | null;
      if (
        value &&
        typeof value === 'object' &&
        value.code === 401 &&
        res.headers['www-authenticate'] !== WWW_AUTHENTICATE
      ) {
        problems.push(`www-authenticate ${String(res.headers['www-authenticate'])}, expected ${WWW_AUTHENTICATE}`);
      }
      break;
    }
    case 'token': {
      const t = parsed as { code?: unknown; expire?: unknown; token?: unknown } | undefined;
      const ok =
        t !== null &&
        typeof t === 'object' &&
        Object.keys(t).sort().join() === 'code,expire,token' &&
        t.code === 200 &&
        typeof t.expire === 'string' &&
        typeof t.token === 'string';
      if (!ok) {
        problems.push(`body ${res.text.slice(0, 200)}, expected {"code":200,"expire":…,"token":…}`);
      }
      break;
    }
    case 'raw':
      if (res.text !== body.text) {
        problems.push(`body ${res.text.slice(0, 300)}, expected ${body.text}`);
      }
      break;
    case 'ids':
      if (
        !Array.isArray(parsed) ||
        parsed.length === 0 ||
        !parsed.every((x) => typeof x === 'string' && /^\d+$/.test(x))
      ) {
        problems.push(`body ${res.text.slice(0, 200)}, expected ["<id>"]`);
      }
      break;
  }
  return problems;
}

const sortKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, x]) => [k, sortKeys(x)]),
        )
      : v;

const describeExpectation = (e: Expectation): string => {
  switch (e.body.kind) {
    case 'empty':
      return `${e.status}`;
    case 'json':
      return `${e.status} \`${JSON.stringify(e.body.value)}\``;
    case 'token':
      return `${e.status} token`;
    case 'ids':
      return `${e.status} \`["<id>"]\``;
    case 'raw':
      return `${e.status} \`${e.body.text}\``;
  }
};

/** docs/auth-matrix.md. */
export function renderAuthMatrix(): string {
  const columns = CREDENTIALS.map((c) => CREDENTIAL_TITLES[c]);
  const lines = [
    '# Auth matrix',
    '',
    '<!-- Generated from libs/testing/src/auth-matrix.ts by renderAuthMatrix(); auth-matrix.spec.ts checks it. -->',
    '',
    'Every route × every kind of credential: the status we answer and the body (a bare status: no body). Where',
    "Debian's crowdsec 1.4.6 answers differently, its answer follows in *italics*. Ours are checked by",
    '`apps/api/src/http/auth-matrix.int.spec.ts` (PostgreSQL; certificate columns over HTTPS, the others',
    "in-process), 1.4.6's by `test/e2e/auth-matrix.e2e.spec.ts` against the real `crowdsec -no-cs -no-capi` over",
    'HTTPS. Both servers have TLS on, verify client certificates if given (`VerifyClientCertIfGiven`) and allow the',
    'OUs `agent-ou` (agents) and `bouncer-ou` (bouncers). Every request comes from 127.0.0.1 (a trusted IP for',
    "`DELETE /v1/alerts`). `<id>`: the machine's name.",
    '',
    `| Route | ${columns.join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ];
  for (const row of AUTH_MATRIX) {
    const cells = CREDENTIALS.map((c) => {
      const ours = describeExpectation(row.expect[c]);
      const ref = describeExpectation(referenceExpectation(row, c));
      return ref === ours ? ours : `${ours}<br>*1.4.6: ${ref}*`;
    });
    const route = `\`${row.method} ${row.path}\`${row.note ? ` (${row.note})` : ''}`;
    lines.push(`| ${route} | ${cells.join(' | ')} |`);
  }
  lines.push('', '## Credentials', '');
  for (const c of CREDENTIALS) {
    lines.push(`- **${CREDENTIAL_TITLES[c]}**: ${CREDENTIAL_MEANING[c]}.`);
  }
  lines.push('');
  return lines.join('\n');
}
