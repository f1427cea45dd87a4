import {
  compileExpr,
  evaluateExpr,
  ExprCompileError,
  ExprRuntimeError,
  GoDuration,
  parseExpr,
  runExpr,
  UnsupportedExpressionError,
} from '.';
import type { AlertInput } from '../../alerts/alert';
import { PROFILE_EXPR_SCHEMA, profileExprEnv, type DecisionStats } from '../alert-env';

// Expected values below were checked against expr-lang v1.17.8 (the version crowdsec 1.7 links) running the same
// expressions on a models.Alert with the same content. Ints are bigints, floats numbers.

const now = new Date('2026-11-28T20:00:00.000Z');

/** The real 1.4.6 agent alert of the contract (§4.1), with alert context meta as ≥1.5 agents send it. */
const sshAlert: AlertInput = {
  scenario: 'crowdsecurity/ssh-bf',
  scenarioHash: '4441dcff07020f6690d998b7101e642359ba405c2abb83565bbbdcee36de280f',
  scenarioVersion: '0.1',
  message: "Ip 198.51.100.99 performed 'crowdsecurity/ssh-bf' (6 events over 5s) at 2026-11-28 19:29:19 +0000 UTC",
  eventsCount: 6,
  startAt: '2026-11-28T19:29:14Z',
  stopAt: '2026-11-28T19:29:19Z',
  capacity: 5,
  leakspeed: '10s',
  simulated: false,
  remediation: true,
  events: [
    {
      timestamp: '2026-11-28T19:29:14Z',
      meta: [
        { key: 'log_type', value: 'ssh_failed-auth' },
        { key: 'service', value: 'ssh' },
        { key: 'source_ip', value: '198.51.100.99' },
        { key: 'target_user', value: 'root' },
      ],
    },
    {
      timestamp: '2026-11-28T19:29:15Z',
      meta: [
        { key: 'log_type', value: 'ssh_failed-auth' },
        { key: 'target_user', value: 'admin0' },
      ],
    },
  ],
  source: { scope: 'Ip', value: '198.51.100.99', ip: '198.51.100.99', cn: 'FR', asNumber: '64500', asName: 'ACME' },
  decisions: null,
  meta: [{ key: 'service', value: 'ssh' }],
  labels: null,
};

/** A decisions store with fixed answers, recording what it was asked. */
function fakeStats(counts: Record<string, number> = { '198.51.100.99': 2 }) {
  const calls: string[] = [];
  const stats: DecisionStats = {
    decisionsCount: (value) => {
      calls.push(`count ${value}`);
      return Promise.resolve(counts[value] ?? 0);
    },
    decisionsSinceCount: (value, since) => {
      calls.push(`since ${value} ${since}`);
      return Promise.resolve((counts[value] ?? 0) + 2);
    },
    activeDecisionsCount: (value) => {
      calls.push(`active ${value}`);
      return Promise.resolve(1);
    },
    activeDecisionsTimeLeftMs: (value) => {
      calls.push(`left ${value}`);
      return Promise.resolve(90 * 60 * 1000);
    },
  };
  return { stats, calls };
}

const failingStats: DecisionStats = {
  decisionsCount: () => Promise.reject(new Error('database is down')),
  decisionsSinceCount: () => Promise.reject(new Error('database is down')),
  activeDecisionsCount: () => Promise.reject(new Error('database is down')),
  activeDecisionsTimeLeftMs: () => Promise.reject(new Error('database is down')),
};

const evaluate = (source: string, alert: AlertInput = sshAlert, stats: DecisionStats = fakeStats().stats) =>
  runExpr(compileExpr(source, PROFILE_EXPR_SCHEMA), profileExprEnv(alert, alert.decisions, stats, now));

const ipv6Alert: AlertInput = { ...sshAlert, source: { scope: 'Ip', value: '2001:db8::7', ip: '2001:db8::7' } };
const rangeAlert: AlertInput = {
  ...sshAlert,
  source: { scope: 'Range', value: '192.0.2.0/24', range: '192.0.2.0/24' },
};
const httpAlert: AlertInput = { ...sshAlert, scenario: 'crowdsecurity/http-probing', remediation: false };

describe('profile expressions', () => {
  describe('given the expressions of CrowdSec docs and hub', () => {
    it.each<[string, AlertInput, unknown]>([
      ['Alert.Remediation == true && Alert.GetScope() == "Ip"', sshAlert, true],
      ['Alert.Remediation == true && Alert.GetScope() == "Ip"', rangeAlert, false],
      ['Alert.Remediation == true && Alert.GetScope() == "Range"', rangeAlert, true],
      ['Alert.Remediation == true && Alert.GetScope() == "Ip"', httpAlert, false],
      ['Alert.Remediation == true && Alert.GetScope() == "Session"', sshAlert, false],
      [
        'Alert.Remediation == true && Alert.GetScope() == "Ip" && Alert.GetScenario() in ["crowdsecurity/ssh-bf", "crowdsecurity/ssh-user-enum"]',
        sshAlert,
        true,
      ],
      ['Alert.GetScope() == "Country"', sshAlert, false],
      ['Alert.GetScenario() contains "http"', sshAlert, false],
      ['Alert.GetScenario() contains "http"', httpAlert, true],
      ['Alert.GetScope() == "Ip" && Alert.GetValue() startsWith "10."', sshAlert, false],
      ['Alert.GetScope() == "Ip" && Alert.GetValue() startsWith "198.51."', sshAlert, true],
      ["any(Alert.Events, {.GetMeta('target_user') == 'root'})", sshAlert, true],
      ["any(Alert.Events, {#.GetMeta('log_type') == 'ssh_failed-auth'})", sshAlert, true],
      ["all(Alert.Events, {.GetMeta('target_user') == 'root'})", sshAlert, false],
      ["none(Alert.Events, {.GetMeta('target_user') == 'nobody'})", sshAlert, true],
      ["one(Alert.Events, {.GetMeta('target_user') == 'admin0'})", sshAlert, true],
      ["count(Alert.Events, {.GetMeta('log_type') == 'ssh_failed-auth'}) >= 2", sshAlert, true],
      ["Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)", sshAlert, '12h'],
      ['GetDecisionsSinceCount(Alert.GetValue(), "24h") > 3', sshAlert, true],
      ['GetDecisionsSinceCount(Alert.GetValue(), "24h") > 3', ipv6Alert, false],
      ['Alert.GetMeta("service") in ["ssh", "http"]', sshAlert, true],
      ['Alert.GetMeta("nope") in ["ssh", "http"]', sshAlert, false],
      ['Alert.Source.Cn == "FR"', sshAlert, true],
      ['Alert.Source.Cn == "FR"', rangeAlert, false],
      ['IpInRange(Alert.GetValue(), "192.168.0.0/16")', sshAlert, false],
      ['IpInRange(Alert.GetValue(), "198.51.100.0/24")', sshAlert, true],
      ['IpInRange(Alert.GetValue(), "2001:db8::/32")', ipv6Alert, true],
      ['Alert.GetScenario() matches "^crowdsecurity/ssh"', sshAlert, true],
      ['Alert.GetScenario() matches "^crowdsecurity/ssh"', httpAlert, false],
      ['GetActiveDecisionsCount(Alert.GetValue()) > 0', sshAlert, true],
      ['GetActiveDecisionsTimeLeft(Alert.GetValue()) > duration("1h")', sshAlert, true],
      ['GetActiveDecisionsTimeLeft(Alert.GetValue()) > duration("2h")', sshAlert, false],
      ['GetActiveDecisionsTimeLeft(Alert.GetValue()).Hours() > 1', sshAlert, true],
      ["Alert.GetScope() == 'Ip' && Upper(Alert.Source.Cn) in ['FR', 'BE']", sshAlert, true],
      [
        'Alert.Remediation == true && Alert.GetScenario() == "crowdsecurity/ssh-enforce-mfa" && Alert.GetScope() == "username"',
        sshAlert,
        false,
      ],
    ])('%s → %p', async (source, alert, expected) => {
      expect(await evaluate(source, alert)).toEqual(expected);
    });
  });

  describe('given the Alert environment', () => {
    it.each<[string, unknown]>([
      ['Alert.Scenario', 'crowdsecurity/ssh-bf'],
      ['Alert.ScenarioHash', sshAlert.scenarioHash],
      ['Alert.ScenarioVersion', '0.1'],
      ['Alert.Message', sshAlert.message],
      ['Alert.Simulated', false],
      ['Alert.Remediation', true],
      ['Alert.EventsCount', 6n],
      ['Alert.GetEventsCount() + 1', 7n],
      ['Alert.Capacity * 2', 10n],
      ['Alert.Leakspeed', '10s'],
      ['Alert.StartAt < Alert.StopAt', true],
      ['Alert.Kind', ''],
      ['Alert.Labels == nil', true],
      ['len(Alert.Labels)', 0n],
      ['Alert.Decisions == nil', true],
      ['len(Alert.Decisions)', 0n],
      ['Alert.Meta[0].Key + "=" + Alert.Meta[0].Value', 'service=ssh'],
      ['Alert.GetMeta("service")', 'ssh'],
      ['Alert.GetMeta("missing")', ''],
      ['len(Alert.Events)', 2n],
      ['Alert.Events[0].Timestamp', '2026-11-28T19:29:14Z'],
      ['Alert.Events[-1].GetMeta("target_user")', 'admin0'],
      ['Alert.Events[1].Meta[0].Value', 'ssh_failed-auth'],
      ['Alert.Source.Scope + " " + Alert.Source.Value', 'Ip 198.51.100.99'],
      ['Alert.Source.IP', '198.51.100.99'],
      ['Alert.Source.Range', ''],
      ['Alert.Source.AsNumber', '64500'],
      ['Alert.Source.AsName', 'ACME'],
      ['Alert.Source.GetAsNumberName()', '64500 ACME'],
      ['Alert.Source.Latitude', 0],
      ['Alert.Source.GetValue() == Alert.GetValue()', true],
      ['Alert.Source["Cn"]', 'FR'],
      ['"Cn" in Alert.Source', true],
      ['"Foo" in Alert.Source', false],
      ['map(Alert.Meta, .Key)', ['service']],
      ['map(Alert.Events, #index)', [0n, 1n]],
      ['map(filter(Alert.Events, .GetMeta("service") == "ssh"), .Timestamp)', ['2026-11-28T19:29:14Z']],
      ['any(Alert.Events, {any(.Meta, {.Key == "target_user" && .Value contains "admin"})})', true],
    ])('%s → %p', async (source, expected) => {
      expect(await evaluate(source)).toEqual(expected);
    });

    it('shows the decisions the alert carries at that point of the profile loop', async () => {
      const decision = { duration: '4h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: '192.0.2.7' };
      const env = profileExprEnv(sshAlert, [decision], fakeStats().stats, now);
      const run = (source: string) => runExpr(compileExpr(source, PROFILE_EXPR_SCHEMA), env);
      expect(await run('len(Alert.Decisions)')).toBe(1n);
      expect(await run('Alert.Decisions[0].Type + " " + Alert.Decisions[0].Duration')).toBe('ban 4h');
      expect(await run('Alert.Decisions[0].Simulated')).toBe(false);
      expect(await run('Alert.Decisions == nil')).toBe(false);
    });
  });

  describe('given the decision helpers', () => {
    it('asks the store for IPs and ranges', async () => {
      const { stats, calls } = fakeStats({ '192.0.2.0/24': 3 });
      expect(await evaluate('GetDecisionsCount(Alert.GetValue())', rangeAlert, stats)).toBe(3n);
      expect(await evaluate('GetDecisionsSinceCount(Alert.GetValue(), "2d12h")', rangeAlert, stats)).toBe(5n);
      expect(calls).toEqual(['count 192.0.2.0/24', 'since 192.0.2.0/24 2d12h']);
    });

    it('answers 0 without asking for a value that is no IP, or an unparsable since, as the reference does', async () => {
      const { stats, calls } = fakeStats();
      expect(await evaluate('GetDecisionsCount("bob")', sshAlert, stats)).toBe(0n);
      expect(await evaluate('GetDecisionsSinceCount(Alert.GetValue(), "yesterday")', sshAlert, stats)).toBe(0n);
      expect(calls).toEqual([]);
    });

    it('counts 0 when the store fails, but fails the "active" helpers', async () => {
      expect(await evaluate('GetDecisionsCount(Alert.GetValue())', sshAlert, failingStats)).toBe(0n);
      expect(await evaluate('GetDecisionsSinceCount(Alert.GetValue(), "1h")', sshAlert, failingStats)).toBe(0n);
      await expect(evaluate('GetActiveDecisionsCount(Alert.GetValue())', sshAlert, failingStats)).rejects.toThrow(
        ExprRuntimeError,
      );
      await expect(evaluate('GetActiveDecisionsTimeLeft(Alert.GetValue())', sshAlert, failingStats)).rejects.toThrow(
        'database is down',
      );
    });

    it('fails the "active" helpers on a value that is no IP', async () => {
      await expect(evaluate('GetActiveDecisionsCount("bob") > 0')).rejects.toThrow(
        "unable to convert 'bob' to int: invalid ip address 'bob'",
      );
    });

    it('returns the time left as a Go duration', async () => {
      expect(await evaluate('GetActiveDecisionsTimeLeft(Alert.GetValue())')).toEqual(
        new GoDuration(5_400_000_000_000n),
      );
      expect(await evaluate('GetActiveDecisionsTimeLeft(Alert.GetValue()).Minutes()')).toBe(90);
      expect(await evaluate('GetActiveDecisionsTimeLeft(Alert.GetValue()).Seconds()')).toBe(5400);
      expect(await evaluate('Sprintf("%v", GetActiveDecisionsTimeLeft(Alert.GetValue()) * 2)')).toBe('3h0m0s');
      expect(await evaluate('GetActiveDecisionsTimeLeft(Alert.GetValue()) - duration("30m") == duration("1h")')).toBe(
        true,
      );
    });

    it.each<[string, unknown]>([
      ['IpInRange("::ffff:198.51.100.1", "198.51.100.0/24")', true],
      ['IpInRange("198.51.100.1", "198.51.100.1")', false],
      ['IpInRange("bad", "198.51.100.0/24")', false],
      ['IpToRange("198.51.100.99", "24")', '198.51.100.0/24'],
      ['IpToRange("198.51.100.99", "/16")', '198.51.0.0/16'],
      ['IpToRange("2001:db8:1:2:3:4:5:6", "64")', '2001:db8:1:2::/64'],
      ['IpToRange("2001:db8::1", "/32")', '2001:db8::/32'],
      ['IpToRange("::ffff:1.2.3.4", "120")', '::ffff:1.2.3.0/120'],
      ['IpToRange("1.2.3.4", "40")', ''],
      ['IpToRange("1.2.3.4", "x")', ''],
      ['IsIPV4("1.2.3.4") && IsIPV6("::1") && IsIP("::ffff:1.2.3.4") && !IsIP("1.2.3.4/32")', true],
      ['Upper("ssh") + Lower("-BF")', 'SSH-bf'],
      ['TimeNow()', '2026-11-28T20:00:00Z'],
      ['TimeNow() > Alert.StopAt', true],
      ['Atof("1.5") + Atof("x")', 1.5],
      ['ParseUnix("1764358154.123")', '2025-11-28T19:29:14Z'],
      ['ParseUnix("-1")', ''],
    ])('%s → %p', async (source, expected) => {
      expect(await evaluate(source)).toEqual(expected);
    });
  });

  describe('given operators', () => {
    it.each<[string, unknown]>([
      ['1 + 2 * 3', 7n],
      ['(1 + 2) * 3', 9n],
      ['10 / 4', 2.5],
      ['10 % 3', 1n],
      ['-7 % 3', -1n],
      ['7 / 0', Infinity],
      ['2 ** 3 ** 2', 512],
      ['-2 ** 2', -4],
      ['9223372036854775807 + 1', -9223372036854775808n],
      ['1 == 1.0', true],
      ['1.5 > 1', true],
      ['"abc" < "abd"', true],
      ['"é" > "z"', true],
      ['[1, 2] == [1, 2]', true],
      ['nil == nil', true],
      ['true || false && false', true],
      ['(true || false) && false', false],
      ['!true || true', true],
      ['not Alert.Remediation == false', true],
      ['1 < 2 == true', true],
      ['1 < 2 < 3', true],
      ['3 > 2 > 1', true],
      ['true or 1 == 1 and false', true],
      ['Alert.Remediation and not Alert.Simulated', true],
      ['1 + 2 == 3 && "a" + "b" == "ab"', true],
      ['Alert.GetScope() == "Ip" ? "4h" : "1h"', '4h'],
      ['Alert.Remediation ? (Alert.Simulated ? 1 : 2) : 3', 2n],
      ['"ssh" not in ["ssh"]', false],
      ['Alert.GetScenario() not matches "http"', true],
      ['Alert.GetScenario() not contains "ssh"', false],
      ['Alert.GetScenario() not startsWith "crowdsec"', false],
      ['Alert.GetScenario() not endsWith "bf"', false],
      ['"a" in {"a": 1}', true],
      ['{"a": 1}.b', null],
      ['"x" in Alert.Labels', false],
      ['nil in [nil]', true],
      ['Alert.GetMeta("x") contains ""', true],
      ['duration("1h") == duration("60m")', true],
      ['abs(-3) + int("12") + int(2.9)', 17n],
      ['float("1.25") + 1', 2.25],
      ['string(1.5) + string(Alert.Capacity) + string(nil)', '1.55<nil>'],
      ['len("é") + len([1, "a"])', 3n],
      ['upper("a") + lower("B")', 'Ab'],
      ['1_000 + 0x10 + 0o10 + 0b10', 1026n],
      ['1e3 + .5 + 1.', 1001.5],
      ["'It\\'s' + \"\\tok\"", "It's\tok"],
      ['"\\u00e9\\x41\\101\\u{1F600}"', 'éAA😀'],
      ['`raw\\d`', 'raw\\d'],
      ['/* c */ Alert.Remediation // trailing comment', true],
    ])('%s → %p', async (source, expected) => {
      expect(await evaluate(source)).toEqual(expected);
    });

    it('short-circuits: the right side does not run (nor query the store) when the left side decides', async () => {
      const { stats, calls } = fakeStats();
      expect(await evaluate('false && GetDecisionsCount(Alert.GetValue()) > 0', sshAlert, stats)).toBe(false);
      expect(await evaluate('true || GetActiveDecisionsCount("bob") > 0', sshAlert, stats)).toBe(true);
      expect(calls).toEqual([]);
    });
  });

  describe('given Sprintf (Go fmt)', () => {
    it.each<[string, string]>([
      ['"%d %s %v %f %.2f %x %q %%", 42, "s", true, 1.5, 3.14159, 255, "q"', '42 s true 1.500000 3.14 ff "q" %'],
      [
        '"%v %v %v %v %v %v", 100000000.0, 123456789.0, 1e21, 1e20, 0.0001, 0.00001',
        '1e+08 1.23456789e+08 1e+21 1e+20 0.0001 1e-05',
      ],
      ['"%v %v %v %v %v", 123456.0, 1234567.0, 1.0, 4.0*2, 0.1+0.2', '123456 1.234567e+06 1 8 0.30000000000000004'],
      [
        '"%.2f|%f|%5.1f|%-6d|%06d|%+d|%e|%g|%.3g|%x|%X|%o|%t|%c", 3.14159, 2.5, 3.14159, 42, 42, 42, 1234.5678, 1234.5678, 1234.5678, 255, 255, 8, true, 65',
        '3.14|2.500000|  3.1|42    |000042|+42|1.234568e+03|1234.5678|1.23e+03|ff|FF|10|true|A',
      ],
      ['"%s", [1,2]', '[%!s(int=1) %!s(int=2)]'],
      ['"%v", ["a", 1, 2.5, nil, true]', '[a 1 2.5 <nil> true]'],
      ['"%d %d"', '%!d(MISSING) %!d(MISSING)'],
      ['"%d", 1, 2', '1%!(EXTRA int=2)'],
      ['"%v", {"b": 1, "a": 2}', 'map[a:2 b:1]'],
      ['"%q %q %v", "é\\n\\t\\x01", 65, "x"', '"é\\n\\t\\x01" \'A\' x'],
      ['"%5s|%-5s|%.2s|%x", "ab", "ab", "abcdef", -255', '   ab|ab   |ab|-ff'],
      ['"%z", 1', '%!z(int=1)'],
      ['"%", 1', '%!(NOVERB)%!(EXTRA int=1)'],
      ['"%.0f %.0f %.0f %.1f %.2f", 0.5, 1.5, 2.5, 0.25, 1.005', '0 2 2 0.2 1.00'],
      ['"%v %v", 1/0, -1/0', '+Inf -Inf'],
      ['"%T %T %T %T %T %T", 1, 1.5, "s", nil, true, duration("1h")', 'int float64 string <nil> bool time.Duration'],
      ['"%#x %#08x %08.3f %+.1e %x", 255, 255, 3.14159, 12345.678, "hé"', '0xff 0x000000ff 0003.142 +1.2e+04 68c3a9'],
      ['"%5t|%-7v|%3c|%U", true, nil, 66, 66', ' true|<nil>  |  B|U+0042'],
      ['"%g %g %g %G", 1e-7, 123456789.0, 0.000123, 1e-10', '1e-07 1.23456789e+08 0.000123 1E-10'],
      ['"%.3e %.10f %.15g", 1.0/3, 1.0/3, 1.0/3', '3.333e-01 0.3333333333 0.333333333333333'],
      [
        '"%d|%x|%v|%f", duration("1h"), duration("1h"), duration("1h"), duration("1h")',
        '3600000000000|3168306d3073|1h0m0s|%!f(time.Duration=3600000000000)',
      ],
      ['"%s|%d", nil, "a"', '%!s(<nil>)|%!d(string=a)'],
      ['"%dh", 4*4', '16h'],
      ['"%*d|%-*d|%.*f", 5, 1, 5, 2, 2, 3.14159', '    1|2    |3.14'],
      ['"%.2f|%.1f|%.1f|%.2e|%.2g|%.0f", 2.675, 0.05, 0.25, 9.999, 9.999, 9.5', '2.67|0.1|0.2|1.00e+01|10|10'],
      ['"%v|%e|%g|%v", 5e-324, 0.0, 0.0, 1.7976931348623157e308', '5e-324|0.000000e+00|0|1.7976931348623157e+308'],
      [
        '"%6.2f|%-6.2f|%06.2f|% d|%3d|%03d|%.3d", 3.14159, 3.14159, -3.14159, 5, -5, -5, 7',
        '  3.14|3.14  |-03.14| 5| -5|-05|007',
      ],
      ['"%q|%q", "a\'b\\"c\\\\", 39', "\"a'b\\\"c\\\\\"|'\\''"],
    ])('Sprintf(%s) → %p', async (args, expected) => {
      expect(await evaluate(`Sprintf(${args})`)).toBe(expected);
    });
  });

  describe('given regular expressions (Go RE2 semantics, linear time)', () => {
    it.each<[string, string, boolean]>([
      ['crowdsecurity/ssh-bf', '(?i)^CROWDSECURITY/', true],
      ['crowdsecurity/ssh-bf', '^crowdsecurity/(ssh|http)-', true],
      ['crowdsecurity/ssh-bf', '(?P<ns>[a-z]+)/ssh', true],
      ['crowdsecurity/ssh-bf', '\\\\Acrowdsec', true],
      ['crowdsecurity/ssh-bf', 'bf\\\\z', true],
      ['crowdsecurity/ssh-bf', '[[:alpha:]]+/[[:alpha:]-]+', true],
      ['198.51.100.99', '^\\\\d+\\\\.\\\\d+\\\\.\\\\d+\\\\.\\\\d+$', true],
      ['1.2', '\\\\Q1.2\\\\E', true],
      ['132', '\\\\Q1.2\\\\E', false],
      ['a\\nb', 'a.b', false],
      ['a\\rb', 'a.b', true],
      ['a\\nb', '(?s)a.b', true],
      ['a b', 'a\\\\sb', true],
      ['a\\vb', 'a\\\\sb', false],
      ['a\\vb', 'a[^\\\\s]b', true],
      ['x{y', 'x{y', true],
      ['tab\\there', '\\\\x09|\\\\011', true],
      ['héllo', '^\\\\pL+$', true],
      ['h3llo', '^\\\\pL+$', false],
      ['SSH-bf', '(?i:ssh)-bf', true],
      ['aB', 'a(?i)b', true],
      ['Ab', 'a(?i)b', false],
    ])('"%s" matches "%s" → %p', async (text, pattern, expected) => {
      expect(await evaluate(`"${text}" matches "${pattern}"`)).toBe(expected);
    });

    it('matches a pattern with nested quantifiers on a hostile input in linear time (no ReDoS)', async () => {
      // V8's backtracking RegExp took 26 s on this; RE2 is linear in the input.
      const hostile = `${'a'.repeat(35)}!`;
      const started = performance.now();
      expect(await evaluate(`"${hostile}" matches "^([a-z0-9]+-?)+/ssh-bf$"`)).toBe(false);
      expect(performance.now() - started).toBeLessThan(1000);
    });

    it.each(['(?=x)', '(?<!x)y', '(a)\\\\1', 'a{1001}', 'a**', '[', '\\\\y', '\\\\C'])(
      'refuses "%s" at compile time as Go does',
      (pattern) => {
        const compile = () => compileExpr(`Alert.GetScenario() matches "${pattern}"`, PROFILE_EXPR_SCHEMA);
        expect(compile).toThrow(ExprCompileError);
        expect(compile).not.toThrow(UnsupportedExpressionError);
      },
    );

    it('fails at run time on a bad pattern computed at run time', async () => {
      await expect(evaluate('Alert.GetScenario() matches Alert.GetMeta("service") + "("')).rejects.toThrow(
        ExprRuntimeError,
      );
    });
  });

  describe('when an expression is outside the supported subset', () => {
    it.each<[string, string]>([
      ['FooBar(Alert.GetValue())', "unsupported function 'FooBar'"],
      ['File("ips.txt")', "unsupported function 'File'"],
      ['sortBy(Alert.Events, .Timestamp)', "unsupported function 'sortBy'"],
      ['trim(Alert.GetValue())', "unsupported expr-lang builtin 'trim'"],
      ['Alert.Foo == 1', "unknown field 'Alert.Foo'"],
      ['Alert.Source.Foo', "unknown field 'Alert.Source.Foo'"],
      ['any(Alert.Events, {#.Foo})', "unknown field 'Event.Foo'"],
      ['Alert.MachineID == "agent"', "unsupported field 'Alert.MachineID'"],
      ['Alert.GetSources()', "unsupported method 'Alert.GetSources'"],
      ['Alert.GetFoo()', "unknown method 'Alert.GetFoo'"],
      ['GetActiveDecisionsTimeLeft("1.2.3.4").Round()', "unsupported method 'time.Duration.Round'"],
      ['evt.Parsed.source_ip == "1.2.3.4"', "unknown variable 'evt'"],
      ['Alert.Events | len()', "unsupported pipe operator '|'"],
      ['let x = 1; x', "unsupported 'let' expression"],
      ['if true { 1 } else { 2 }', "unsupported 'if' expression"],
      ['nil ?? 1', "unsupported operator '??'"],
      ['1..3', "unsupported range operator '..'"],
      ['Alert.Events[0:1]', 'unsupported slice'],
      ['Alert.Events[:1]', 'unsupported slice'],
      ['Alert.Source?.Cn', "unsupported optional chaining '?.'"],
      ['Alert.Remediation ?: true', "unsupported operator '?:'"],
      ['1; 2', "unsupported sequence of expressions ';'"],
      ['$env.Alert', "unsupported variable '$env'"],
      ['b"abc"', 'unsupported bytes literal'],
      ['"abc"[0]', 'unsupported indexing of a string'],
      ['reduce(Alert.Events, #acc, 0)', "unsupported function 'reduce'"],
    ])('%s → %s', (source, message) => {
      expect(() => compileExpr(source, PROFILE_EXPR_SCHEMA)).toThrow(new UnsupportedExpressionError(message));
    });
  });

  describe('when an expression is invalid, as expr-lang says at compile time', () => {
    it.each<[string, string]>([
      ['"a" + 1', 'invalid operation: + (mismatched types string and int)'],
      ['"a" == 1', 'invalid operation: == (mismatched types string and int)'],
      ['"a" < 1', 'invalid operation: < (mismatched types string and int)'],
      ['nil < 1', 'invalid operation: < (mismatched types nil and int)'],
      ['true && "x"', 'invalid operation: && (mismatched types bool and string)'],
      ['GetActiveDecisionsTimeLeft("1.2.3.4") > 3600', 'invalid operation: > (mismatched types time.Duration and int)'],
      ['not 1', 'invalid operation: not (mismatched type int)'],
      ['-"a"', 'invalid operation: - (mismatched type string)'],
      ['Alert.GetMeta(1)', 'cannot use int as argument (type string) to call GetMeta'],
      ['Upper()', 'not enough arguments to call Upper'],
      ['Upper("a", "b")', 'too many arguments to call Upper'],
      ['1 in ["a"]', 'cannot use int as type string in array'],
      ['len(nil)', 'invalid argument for len (type nil)'],
      ['[1, 2, 3][1.5]', 'array elements can only be selected using an integer (got float64)'],
      ['any(Alert.Source, {true})', 'builtin any takes only array (got *models.Source)'],
      ['any(Alert.Events, {.Timestamp})', 'predicate should return boolean (got string)'],
      ['Alert.Remediation ==', 'unexpected end of expression'],
      ['Alert.Remediation == true)', "unexpected token ')'"],
      ['"unterminated', 'literal not terminated'],
      ['"\\d"', 'unable to unescape string'],
      ['9223372036854775808', 'integer literal is too large'],
      ['Alert.Remediation @ 1', "unrecognized character: '@'"],
    ])('%s → %s', (source, message) => {
      const compile = () => compileExpr(source, PROFILE_EXPR_SCHEMA);
      expect(compile).toThrow(new ExprCompileError(message));
      expect(compile).not.toThrow(UnsupportedExpressionError);
    });
  });

  describe('when an expression fails at run time', () => {
    it.each<[string, string]>([
      ['Alert.Events[5]', 'index out of range: 5 (array length is 2)'],
      ['{"a": 1}.b.c', 'cannot fetch c from <nil>'],
      ['count(Alert.Events) > 0', 'invalid operation: count on *models.Event (a bool is required)'],
      ['duration("2d") > duration("1h")', 'time: invalid duration "2d"'],
      ['float("x") > 0', 'invalid operation: float(x)'],
      ['Alert.Capacity % (Alert.Capacity - 5)', 'integer divide by zero'],
      ['Alert.Remediation ? 1 : "a"', ''],
    ])('%s → %s', async (source, message) => {
      const run = evaluate(source);
      if (message === '') {
        await expect(run).resolves.toBe(1n);
      } else {
        await expect(run).rejects.toThrow(new ExprRuntimeError(message));
      }
    });

    // The checker refuses these; the evaluator still guards every operation for values it could not type.
    it.each<[string, string]>([
      ['"a" + 1', 'invalid operation: string + int'],
      ['"a" < 1', 'invalid operation: string < int'],
      ['1 && true', 'invalid operation: && on int (a bool is required)'],
      ['true && 1', 'invalid operation: && on int (a bool is required)'],
      ['!"a"', 'invalid operation: ! on string (a bool is required)'],
      ['-"a"', 'invalid operation: - string'],
      ['1 contains "a"', 'invalid operation: contains on int (a string is required)'],
      ['1 in 2', 'operator "in" not defined on int'],
      ['len(1)', 'invalid argument for len (type int)'],
      ['"s".Foo()', 'cannot fetch Foo from string'],
      ['{"a": nil}.a.b', 'cannot fetch b from <nil>'],
      ['1 ? 2 : 3', 'invalid operation: ?: on int (a bool is required)'],
    ])('unchecked %s → %s', async (source, message) => {
      await expect(evaluateExpr(parseExpr(source), { variables: {}, functions: {} })).rejects.toThrow(
        new ExprRuntimeError(message),
      );
    });

    it('treats nil operands of the string operators as false, as expr-lang does', async () => {
      const env = { variables: {}, functions: {} };
      await expect(
        evaluateExpr(parseExpr('nil contains "a" || "a" startsWith nil || nil matches "x"'), env),
      ).resolves.toBe(false);
    });
  });
});
