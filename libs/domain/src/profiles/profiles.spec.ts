import {
  applyProfiles,
  compileProfiles,
  DEFAULT_PROFILES,
  ProfileConfigError,
  ProfileEvaluationError,
  type DecisionStats,
  type Profile,
  type ProfileDecision,
} from '.';
import type { AlertInput, DecisionInput } from '../alerts/alert';

const now = new Date('2026-11-28T20:00:00.000Z');

const agentAlert = (over: Partial<AlertInput> = {}): AlertInput => ({
  scenario: 'crowdsecurity/ssh-bf',
  scenarioHash: 'abc',
  scenarioVersion: '0.1',
  message: "Ip 198.51.100.99 performed 'crowdsecurity/ssh-bf' (6 events over 5s)",
  eventsCount: 6,
  startAt: '2026-11-28T19:29:14Z',
  stopAt: '2026-11-28T19:29:19Z',
  capacity: 5,
  leakspeed: '10s',
  simulated: false,
  remediation: true,
  events: [{ timestamp: '2026-11-28T19:29:14Z', meta: [{ key: 'target_user', value: 'root' }] }],
  source: { scope: 'Ip', value: '198.51.100.99', ip: '198.51.100.99' },
  decisions: null,
  meta: [],
  labels: null,
  ...over,
});

const stats = (previousDecisions = 0): DecisionStats => ({
  decisionsCount: () => Promise.resolve(previousDecisions),
  decisionsSinceCount: () => Promise.resolve(previousDecisions),
  activeDecisionsCount: () => Promise.resolve(0),
  activeDecisionsTimeLeftMs: () => Promise.resolve(0),
});
const failingStats: DecisionStats = {
  ...stats(),
  activeDecisionsCount: () => Promise.reject(new Error('database is down')),
};

const ban = (over: Partial<ProfileDecision> = {}): ProfileDecision => ({
  duration: '4h',
  origin: 'crowdsec',
  scenario: 'crowdsecurity/ssh-bf',
  scope: 'Ip',
  type: 'ban',
  value: '198.51.100.99',
  simulated: false,
  ...over,
});

const compile = (...docs: unknown[]) => compileProfiles(docs, 'profiles.yaml');

/** given profiles, when an alert is pushed, then … */
const given = (profiles: readonly Profile[]) => ({
  when: (alert: AlertInput, decisionStats: DecisionStats = stats()) => {
    const run = () => applyProfiles(alert, profiles, decisionStats, now);
    return {
      thenDecisions: async (expected: readonly ProfileDecision[] | readonly DecisionInput[]) =>
        expect((await run()).decisions).toEqual(expected),
      thenNotified: async (expected: [number, string, number][]) =>
        expect((await run()).notifications.map((n) => [n.profileIndex, n.profileName, n.decisions.length])).toEqual(
          expected,
        ),
      thenThrows: (message: string) => expect(run()).rejects.toThrow(new ProfileEvaluationError(message)),
    };
  },
});

const failing = 'GetActiveDecisionsCount(Alert.GetValue()) > 0';

describe('profiles', () => {
  describe('compileProfiles', () => {
    it('compiles every key of a profile', () => {
      const [profile] = compile({
        name: 'custom',
        debug: true,
        filters: ['Alert.Remediation == true', 'Alert.GetScope() == "Range"'],
        decisions: [
          { type: 'captcha', duration: '1h', scope: 'custom_app1_captcha' },
          { type: 'ban', duration: '2d3h', origin: 'lists', simulated: true, value: 'ignored' },
        ],
        duration_expr: "Sprintf('%dh', 4*4)",
        on_success: 'break',
        on_failure: 'apply',
        on_error: 'ignore',
        notifications: ['slack_default', 'http_default'],
      });
      expect(profile).toMatchObject({
        name: 'custom',
        debug: true,
        decisions: [
          { type: 'captcha', duration: '1h', scope: 'custom_app1_captcha' },
          { type: 'ban', duration: '2d3h', origin: 'lists', simulated: true },
        ],
        onSuccess: 'break',
        onFailure: 'apply',
        onError: 'ignore',
        notifications: ['slack_default', 'http_default'],
      });
      expect(profile.filters.map((f) => f.source)).toEqual([
        'Alert.Remediation == true',
        'Alert.GetScope() == "Range"',
      ]);
      expect(profile.durationExpr?.source).toBe("Sprintf('%dh', 4*4)");
    });

    it('defaults to the Debian 1.4.6 profile plus the ≥ 1.6.3 range one', () => {
      expect(DEFAULT_PROFILES.map((p) => [p.name, p.filters.map((f) => f.source), p.decisions, p.onSuccess])).toEqual([
        [
          'default_ip_remediation',
          ['Alert.Remediation == true && Alert.GetScope() == "Ip"'],
          [{ type: 'ban', duration: '4h' }],
          'break',
        ],
        [
          'default_range_remediation',
          ['Alert.Remediation == true && Alert.GetScope() == "Range"'],
          [{ type: 'ban', duration: '4h' }],
          'break',
        ],
      ]);
    });

    it('accepts a notification-only profile, and a decision without duration when duration_expr gives one', () => {
      expect(() =>
        compile(
          { name: 'notif_only', filters: ['Alert.GetScope() == "Country"'], notifications: ['slack_default'] },
          { name: 'dynamic', decisions: [{ type: 'ban' }], duration_expr: "Sprintf('%dh', 4)" },
        ),
      ).not.toThrow();
    });

    it.each<[unknown[], string]>([
      [[], 'profiles.yaml: zero profiles loaded for LAPI'],
      [
        [{ name: 'default_ip_remediation', filters: ['Foo(Alert.GetValue())'] }],
        "profiles.yaml: profile 'default_ip_remediation': unsupported function 'Foo' in filter 1",
      ],
      [
        [{ name: 'p', filters: ['true', 'Alert.Foo == 1'] }],
        "profiles.yaml: profile 'p': unknown field 'Alert.Foo' in filter 2",
      ],
      [
        [{ name: 'p', filters: ['Alert.GetScenario() + 1'] }],
        "profiles.yaml: profile 'p': invalid operation: + (mismatched types string and int) in filter 1",
      ],
      [
        [{ name: 'p', decisions: [{ type: 'ban' }], duration_expr: 'Alert.Events | len()' }],
        "profiles.yaml: profile 'p': unsupported pipe operator '|' in duration_expr",
      ],
      [
        [{ name: 'p', decisions: [{ type: 'ban', duration: '4x' }] }],
        "profiles.yaml: profile 'p': decision 1: invalid duration '4x'",
      ],
      [
        [{ name: 'p', decisions: [{ type: 'ban', duration: '1h2d' }] }],
        "profiles.yaml: profile 'p': decision 1: invalid duration '1h2d'",
      ],
      [
        [{ name: 'p', decisions: [{ type: 'ban', duration: '1h' }, { type: 'ban' }] }],
        "profiles.yaml: profile 'p': decision 2 has no duration and the profile no duration_expr",
      ],
      [[{ name: 'p', decisions: [{ duration: '1h' }] }], "profiles.yaml: profile 'p': decision 1 has no type"],
      [
        [{ name: 'p', decisions: [{ type: 'ban', duration: '1h', ttl: 3 }] }],
        "profiles.yaml: profile 'p': decision 1: unknown key 'ttl'",
      ],
      [[{ name: 'p', filter: ['true'] }], "profiles.yaml: profile 'p': unknown key 'filter'"],
      [
        [{ name: 'p', on_success: 'stop' }],
        "profiles.yaml: profile 'p': invalid 'on_success': stop (expected continue, break)",
      ],
      [
        [{ name: 'p', on_failure: 'ignore' }],
        "profiles.yaml: profile 'p': invalid 'on_failure': ignore (expected continue, break, apply)",
      ],
      [
        [{ name: 'p', on_error: 'report' }],
        "profiles.yaml: profile 'p': invalid 'on_error': report (expected continue, break, apply, ignore)",
      ],
      [[{ name: 'p', debug: 'yes' }], "profiles.yaml: profile 'p': debug must be true or false"],
      [[{ name: 'p', filters: 'true' }], "profiles.yaml: profile 'p': filters must be a list of strings"],
      [[{ name: 'p', decisions: { type: 'ban' } }], "profiles.yaml: profile 'p': decisions must be a list"],
      [[{ name: 'p', notifications: [{ a: 1 }] }], "profiles.yaml: profile 'p': notifications[0] must be a string"],
      [[{ name: 'ok' }, ['not', 'a', 'mapping']], 'profiles.yaml: profile #2: a profile must be a mapping'],
      [[{ filters: ['nope'] }], "profiles.yaml: profile #1: unknown variable 'nope' in filter 1"],
    ])('refuses %j: %s', (docs, message) => {
      expect(() => compile(...docs)).toThrow(new ProfileConfigError(message));
    });
  });

  describe('applyProfiles on an alert without decisions', () => {
    it('bans an IP alert for 4h with the default profiles', async () => {
      const outcome = await applyProfiles(agentAlert(), DEFAULT_PROFILES, stats(), now);
      expect(outcome).toEqual({
        decisions: [ban()],
        notifications: [
          { profileIndex: 0, profileName: 'default_ip_remediation', notifications: [], decisions: [ban()] },
        ],
      });
    });

    it('bans a Range alert with the range profile', async () => {
      const alert = agentAlert({ source: { scope: 'Range', value: '192.0.2.0/24', range: '192.0.2.0/24' } });
      await given(DEFAULT_PROFILES)
        .when(alert)
        .thenDecisions([ban({ scope: 'Range', value: '192.0.2.0/24' })]);
      await given(DEFAULT_PROFILES)
        .when(alert)
        .thenNotified([[1, 'default_range_remediation', 1]]);
    });

    it('leaves an alert without remediation (or matching no profile) without decisions nor notification', async () => {
      await given(DEFAULT_PROFILES)
        .when(agentAlert({ remediation: false }))
        .thenDecisions([]);
      await given(DEFAULT_PROFILES)
        .when(agentAlert({ remediation: false }))
        .thenNotified([]);
      const username = agentAlert({ source: { scope: 'Username', value: 'bob' } });
      await given(DEFAULT_PROFILES).when(username).thenDecisions([]);
    });

    it('adds the decisions once per true filter', async () => {
      const profiles = compile({
        name: 'twice',
        filters: ['Alert.Remediation == true', 'Alert.GetScope() == "Ip"', 'false'],
        decisions: [{ type: 'ban', duration: '4h' }],
      });
      await given(profiles).when(agentAlert()).thenDecisions([ban(), ban()]);
    });

    it('takes the decisions of the first matching profile that has some, and notifies every matching profile', async () => {
      const profiles = compile(
        { name: 'notify_ssh', filters: ['Alert.GetScenario() contains "ssh"'], notifications: ['slack_default'] },
        { name: 'captcha', filters: ['true'], decisions: [{ type: 'captcha', duration: '1h' }] },
        { name: 'ban', filters: ['true'], decisions: [{ type: 'ban', duration: '4h' }] },
      );
      await given(profiles)
        .when(agentAlert())
        .thenDecisions([ban({ type: 'captcha', duration: '1h' })]);
      await given(profiles)
        .when(agentAlert())
        .thenNotified([
          [0, 'notify_ssh', 0],
          [1, 'captcha', 1],
          [2, 'ban', 1],
        ]);
    });

    it('stops at a matching profile with on_success: break', async () => {
      const profiles = compile(
        { name: 'first', filters: ['true'], on_success: 'break', notifications: ['email_default'] },
        { name: 'second', filters: ['true'], decisions: [{ type: 'ban', duration: '4h' }] },
      );
      await given(profiles).when(agentAlert()).thenDecisions([]);
      const outcome = await applyProfiles(agentAlert(), profiles, stats(), now);
      expect(outcome.notifications).toEqual([
        { profileIndex: 0, profileName: 'first', notifications: ['email_default'], decisions: [] },
      ]);
    });

    it('lets later profiles see the decisions given by an earlier one in Alert.Decisions', async () => {
      const profiles = compile(
        { name: 'ban', filters: ['true'], decisions: [{ type: 'ban', duration: '4h' }] },
        { name: 'already_banned', filters: ['len(Alert.Decisions) > 0 && Alert.Decisions[0].Type == "ban"'] },
      );
      await given(profiles)
        .when(agentAlert())
        .thenNotified([
          [0, 'ban', 1],
          [1, 'already_banned', 1],
        ]);
    });

    it('overrides the scope, prefixes the origin and marks simulated decisions as the profile says', async () => {
      const profiles = compile({
        name: 'p',
        filters: ['true'],
        decisions: [
          { type: 'ban', duration: '1h', scope: 'Range', origin: 'lists', simulated: true },
          { type: 'captcha', duration: '1h', scope: '' },
        ],
      });
      await given(profiles)
        .when(agentAlert())
        .thenDecisions([
          ban({ duration: '1h', scope: 'Range', origin: 'crowdsec/lists', simulated: true }),
          ban({ duration: '1h', type: 'captcha' }),
        ]);
    });

    it('marks every decision of a simulated alert simulated', async () => {
      await given(DEFAULT_PROFILES)
        .when(agentAlert({ simulated: true }))
        .thenDecisions([ban({ simulated: true })]);
    });

    describe('with duration_expr', () => {
      const escalating = (over: Record<string, unknown> = {}) =>
        compile({
          name: 'escalating',
          filters: ['true'],
          decisions: [
            { type: 'ban', duration: '4h' },
            { type: 'captcha', duration: '1h' },
          ],
          duration_expr: "Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)",
          ...over,
        });

      it('replaces the duration of every decision with its result', async () => {
        await given(escalating())
          .when(agentAlert(), stats(2))
          .thenDecisions([ban({ duration: '12h' }), ban({ duration: '12h', type: 'captcha' })]);
      });

      it('keeps the static durations when the result is no duration or the expression fails', async () => {
        await given(escalating({ duration_expr: 'Alert.Remediation' }))
          .when(agentAlert())
          .thenDecisions([ban(), ban({ duration: '1h', type: 'captcha' })]);
        await given(escalating({ duration_expr: `Sprintf('%dh', ${failing} ? 1 : 2)` }))
          .when(agentAlert(), failingStats)
          .thenDecisions([ban(), ban({ duration: '1h', type: 'captcha' })]);
      });

      it('accepts a days prefix in the result', async () => {
        await given(escalating({ duration_expr: "Sprintf('%dd12h', 2)" }))
          .when(agentAlert())
          .thenDecisions([ban({ duration: '2d12h' }), ban({ duration: '2d12h', type: 'captcha' })]);
      });

      it('fails the push when a decision ends without any duration, as the reference fails to store it', async () => {
        const profiles = compile({
          name: 'dynamic',
          filters: ['true'],
          decisions: [{ type: 'ban' }],
          duration_expr: `Sprintf('%dh', ${failing} ? 1 : 2)`,
        });
        await given(profiles)
          .when(agentAlert(), failingStats)
          .thenThrows("decision 'ban' of scenario crowdsecurity/ssh-bf has no duration");
      });
    });

    describe('when a filter fails', () => {
      const failingProfile = (
        onError: string | undefined,
        filters = [failing],
        over: Record<string, unknown> = {},
      ) => ({
        name: 'failing',
        filters,
        decisions: [{ type: 'captcha', duration: '1h' }],
        ...(onError && { on_error: onError }),
        ...over,
      });
      const fallback = { name: 'fallback', filters: ['true'], decisions: [{ type: 'ban', duration: '4h' }] };

      it('fails the push without on_error, with the message the reference answers in its 500', async () => {
        await given(compile(failingProfile(undefined), fallback))
          .when(agentAlert(), failingStats)
          .thenThrows(
            `while running expression ${failing}: failed to query decisions of '198.51.100.99': database is down`,
          );
      });

      it('fails on a filter that does not return a bool, with Go’s message', async () => {
        await given(compile({ name: 'p', filters: ['Alert.GetScenario()'] }))
          .when(agentAlert())
          .thenThrows(
            "unexpected type %!t(string=crowdsecurity/ssh-bf) (crowdsecurity/ssh-bf) while running 'Alert.GetScenario()'",
          );
      });

      it.each(['ignore', 'continue'])('skips the profile with on_error: %s', async (onError) => {
        const profiles = compile(failingProfile(onError), fallback);
        await given(profiles).when(agentAlert(), failingStats).thenDecisions([ban()]);
        await given(profiles)
          .when(agentAlert(), failingStats)
          .thenNotified([[1, 'fallback', 1]]);
      });

      it.each(['ignore', 'continue'])(
        'with on_error: %s, still counts an earlier true filter as a match, without its decisions',
        async (onError) => {
          const profiles = compile(failingProfile(onError, ['true', failing], { on_success: 'break' }), fallback);
          await given(profiles).when(agentAlert(), failingStats).thenDecisions([]);
          await given(profiles)
            .when(agentAlert(), failingStats)
            .thenNotified([[0, 'failing', 0]]);
        },
      );

      it('treats the profile as matched, without decisions, with on_error: apply', async () => {
        await given(compile(failingProfile('apply'), fallback))
          .when(agentAlert(), failingStats)
          .thenNotified([
            [0, 'failing', 0],
            [1, 'fallback', 1],
          ]);
        await given(compile(failingProfile('apply', [failing], { on_success: 'break' }), fallback))
          .when(agentAlert(), failingStats)
          .thenDecisions([]);
      });

      it('stops with on_error: break only when an earlier filter matched, as the reference checks the match first', async () => {
        await given(compile(failingProfile('break'), fallback))
          .when(agentAlert(), failingStats)
          .thenDecisions([ban()]);
        await given(compile(failingProfile('break', ['true', failing]), fallback))
          .when(agentAlert(), failingStats)
          .thenNotified([[0, 'failing', 0]]);
      });
    });
  });

  describe('applyProfiles on an alert that carries decisions (cscli)', () => {
    const manual: DecisionInput = {
      duration: '1h',
      origin: 'cscli',
      scenario: 'test',
      scope: 'Ip',
      type: 'ban',
      value: '192.0.2.7',
    };
    const cscliAlert = agentAlert({
      scenario: 'test',
      remediation: false,
      events: [],
      source: { scope: 'Ip', value: '192.0.2.7', ip: '192.0.2.7' },
      decisions: [manual],
    });

    it('keeps its decisions untouched and reports the matching profiles', async () => {
      const profiles = compile(
        { name: 'all', filters: ['len(Alert.Decisions) == 1'], decisions: [{ type: 'captcha', duration: '9h' }] },
        { name: 'manual', filters: ['Alert.Decisions[0].Origin == "cscli"'], on_success: 'break' },
        { name: 'never reached', filters: ['true'] },
      );
      await given(profiles).when(cscliAlert).thenDecisions([manual]);
      await given(profiles)
        .when(cscliAlert)
        .thenNotified([
          [0, 'all', 1],
          [1, 'manual', 1],
        ]);
    });

    it('gets no decision from the default profiles (an alert without remediation)', async () => {
      await given(DEFAULT_PROFILES).when(cscliAlert).thenNotified([]);
    });

    it('skips a failing profile whatever its on_error', async () => {
      const profiles = compile({ name: 'failing', filters: [failing] }, { name: 'next', filters: ['true'] });
      await given(profiles).when(cscliAlert, failingStats).thenDecisions([manual]);
      await given(profiles)
        .when(cscliAlert, failingStats)
        .thenNotified([[1, 'next', 1]]);
    });

    it('runs the profiles when the list is empty, as the reference tests its length', async () => {
      await given(DEFAULT_PROFILES)
        .when(agentAlert({ decisions: [] }))
        .thenDecisions([ban()]);
    });
  });
});
