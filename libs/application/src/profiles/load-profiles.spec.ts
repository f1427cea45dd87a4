import { DEFAULT_PROFILES, ProfileConfigError } from '@lapi/domain';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfiles } from './load-profiles';

// Debian's 1.4.6 /etc/crowdsec/profiles.yaml, comments included.
const DEBIAN_1_4_6 = `name: default_ip_remediation
#debug: true
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
#duration_expr: Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)
# notifications:
#   - slack_default  # Set the webhook in /etc/crowdsec/notifications/slack.yaml before enabling this.
on_success: break
`;

describe('loadProfiles', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lapi-profiles-'));
    path = join(dir, 'profiles.yaml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('given no path, returns the default profiles', () => {
    expect(loadProfiles(undefined)).toEqual(DEFAULT_PROFILES);
  });

  it("given Debian's file, compiles its one profile", () => {
    writeFileSync(path, DEBIAN_1_4_6);
    const profiles = loadProfiles(path);
    expect(profiles.map((p) => [p.name, p.filters.map((f) => f.source), p.decisions, p.onSuccess])).toEqual([
      [
        'default_ip_remediation',
        ['Alert.Remediation == true && Alert.GetScope() == "Ip"'],
        [{ type: 'ban', duration: '4h' }],
        'break',
      ],
    ]);
  });

  it('given several documents, keeps their order and skips the empty ones', () => {
    writeFileSync(
      path,
      `---\n---\n# nothing here\n---\nname: captcha_http\nfilters: ["Alert.GetScenario() contains 'http'"]\n` +
        `decisions: [{type: captcha, duration: 1h}]\non_success: break\n---\n${DEBIAN_1_4_6}---\n`,
    );
    expect(loadProfiles(path).map((p) => p.name)).toEqual(['captcha_http', 'default_ip_remediation']);
  });

  it('given a profiles.yaml.local next to it, puts its profiles first', () => {
    writeFileSync(path, DEBIAN_1_4_6);
    writeFileSync(`${path}.local`, 'name: local_first\nfilters: [\'Alert.Source.Cn == "FR"\']\non_success: break\n');
    expect(loadProfiles(path).map((p) => p.name)).toEqual(['local_first', 'default_ip_remediation']);
  });

  it.each<[string, (path: string) => string]>([
    ['', (p) => `${p}: zero profiles loaded for LAPI`],
    ['---\n# only comments\n', (p) => `${p}: zero profiles loaded for LAPI`],
    ['name: [unclosed\n', (p) => `${p}: `],
    [
      'name: default_ip_remediation\nfilters:\n - Foo(Alert.GetValue())\n',
      (p) => `${p}: profile 'default_ip_remediation': unsupported function 'Foo' in filter 1`,
    ],
    [
      'name: p\ndecisions:\n - type: ban\n   duration: 4 hours\n',
      (p) => `${p}: profile 'p': decision 1: invalid duration '4 hours'`,
    ],
    ['name: a\nname: b\n', (p) => `${p}: `],
  ])('given %j, refuses to start naming the file', (content, message) => {
    writeFileSync(path, content);
    expect(() => loadProfiles(path)).toThrow(ProfileConfigError);
    expect(() => loadProfiles(path)).toThrow(message(path));
  });

  it('given a missing file, refuses to start naming it', () => {
    expect(() => loadProfiles(path)).toThrow(
      new ProfileConfigError(`${path}: ENOENT: no such file or directory, open '${path}'`),
    );
  });

  it('names the local file when the problem is there', () => {
    writeFileSync(path, DEBIAN_1_4_6);
    writeFileSync(`${path}.local`, 'name: bad\non_success: stop\n');
    expect(() => loadProfiles(path)).toThrow(
      new ProfileConfigError(`${path}.local: profile 'bad': invalid 'on_success': stop (expected continue, break)`),
    );
  });
});
