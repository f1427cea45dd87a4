// The domain index does not re-export notifications yet; switch to '@lapi/domain' once it does.
import { NotificationConfigError } from '@lapi/domain';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNotificationConfigs } from './load-notification-configs';

// cmd/notification-http/http.yaml as shipped, URL filled in, trailing commented-out second document included.
const HTTP_YAML = `type: http          # Don't change
name: http_default  # Must match the registered plugin in the profile

# One of "trace", "debug", "info", "warn", "error", "off"
log_level: info

# group_wait:         # Time to wait collecting alerts before relaying a message to this plugin, eg "30s"
# group_threshold:    # Amount of alerts that triggers a message before <group_wait> has expired, eg "10"
# max_retry:          # Number of attempts to relay messages to plugins in case of error
# timeout:            # Time to wait for response from the plugin before considering the attempt a failure, eg "10s"

#-------------------------
# plugin-specific options

# The following template receives a list of models.Alert objects
# The output goes in the http request body
format: |
  {{.|toJson}}

# The plugin will make requests to this url, eg:  https://www.example.com/
url: \${HOOK_URL}

# Any of the http verbs: "POST", "GET", "PUT"...
method: POST

# headers:
#   Authorization: token 0x64312313

# skip_tls_verification:  # true or false. Default is false

---

# type: http
# name: http_second_notification
# ...
`;

const SLACK_YAML = `type: slack
name: slack_default
log_level: info
format: |
  {{range . -}}{{.Scenario}}{{end}}
webhook: <WEBHOOK_URL>
`;

describe('loadNotificationConfigs', () => {
  let dir: string;
  const env = (name: string) => (name === 'HOOK_URL' ? 'https://hooks.example.com/crowdsec' : undefined);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lapi-notifications-'));
    writeFileSync(join(dir, 'http.yaml'), HTTP_YAML);
    writeFileSync(join(dir, 'slack.yaml'), SLACK_YAML);
    writeFileSync(join(dir, 'README.txt'), 'not yaml: [');
    mkdirSync(join(dir, 'disabled.yaml'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("given the profiles' names, loads those and skips the stock configs of other types", () => {
    const { byName, warnings } = loadNotificationConfigs(dir, { env, used: ['http_default'] });
    expect([...byName.keys()]).toEqual(['http_default']);
    const config = byName.get('http_default')!;
    expect([config.url, config.method, config.format.source, config.source]).toEqual([
      'https://hooks.example.com/crowdsec',
      'POST',
      '{{.|toJson}}\n',
      `${join(dir, 'http.yaml')} (document 1)`,
    ]);
    expect(warnings).toEqual([]);
  });

  it('without names, refuses a config of another type, naming its file', () => {
    expect(() => loadNotificationConfigs(dir, { env })).toThrow(
      `${join(dir, 'slack.yaml')}: notification 'slack_default' type: 'slack' is not supported: only the http type is`,
    );
  });

  it('reads every document of a file, .yml included', () => {
    writeFileSync(
      join(dir, 'more.yml'),
      'type: http\nname: a\nurl: http://a\n---\ntype: http\nname: b\nurl: http://b\ngroup_wait: 30s\n',
    );
    const { byName } = loadNotificationConfigs(dir, { used: ['a', 'b'] });
    expect([...byName.values()].map((c) => [c.name, c.url, c.groupWaitMs])).toEqual([
      ['a', 'http://a', 0],
      ['b', 'http://b', 30_000],
    ]);
  });

  it.each([
    ['a YAML error', 'type: http\nname: [x\n', 'bad.yaml'],
    ['a duplicate key', 'type: http\nname: a\nname: b\n', 'bad.yaml'],
    [
      'a bad format',
      'type: http\nname: bad\nurl: http://x\nformat: "{{ .Foo "\n',
      "notification 'bad' format: template: :1:",
    ],
  ])('refuses %s, naming the file', (_name, content, message) => {
    writeFileSync(join(dir, 'bad.yaml'), content);
    expect(() => loadNotificationConfigs(dir, { used: ['bad'] })).toThrow(NotificationConfigError);
    expect(() => loadNotificationConfigs(dir, { used: ['bad'] })).toThrow(message);
  });

  it('refuses a directory that does not exist', () => {
    expect(() => loadNotificationConfigs(join(dir, 'nope'))).toThrow(NotificationConfigError);
  });
});
