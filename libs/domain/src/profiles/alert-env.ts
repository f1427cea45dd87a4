import type { AlertEvent, AlertInput, AlertSource, DecisionInput, MetaItem } from '../alerts/alert';
import { parseGoDuration } from '../shared/go-duration';
import { rfc3339Seconds } from '../shared/go-time';
import { parseIp, parseIpRange, rangeContains } from '../shared/ip-range';
import {
  ExprRuntimeError,
  GoDuration,
  goSprintf,
  StructValue,
  T,
  type ExprEnv,
  type ExprSchema,
  type RuntimeFunction,
  type StructSchema,
} from './expr';
import { parseGoFloat } from './expr/builtins';
import { NIL_SLICE } from './expr/runtime';

/**
 * What the decision helpers of profile expressions ask the decisions store. `value` is always an IP or a CIDR: the
 * helpers answer without asking for anything else, as the reference does (pkg/exprhelpers/helpers.go).
 */
export interface DecisionStats {
  /** All decisions ever stored whose range contains `value`. */
  decisionsCount(value: string): Promise<number>;
  /** The same, created within `since` (a Go duration, days prefix allowed, already validated) before now. */
  decisionsSinceCount(value: string, since: string): Promise<number>;
  activeDecisionsCount(value: string): Promise<number>;
  /** Longest remaining time of the active decisions containing `value`, 0 if none. */
  activeDecisionsTimeLeftMs(value: string): Promise<number>;
}

/** A decision as profile expressions see it in `Alert.Decisions` (models.Decision). */
export type EnvDecision = DecisionInput & { readonly simulated?: boolean };

// The Go types of pkg/models, with their Go field names. Pointer fields (*string, *int32) are plain values here.
const META: StructSchema = {
  name: 'Meta',
  goType: '*models.MetaItems0',
  fields: { Key: T.string, Value: T.string },
  methods: {},
};

const EVENT: StructSchema = {
  name: 'Event',
  goType: '*models.Event',
  fields: { Meta: T.array(T.struct(META)), Timestamp: T.string },
  methods: { GetMeta: { params: [T.string], result: T.string } },
};

const SOURCE: StructSchema = {
  name: 'Source',
  goType: '*models.Source',
  fields: {
    AsName: T.string,
    AsNumber: T.string,
    Cn: T.string,
    IP: T.string,
    Latitude: T.float,
    Longitude: T.float,
    Range: T.string,
    Scope: T.string,
    Value: T.string,
  },
  methods: {
    GetValue: { params: [], result: T.string },
    GetScope: { params: [], result: T.string },
    GetAsNumberName: { params: [], result: T.string },
  },
  unsupported: ['String'],
};

const DECISION: StructSchema = {
  name: 'Decision',
  goType: '*models.Decision',
  fields: {
    Duration: T.string,
    Origin: T.string,
    Scenario: T.string,
    Scope: T.string,
    Simulated: T.bool,
    Type: T.string,
    Value: T.string,
  },
  methods: {},
  // Set only once the alert is stored, after the profiles ran.
  unsupported: ['ID', 'UUID', 'Until'],
};

const ALERT: StructSchema = {
  name: 'Alert',
  goType: '*models.Alert',
  fields: {
    Capacity: T.int,
    Decisions: T.array(T.struct(DECISION)),
    Events: T.array(T.struct(EVENT)),
    EventsCount: T.int,
    Kind: T.string,
    Labels: T.array(T.string),
    Leakspeed: T.string,
    Message: T.string,
    Meta: T.array(T.struct(META)),
    Remediation: T.bool,
    Scenario: T.string,
    ScenarioHash: T.string,
    ScenarioVersion: T.string,
    Simulated: T.bool,
    Source: T.struct(SOURCE),
    StartAt: T.string,
    StopAt: T.string,
  },
  methods: {
    GetScope: { params: [], result: T.string },
    GetValue: { params: [], result: T.string },
    GetScenario: { params: [], result: T.string },
    GetEventsCount: { params: [], result: T.int },
    GetMeta: { params: [T.string], result: T.string },
  },
  // Fields the reference has but that AlertInput does not carry (machine, ids, creation time), and helpers that are
  // not on models.Alert (GetSources is on the agent's RuntimeAlert; HasRemediation went after 1.4).
  unsupported: ['CreatedAt', 'ID', 'MachineID', 'UUID', 'GetSources', 'HasRemediation', 'FormatAsStrings'],
};

/**
 * The names profile expressions may use: `Alert` (a models.Alert) and the helpers of pkg/exprhelpers that matter to
 * profiles. Any other helper of the reference (File, JsonExtract, …) is refused at compile time as unsupported.
 */
export const PROFILE_EXPR_SCHEMA: ExprSchema = {
  variables: { Alert: T.struct(ALERT) },
  functions: {
    Sprintf: { params: [T.string], variadic: T.unknown, result: T.string },
    GetDecisionsCount: { params: [T.string], result: T.int },
    GetDecisionsSinceCount: { params: [T.string, T.string], result: T.int },
    GetActiveDecisionsCount: { params: [T.string], result: T.int },
    GetActiveDecisionsTimeLeft: { params: [T.string], result: T.duration },
    IpInRange: { params: [T.string, T.string], result: T.bool },
    IpToRange: { params: [T.string, T.string], result: T.string },
    IsIPV4: { params: [T.string], result: T.bool },
    IsIPV6: { params: [T.string], result: T.bool },
    IsIP: { params: [T.string], result: T.bool },
    Upper: { params: [T.string], result: T.string },
    Lower: { params: [T.string], result: T.string },
    TimeNow: { params: [], result: T.string },
    Atof: { params: [T.string], result: T.float },
    ParseUnix: { params: [T.string], result: T.string },
  },
};

const firstMeta = (meta: readonly MetaItem[], key: string) => meta.find((m) => m.key === key)?.value ?? '';
const metaValue = (m: MetaItem) => new StructValue(META, { Key: m.key, Value: m.value });
const str = (args: readonly unknown[], i: number) => String(args[i]);

function eventValue(event: AlertEvent): StructValue {
  return new StructValue(
    EVENT,
    { Meta: event.meta.map(metaValue), Timestamp: event.timestamp },
    { GetMeta: (args) => firstMeta(event.meta, str(args, 0)) },
  );
}

function sourceValue(source: AlertSource): StructValue {
  const asNumber = source.asNumber ?? '';
  const asName = source.asName ?? '';
  return new StructValue(
    SOURCE,
    {
      AsName: asName,
      AsNumber: asNumber,
      Cn: source.cn ?? '',
      IP: source.ip ?? '',
      Latitude: source.latitude ?? 0,
      Longitude: source.longitude ?? 0,
      Range: source.range ?? '',
      Scope: source.scope,
      Value: source.value,
    },
    {
      GetValue: () => source.value,
      GetScope: () => source.scope,
      // models.Source.GetAsNumberName: the number unless "0", then a space and the name if any.
      GetAsNumberName: () => (asNumber !== '0' ? asNumber : '') + (asName !== '' ? ` ${asName}` : ''),
    },
  );
}

function decisionValue(d: EnvDecision): StructValue {
  return new StructValue(DECISION, {
    Duration: d.duration,
    Origin: d.origin,
    Scenario: d.scenario,
    Scope: d.scope,
    Simulated: d.simulated ?? false,
    Type: d.type,
    Value: d.value,
  });
}

/** `Alert` for one evaluation: the pushed alert, with the decisions it carries at that point of the profile loop. */
function alertValue(alert: AlertInput, decisions: readonly EnvDecision[] | null): StructValue {
  return new StructValue(
    ALERT,
    {
      Capacity: BigInt(alert.capacity),
      Decisions: decisions === null || decisions.length === 0 ? NIL_SLICE : decisions.map(decisionValue),
      Events: alert.events.map(eventValue),
      EventsCount: BigInt(alert.eventsCount),
      Kind: alert.kind ?? '',
      Labels: alert.labels ?? NIL_SLICE,
      Leakspeed: alert.leakspeed,
      Message: alert.message,
      Meta: alert.meta.map(metaValue),
      Remediation: alert.remediation,
      Scenario: alert.scenario,
      ScenarioHash: alert.scenarioHash,
      ScenarioVersion: alert.scenarioVersion,
      Simulated: alert.simulated,
      Source: sourceValue(alert.source),
      StartAt: alert.startAt,
      StopAt: alert.stopAt,
    },
    {
      GetScope: () => alert.source.scope,
      GetValue: () => alert.source.value,
      GetScenario: () => alert.scenario,
      GetEventsCount: () => BigInt(alert.eventsCount),
      GetMeta: (args) => firstMeta(alert.meta, str(args, 0)),
    },
  );
}

/** The values and helpers of {@link PROFILE_EXPR_SCHEMA} for one alert. */
export function profileExprEnv(
  alert: AlertInput,
  decisions: readonly EnvDecision[] | null,
  stats: DecisionStats,
  now: Date,
): ExprEnv {
  return { variables: { Alert: alertValue(alert, decisions) }, functions: helpers(stats, now) };
}

// The reference's helpers count decisions through csnet.NewRange(value), which fails on anything but an IP or a
// CIDR: GetDecisionsCount and GetDecisionsSinceCount then log and answer 0, the "active" ones return the error.
const isIpOrRange = (value: string) => parseIpRange(value) !== null;

function helpers(stats: DecisionStats, now: Date): Record<string, RuntimeFunction> {
  const quietly = async (query: () => Promise<number>): Promise<bigint> => {
    try {
      return BigInt(Math.trunc(await query()));
    } catch {
      return 0n; // helpers.go: "did not return an error before the move to expr.Function"
    }
  };
  const loudly = async <R>(value: string, query: () => Promise<R>): Promise<R> => {
    if (!isIpOrRange(value)) {
      throw new ExprRuntimeError(`unable to convert '${value}' to int: invalid ip address '${value}'`);
    }
    try {
      return await query();
    } catch (e) {
      throw new ExprRuntimeError(`failed to query decisions of '${value}': ${(e as Error).message}`);
    }
  };
  return {
    Sprintf: (args) => goSprintf(str(args, 0), args.slice(1)),
    GetDecisionsCount: async (args) => {
      const value = str(args, 0);
      return isIpOrRange(value) ? quietly(() => stats.decisionsCount(value)) : 0n;
    },
    GetDecisionsSinceCount: async (args) => {
      const value = str(args, 0);
      const since = str(args, 1);
      if (!isIpOrRange(value) || parseGoDuration(since) === null) {
        return 0n;
      }
      return quietly(() => stats.decisionsSinceCount(value, since));
    },
    GetActiveDecisionsCount: async (args) => {
      const value = str(args, 0);
      return BigInt(Math.trunc(await loudly(value, () => stats.activeDecisionsCount(value))));
    },
    GetActiveDecisionsTimeLeft: async (args) => {
      const value = str(args, 0);
      const ms = await loudly(value, () => stats.activeDecisionsTimeLeftMs(value));
      return new GoDuration(BigInt(Math.round(ms * 1e6)));
    },
    IpInRange: (args) => {
      // net.ParseIP and net.ParseCIDR: a bad address or range is just "not in range".
      const ip = parseIp(str(args, 0));
      const range = str(args, 1).includes('/') ? parseIpRange(str(args, 1)) : null;
      return (
        ip !== null && range !== null && rangeContains(range, { family: ip.family, start: ip.value, end: ip.value })
      );
    },
    IpToRange: (args) => ipToRange(str(args, 0), str(args, 1)),
    IsIPV4: (args) => parseIp(str(args, 0))?.family === 4,
    IsIPV6: (args) => parseIp(str(args, 0))?.family === 6,
    IsIP: (args) => parseIp(str(args, 0)) !== null,
    Upper: (args) => str(args, 0).toUpperCase(),
    Lower: (args) => str(args, 0).toLowerCase(),
    TimeNow: () => rfc3339Seconds(now),
    // strconv.ParseFloat's value, errors only logged: 0 for text that is not a number.
    Atof: (args) => parseGoFloat(str(args, 0)) ?? 0,
    ParseUnix: (args) => {
      // Seconds before any fraction; RFC 3339. The reference formats in the server's local zone, this in UTC.
      const seconds = str(args, 0).split('.')[0];
      if (!/^[+-]?\d+$/.test(seconds) || BigInt(seconds) <= 0n || BigInt(seconds) > 8_000_000_000_000n) {
        return '';
      }
      return rfc3339Seconds(new Date(Number(seconds) * 1000));
    },
  };
}

/** exprhelpers.IpToRange: the network of `ip` with a `/mask` or `mask` prefix length, "" when either is invalid. */
function ipToRange(ipText: string, cidr: string): string {
  const maskText = cidr.startsWith('/') ? cidr.slice(1) : cidr;
  const ip = parseIp(ipText);
  if (!/^[+-]?\d+$/.test(maskText) || ip === null) {
    return '';
  }
  const mask = Number(maskText);
  // netip keeps an IPv4-mapped IPv6 address (::ffff:1.2.3.4) an IPv6 one of 128 bits.
  const v6 = ip.family === 6 || ipText.includes(':');
  const bits = v6 ? 128 : 32;
  if (mask < 0 || mask > bits) {
    return '';
  }
  const value = ip.family === 4 && v6 ? (0xffffn << 32n) | ip.value : ip.value;
  const hostMask = (1n << BigInt(bits - mask)) - 1n;
  const network = value & ~hostMask;
  return `${v6 ? formatIpv6(network) : formatIpv4(network)}/${mask}`;
}

const formatIpv4 = (v: bigint) => [24n, 16n, 8n, 0n].map((shift) => String((v >> shift) & 0xffn)).join('.');

/** RFC 5952 text, as Go's netip prints it (`::ffff:a.b.c.d` for IPv4-mapped addresses). */
function formatIpv6(v: bigint): string {
  if (v >> 32n === 0xffffn) {
    return `::ffff:${formatIpv4(v & 0xffffffffn)}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) {
      j++;
    }
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) {
    return hex.join(':');
  }
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
