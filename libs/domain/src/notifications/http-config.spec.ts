import {
  compileNotificationConfigs,
  DEFAULT_NOTIFICATION_TIMEOUT_MS,
  parseHttpNotificationConfig,
  strictExpand,
} from './http-config';
import { NotificationConfigError } from './notification.errors';

const FILE = '/etc/crowdsec/notifications/http.yaml';

// cmd/notification-http/http.yaml as Debian ships it, with a URL.
const SHIPPED = {
  type: 'http',
  name: 'http_default',
  log_level: 'info',
  format: '{{.|toJson}}\n',
  url: 'https://example.com/hook',
  method: 'POST',
};

const parse = (overrides: Record<string, unknown>, env?: (name: string) => string | undefined) =>
  parseHttpNotificationConfig({ ...SHIPPED, ...overrides }, FILE, env);

describe('parseHttpNotificationConfig', () => {
  it("reads the shipped http.yaml with the reference's defaults", () => {
    const config = parse({});
    expect({ ...config, format: config.format.source }).toEqual({
      type: 'http',
      name: 'http_default',
      source: FILE,
      logLevel: 'info',
      format: '{{.|toJson}}\n',
      url: 'https://example.com/hook',
      method: 'POST',
      headers: {},
      skipTlsVerification: false,
      groupWaitMs: 0,
      groupThreshold: 0,
      maxRetry: 0,
      timeoutMs: DEFAULT_NOTIFICATION_TIMEOUT_MS,
      ignoredKeys: [],
    });
  });

  it.each([
    ['group_wait', '30s', { groupWaitMs: 30_000 }],
    ['group_wait', '1m30s', { groupWaitMs: 90_000 }],
    ['group_wait', '250ms', { groupWaitMs: 250 }],
    ['timeout', '10s', { timeoutMs: 10_000 }],
    ['timeout', '0s', { timeoutMs: DEFAULT_NOTIFICATION_TIMEOUT_MS }],
    ['group_threshold', 10, { groupThreshold: 10 }],
    ['max_retry', 3, { maxRetry: 3 }],
    ['method', undefined, { method: '' }], // Go's http.NewRequest reads "" as GET
    ['skip_tls_verification', true, { skipTlsVerification: true }],
    ['skip_tls_verification', 'yes', { skipTlsVerification: true }], // YAML 1.1, as yaml.v2 reads it
    [
      'headers',
      { Authorization: 'token 0x64312313', 'X-Count': 3 },
      { headers: { Authorization: 'token 0x64312313', 'X-Count': '3' } },
    ],
    ['webhook', 'https://hooks.slack.com/x', { ignoredKeys: ['webhook'] }],
    ['unix_socket', '/run/hook.sock', { unixSocket: '/run/hook.sock' }],
  ])('reads %s: %j', (key, value, expected) => {
    expect(parse({ [key]: value })).toMatchObject(expected);
  });

  it("expands the environment in the plugin's own keys only", () => {
    const env = (name: string) => ({ HOOK: 'https://hooks.example.com', TOKEN: 's3cret' })[name];
    const config = parse(
      {
        url: '${HOOK}/crowdsec?missing=${NOT_SET}',
        headers: { Authorization: 'Bearer $TOKEN' },
        format: '{{env "TOKEN"}} $TOKEN',
      },
      env,
    );
    expect(config.url).toBe('https://hooks.example.com/crowdsec?missing=${NOT_SET}');
    expect(config.headers).toEqual({ Authorization: 'Bearer s3cret' });
    expect(config.format.source).toBe('{{env "TOKEN"}} $TOKEN');
  });

  it.each([
    ['the document is not a mapping', 'http', `${FILE}: a notification config must be a mapping`],
    ['type is missing', { ...SHIPPED, type: undefined }, "type: missing required field 'type'"],
    ['type is not http', { ...SHIPPED, type: 'slack' }, "type: 'slack' is not supported: only the http type is"],
    ['name is missing', { ...SHIPPED, name: '' }, `${FILE}: name: missing required field`],
    [
      'url is the shipped placeholder',
      { ...SHIPPED, url: '<HTTP_url>' },
      "url: must be an http:// or https:// URL, not '<HTTP_url>'",
    ],
    ['method has a space', { ...SHIPPED, method: 'PO ST' }, "method: invalid method 'PO ST'"],
    [
      'group_wait has no unit',
      { ...SHIPPED, group_wait: 30 },
      'group_wait: 30 has no unit (the reference would read 30 nanoseconds)',
    ],
    ['group_wait has days', { ...SHIPPED, group_wait: '1d' }, "group_wait: invalid duration '1d'"],
    ['timeout is negative', { ...SHIPPED, timeout: '-1s' }, "timeout: must not be negative, not '-1s'"],
    ['group_threshold is a string', { ...SHIPPED, group_threshold: '10' }, 'group_threshold: must be a whole number'],
    ['max_retry is negative', { ...SHIPPED, max_retry: -1 }, 'max_retry: must be a whole number, 0 or more, not -1'],
    [
      'skip_tls_verification is not a boolean',
      { ...SHIPPED, skip_tls_verification: 'maybe' },
      'skip_tls_verification: must be true or false',
    ],
    ['headers is a list', { ...SHIPPED, headers: ['a'] }, 'headers: must be a mapping of header names to values'],
    [
      'a header name has a space',
      { ...SHIPPED, headers: { 'X Bad': 'v' } },
      'headers.X Bad: is not a valid header name',
    ],
    [
      'format does not parse',
      { ...SHIPPED, format: '{{range .}}' },
      "notification 'http_default' format: template: :1: unexpected EOF",
    ],
    [
      'format uses CrowdsecCTI',
      { ...SHIPPED, format: '{{CrowdsecCTI "x"}}' },
      'format: template: :1: function "CrowdsecCTI" is not supported',
    ],
  ])('refuses a config where %s', (_name, doc, message) => {
    expect(() => parseHttpNotificationConfig(doc, FILE)).toThrow(NotificationConfigError);
    expect(() => parseHttpNotificationConfig(doc, FILE)).toThrow(message);
  });
});

describe('compileNotificationConfigs', () => {
  const slack = { type: 'slack', name: 'slack_default', format: '', webhook: '<WEBHOOK_URL>' };
  const placeholder = { ...SHIPPED, url: '<HTTP_url>' };
  const docs = (...list: unknown[]) => list.map((doc, i) => ({ doc, source: `file#${i + 1}` }));

  it('keeps the http configs by name and skips empty documents', () => {
    const { byName, warnings } = compileNotificationConfigs(docs(null, SHIPPED, {}, { ...SHIPPED, name: 'second' }));
    expect([...byName.keys()]).toEqual(['http_default', 'second']);
    expect(warnings).toEqual([]);
  });

  it('without the used names, refuses any other type', () => {
    expect(() => compileNotificationConfigs(docs(SHIPPED, slack))).toThrow("'slack' is not supported");
  });

  it("with the used names, skips the others unchecked as 1.4.6 does (Debian's stock files)", () => {
    const { byName } = compileNotificationConfigs(docs(slack, placeholder, { ...SHIPPED, name: 'mine' }), {
      used: ['mine'],
    });
    expect([...byName.keys()]).toEqual(['mine']);
  });

  it('refuses a used name that has no config, or whose type is not http', () => {
    expect(() => compileNotificationConfigs(docs(SHIPPED), { used: ['nope'] })).toThrow(
      'config file for plugin nope not found',
    );
    expect(() => compileNotificationConfigs(docs(slack), { used: ['slack_default'] })).toThrow(
      "file#1: notification 'slack_default' type: 'slack' is not supported",
    );
  });

  it('keeps the last of two configs with one name, and warns about it and about ignored keys', () => {
    const { byName, warnings } = compileNotificationConfigs(
      docs(SHIPPED, { ...SHIPPED, url: 'http://second', extra: 1 }),
    );
    expect(byName.get('http_default')?.url).toBe('http://second');
    expect(warnings).toEqual([
      "file#2: notification 'http_default' is defined multiple times; this one is used",
      "file#2: notification 'http_default': ignored keys extra",
    ]);
  });
});

describe('strictExpand (go-cs-lib csstring.StrictExpand)', () => {
  const env = (name: string) => ({ A: 'x', B: 'y', EMPTY: '', DOLLAR: '$A', MIXED: 'y$A' })[name];
  it.each([
    ['$A', 'x'],
    ['${A}', 'x'],
    ['$A$B', 'xy'],
    ['pre-${A}-post', 'pre-x-post'],
    ['$UNDEFINED and ${UNDEFINED}', '$UNDEFINED and ${UNDEFINED}'],
    ['[$EMPTY]', '[]'],
    ['$', '$'],
    ['cost: 5$', 'cost: 5$'], // Go indexes past the end here and panics; kept as written instead
    ['${A', '${A'],
    ['$A.b', 'x.b'],
    // The scan goes on after the `$` just replaced, into the value: as Go's loop does.
    ['$DOLLAR', '$A'],
    ['$MIXED', 'yx'],
  ])('%s → %s', (input, output) => {
    expect(strictExpand(input, env)).toBe(output);
  });
});
