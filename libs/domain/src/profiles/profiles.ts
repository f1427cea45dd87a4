import type { AlertInput, DecisionInput } from '../alerts/alert';
import { parseGoDuration } from '../shared/go-duration';
import { PROFILE_EXPR_SCHEMA, profileExprEnv, type DecisionStats, type EnvDecision } from './alert-env';
import {
  compileExpr,
  ExprCompileError,
  ExprRuntimeError,
  goSprint,
  goSprintf,
  runExpr,
  type CompiledExpr,
  type ExprEnv,
} from './expr';
import { ProfileConfigError, ProfileEvaluationError } from './profile.errors';

export type OnSuccess = 'continue' | 'break';
export type OnFailure = 'continue' | 'break' | 'apply';
export type OnError = 'continue' | 'break' | 'apply' | 'ignore';

/** One entry of a profile's `decisions`: what each matching alert gets. */
export interface ProfileDecisionTemplate {
  readonly type: string;
  /** Go duration (days prefix allowed); absent only when the profile has a `duration_expr`. */
  readonly duration?: string;
  /** Overrides the alert source's scope when set and not empty. */
  readonly scope?: string;
  /** Appended to `crowdsec/` when set. */
  readonly origin?: string;
  readonly simulated?: boolean;
}

/** A compiled profile of profiles.yaml (csconfig.ProfileCfg + csprofiles.Runtime). */
export interface Profile {
  readonly name: string;
  readonly filters: readonly CompiledExpr[];
  readonly decisions: readonly ProfileDecisionTemplate[];
  readonly durationExpr?: CompiledExpr;
  readonly onSuccess?: OnSuccess;
  /** Accepted and validated, without effect: the reference's `break` only leaves a switch (csprofiles.go). */
  readonly onFailure?: OnFailure;
  readonly onError?: OnError;
  readonly notifications: readonly string[];
  readonly debug: boolean;
}

/**
 * A decision produced by a profile. `simulated` is models.Decision.Simulated: true when the profile decision says so
 * or the alert is simulated. The reference stores decisions with the alert's flag whatever this says (its
 * createDecisionBatch takes alert.Simulated); the profile's flag only shows in logs and in what notifications and
 * CAPI receive.
 */
export type ProfileDecision = DecisionInput & { readonly simulated?: boolean };

/** A profile that matched: the reference sends the alert to that profile's notification plugins. */
export interface ProfileNotification {
  readonly profileIndex: number;
  readonly profileName: string;
  readonly notifications: readonly string[];
  /** The alert's decisions when it matched (a profile that matched before any decision was made sends none). */
  readonly decisions: readonly ProfileDecision[];
}

export interface ProfilesOutcome {
  readonly decisions: readonly ProfileDecision[];
  readonly notifications: readonly ProfileNotification[];
}

const PROFILE_KEYS = new Set([
  'name',
  'debug',
  'filters',
  'decisions',
  'duration_expr',
  'on_success',
  'on_failure',
  'on_error',
  'notifications',
]);
// models.Decision as yaml.v3 names its fields; value, scenario, id, uuid and until are accepted and ignored.
const DECISION_KEYS = new Set([
  'type',
  'duration',
  'scope',
  'origin',
  'simulated',
  'value',
  'scenario',
  'id',
  'uuid',
  'until',
]);
const ON_SUCCESS: readonly OnSuccess[] = ['continue', 'break'];
const ON_FAILURE: readonly OnFailure[] = ['continue', 'break', 'apply'];
const ON_ERROR: readonly OnError[] = ['continue', 'break', 'apply', 'ignore'];

type Fail = (problem: string) => ProfileConfigError;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A YAML scalar as yaml.v3 decodes it into a Go string: numbers and booleans keep their text. */
function scalar(value: unknown, what: string, fail: Fail): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw fail(`${what} must be a string`);
}

function strings(value: unknown, what: string, fail: Fail): string[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw fail(`${what} must be a list of strings`);
  }
  return value.map((item, i) => scalar(item, `${what}[${i}]`, fail) ?? '');
}

function boolean(value: unknown, what: string, fail: Fail): boolean | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'boolean') {
    throw fail(`${what} must be true or false`);
  }
  return value;
}

function oneOf<V extends string>(value: unknown, allowed: readonly V[], key: string, fail: Fail): V | undefined {
  const text = scalar(value, key, fail);
  if (text === undefined || text === '') {
    return undefined;
  }
  if (!(allowed as readonly string[]).includes(text)) {
    throw fail(`invalid '${key}': ${text} (expected ${allowed.join(', ')})`);
  }
  return text as V;
}

function compile(source: string, where: string, fail: Fail): CompiledExpr {
  try {
    return compileExpr(source, PROFILE_EXPR_SCHEMA);
  } catch (e) {
    if (e instanceof ExprCompileError) {
      throw fail(`${e.message} in ${where}`);
    }
    throw e;
  }
}

function compileProfile(doc: unknown, index: number, source: string): Profile {
  const label =
    isRecord(doc) && typeof doc.name === 'string' && doc.name !== ''
      ? `profile '${doc.name}'`
      : `profile #${index + 1}`;
  const fail: Fail = (problem) => new ProfileConfigError(`${source}: ${label}: ${problem}`);
  if (!isRecord(doc)) {
    throw fail('a profile must be a mapping');
  }
  const unknownKey = Object.keys(doc).find((key) => !PROFILE_KEYS.has(key));
  if (unknownKey !== undefined) {
    throw fail(`unknown key '${unknownKey}'`); // the reference decodes with KnownFields(true)
  }
  const durationExprText = scalar(doc.duration_expr, 'duration_expr', fail) ?? '';
  const durationExpr = durationExprText === '' ? undefined : compile(durationExprText, 'duration_expr', fail);
  const filters = strings(doc.filters, 'filters', fail).map((f, i) => compile(f, `filter ${i + 1}`, fail));
  if (doc.decisions !== undefined && doc.decisions !== null && !Array.isArray(doc.decisions)) {
    throw fail('decisions must be a list');
  }
  const decisions = ((doc.decisions ?? []) as unknown[]).map((d, i) =>
    decisionTemplate(d, `decision ${i + 1}`, durationExpr !== undefined, fail),
  );
  return {
    name: scalar(doc.name, 'name', fail) ?? '',
    filters,
    decisions,
    durationExpr,
    onSuccess: oneOf(doc.on_success, ON_SUCCESS, 'on_success', fail),
    onFailure: oneOf(doc.on_failure, ON_FAILURE, 'on_failure', fail),
    onError: oneOf(doc.on_error, ON_ERROR, 'on_error', fail),
    notifications: strings(doc.notifications, 'notifications', fail),
    debug: boolean(doc.debug, 'debug', fail) ?? false,
  };
}

function decisionTemplate(raw: unknown, what: string, hasDurationExpr: boolean, fail: Fail): ProfileDecisionTemplate {
  if (!isRecord(raw)) {
    throw fail(`${what} must be a mapping`);
  }
  const unknownKey = Object.keys(raw).find((key) => !DECISION_KEYS.has(key));
  if (unknownKey !== undefined) {
    throw fail(`${what}: unknown key '${unknownKey}'`);
  }
  const type = scalar(raw.type, `${what} type`, fail);
  if (type === undefined || type === '') {
    throw fail(`${what} has no type`);
  }
  const duration = scalar(raw.duration, `${what} duration`, fail);
  if (duration !== undefined && parseGoDuration(duration) === null) {
    throw fail(`${what}: invalid duration '${duration}'`);
  }
  // 1.4.6 refuses to start; later versions start and then fail every POST of a matching alert with an empty duration.
  if (duration === undefined && !hasDurationExpr) {
    throw fail(`${what} has no duration and the profile no duration_expr`);
  }
  const scope = scalar(raw.scope, `${what} scope`, fail);
  const origin = scalar(raw.origin, `${what} origin`, fail);
  const simulated = boolean(raw.simulated, `${what} simulated`, fail);
  return {
    type,
    ...(duration !== undefined && { duration }),
    ...(scope !== undefined && scope !== '' && { scope }),
    ...(origin !== undefined && { origin }),
    ...(simulated !== undefined && { simulated }),
  };
}

/**
 * Validates and compiles the documents of a profiles.yaml (already YAML-parsed, empty documents removed), in order.
 * Throws {@link ProfileConfigError} naming `source`, the profile and the problem, as the reference refuses to start.
 */
export function compileProfiles(docs: readonly unknown[], source: string): Profile[] {
  if (docs.length === 0) {
    throw new ProfileConfigError(`${source}: zero profiles loaded for LAPI`);
  }
  return docs.map((doc, i) => compileProfile(doc, i, source));
}

/**
 * Debian's 1.4.6 profile (`default_ip_remediation`: a 4h ban of IP-scoped alerts with remediation) followed by the
 * `default_range_remediation` that crowdsec ≥ 1.6.3 ships, so that Range-scoped alerts are banned too instead of
 * being stored without decisions. Both break on success, so a 1.4.6 setup sees no difference for IPs.
 */
export const DEFAULT_PROFILES: readonly Profile[] = Object.freeze(
  compileProfiles(
    ['Ip', 'Range'].map((scope) => ({
      name: `default_${scope.toLowerCase()}_remediation`,
      filters: [`Alert.Remediation == true && Alert.GetScope() == "${scope}"`],
      decisions: [{ type: 'ban', duration: '4h' }],
      on_success: 'break',
    })),
    'default profiles',
  ),
);

interface ProfileRun {
  readonly matched: boolean;
  /** null when a filter failed: the reference drops the decisions of the filters that had matched before. */
  readonly decisions: ProfileDecision[] | null;
  readonly error?: string;
}

/**
 * Runs the profiles on a pushed alert as the reference LAPI (≥ 1.5) does in CreateAlert (controllers/v1/alerts.go):
 *
 * - For an alert without decisions, in file order: every true filter of a profile adds its whole `decisions` list;
 *   the first matching profile that yields decisions gives the alert its decisions; every matching profile notifies;
 *   `on_success: break` stops. A failing filter follows `on_error`; without one, {@link ProfileEvaluationError}.
 * - An alert that carries decisions (cscli) keeps them: profiles only decide notifications, and errors skip a profile.
 */
export async function applyProfiles(
  alert: AlertInput,
  profiles: readonly Profile[],
  stats: DecisionStats,
  now: Date,
): Promise<ProfilesOutcome> {
  const notifications: ProfileNotification[] = [];
  const notify = (index: number, decisions: readonly ProfileDecision[]) =>
    notifications.push({
      profileIndex: index,
      profileName: profiles[index].name,
      notifications: profiles[index].notifications,
      decisions,
    });

  // The reference tests len(alert.Decisions): an empty list is "no decisions" too.
  if (alert.decisions !== null && alert.decisions.length > 0) {
    const own = alert.decisions;
    for (const [index, profile] of profiles.entries()) {
      const run = await runProfile(profile, alert, own, stats, now);
      if (run.error !== undefined || !run.matched) {
        continue;
      }
      notify(index, own);
      if (profile.onSuccess === 'break') {
        break;
      }
    }
    return { decisions: own, notifications };
  }

  let decisions: readonly ProfileDecision[] = [];
  for (const [index, profile] of profiles.entries()) {
    const run = await runProfile(profile, alert, decisions, stats, now);
    let matched = run.matched;
    let forceBreak = false;
    if (run.error !== undefined) {
      // continue and ignore only differ in the reference's log line. A filter that matched before the failing one
      // still counts (matched is kept), but its decisions are dropped.
      switch (profile.onError) {
        case 'apply':
          matched = true;
          break;
        case 'break':
          forceBreak = true; // only honoured when the profile matched: the reference checks `matched` first
          break;
        case 'continue':
        case 'ignore':
          break;
        case undefined:
          throw new ProfileEvaluationError(run.error);
      }
    }
    if (!matched) {
      continue;
    }
    if (decisions.length === 0) {
      decisions = run.decisions ?? [];
    }
    notify(index, decisions);
    if (profile.onSuccess === 'break' || forceBreak) {
      break;
    }
  }
  const undated = decisions.find((d) => d.duration === '');
  if (undated !== undefined) {
    // The reference builds the decision and then fails to store it (time.ParseDuration("")): a 500 for the POST.
    throw new ProfileEvaluationError(`decision '${undated.type}' of scenario ${alert.scenario} has no duration`);
  }
  return { decisions, notifications };
}

/** csprofiles.EvaluateProfile: the filters in order, decisions for each true one, stopping at the first failure. */
async function runProfile(
  profile: Profile,
  alert: AlertInput,
  current: readonly EnvDecision[],
  stats: DecisionStats,
  now: Date,
): Promise<ProfileRun> {
  const env = profileExprEnv(alert, current, stats, now);
  let matched = false;
  const decisions: ProfileDecision[] = [];
  for (const filter of profile.filters) {
    let output: unknown;
    try {
      output = await runExpr(filter, env);
    } catch (e) {
      if (e instanceof ExprRuntimeError) {
        return { matched, decisions: null, error: `while running expression ${filter.source}: ${e.message}` };
      }
      throw e;
    }
    if (typeof output !== 'boolean') {
      // Go's own message, %t verb included.
      const error = goSprintf("unexpected type %t (%v) while running '%s'", [output, output, filter.source]);
      return { matched, decisions: null, error };
    }
    if (output) {
      matched = true;
      decisions.push(...(await generateDecisions(profile, alert, env)));
    }
  }
  return { matched, decisions };
}

/** csprofiles.GenerateDecisionFromProfile. */
async function generateDecisions(profile: Profile, alert: AlertInput, env: ExprEnv): Promise<ProfileDecision[]> {
  let computed: string | undefined;
  if (profile.durationExpr !== undefined && profile.decisions.length > 0) {
    try {
      // fmt.Sprint of whatever it returns; kept only if it parses as a duration, else the static one stays.
      const text = goSprint(await runExpr(profile.durationExpr, env));
      computed = parseGoDuration(text) === null ? undefined : text;
    } catch (e) {
      if (!(e instanceof ExprRuntimeError)) {
        throw e;
      }
    }
  }
  return profile.decisions.map((template) => ({
    duration: computed ?? template.duration ?? '',
    origin: template.origin === undefined ? 'crowdsec' : `crowdsec/${template.origin}`,
    scenario: alert.scenario,
    scope: template.scope ?? alert.source.scope,
    type: template.type,
    value: alert.source.value,
    simulated: template.simulated === true || alert.simulated,
  }));
}
