import type { AlertInput, DecisionInput, MetaItem } from '../alerts/alert';
import {
  GoFloat32,
  GoInt,
  GoPtr,
  GoSlice,
  GoStruct,
  type FunctionContext,
  type GoMethod,
  type GoTemplate,
  type GoValue,
  type StructType,
} from './template';

// The value a notification `format` is executed on: a []*models.Alert, with the Go field names templates use
// (.Source.IP, .Decisions, .EventsCount) and the JSON names toJson writes (source.ip, decisions, events_count), in
// the field order of pkg/models/alert.go, decision.go, event.go, source.go and meta.go. The fields that the
// current reference added (Alert.Kind, Alert.UUID, Decision.UUID) are omitempty, so they vanish when unset as in
// 1.4.6.

/** A decision as the reference hands it to the plugins: as posted, or as the profile generated it. */
export interface NotificationDecision extends DecisionInput {
  /** models.Decision.Simulated is a *bool: true is kept, anything else is nil (omitted from JSON). */
  readonly simulated?: boolean;
  /** Absent (0, omitted) in what the reference sends: it notifies before it stores. */
  readonly id?: number;
  readonly until?: string;
  readonly uuid?: string;
}

/** One alert of a notification: the alert as received, its decisions, and what the LAPI adds. */
export interface NotificationAlert {
  readonly alert: Omit<AlertInput, 'decisions'>;
  /** null when the alert has none (`"decisions": null`), as an alert that matched a profile without decisions. */
  readonly decisions: readonly NotificationDecision[] | null;
  /** The machine that pushed the alert (the reference sets it from the JWT before notifying). */
  readonly machineId: string;
  /** The reference notifies before storing, so its alerts have no id (0, omitted); give one to show it. */
  readonly id?: number;
  /** As the agent sent it; omitted when empty. */
  readonly createdAt?: string;
  readonly uuid?: string;
}

const field = (name: string, json: string, omitempty = false) => ({ name, json, omitempty });
const str = (v: string | undefined) => new GoPtr('string', v);
const int32 = (v: number) => new GoPtr('int32', new GoInt('int32', BigInt(Math.trunc(v))));
const strings = (v: GoValue | undefined) =>
  typeof v === 'string' ? v : v instanceof GoPtr ? (v.target as string) : '';

const META_ITEM: StructType = {
  name: 'models.MetaItems0',
  fields: [field('Key', 'key', true), field('Value', 'value', true)],
};

/** models.Meta's first value for a key, as Alert.GetMeta and Event.GetMeta return it. */
const getMeta: GoMethod = {
  params: ['string'],
  call: (receiver, [key]) => {
    const meta = receiver.fields.Meta;
    for (const item of meta instanceof GoSlice ? (meta.items ?? []) : []) {
      const s = item instanceof GoPtr ? item.target : undefined;
      if (s instanceof GoStruct && s.fields.Key === key) {
        return s.fields.Value;
      }
    }
    return '';
  },
};

const EVENT: StructType = {
  name: 'models.Event',
  fields: [field('Meta', 'meta'), field('Timestamp', 'timestamp')],
  methods: { GetMeta: getMeta },
};

const sourceValue = (s: GoStruct, name: 'Scope' | 'Value') => strings(s.fields[name]);

const SOURCE: StructType = {
  name: 'models.Source',
  fields: [
    field('AsName', 'as_name', true),
    field('AsNumber', 'as_number', true),
    field('Cn', 'cn', true),
    field('IP', 'ip', true),
    field('Latitude', 'latitude', true),
    field('Longitude', 'longitude', true),
    field('Range', 'range', true),
    field('Scope', 'scope'),
    field('Value', 'value'),
  ],
  methods: {
    GetValue: { params: [], call: (s) => sourceValue(s, 'Value') },
    GetScope: { params: [], call: (s) => sourceValue(s, 'Scope') },
    GetAsNumberName: {
      params: [],
      call: (s) => {
        const number = strings(s.fields.AsNumber);
        const name = strings(s.fields.AsName);
        return (number !== '0' ? number : '') + (name !== '' ? ` ${name}` : '');
      },
    },
  },
  // (*Source).String of the current reference (pkg/models/helpers.go); 1.4.6 printed the struct's addresses.
  stringer: (s) => {
    const scope = sourceValue(s, 'Scope');
    if (scope === '') {
      return 'empty source';
    }
    let cn = strings(s.fields.Cn);
    const asNumber = strings(s.fields.AsNumber);
    if (asNumber !== '') {
      cn += `/${asNumber}`;
    }
    if (cn !== '') {
      cn = ` (${cn})`;
    }
    const value = sourceValue(s, 'Value');
    return scope === 'Ip' ? `ip ${value}${cn}` : scope === 'Range' ? `range ${value}${cn}` : `${scope} ${value}`;
  },
};

const DECISION: StructType = {
  name: 'models.Decision',
  fields: [
    field('Duration', 'duration'),
    field('ID', 'id', true),
    field('Origin', 'origin'),
    field('Scenario', 'scenario'),
    field('Scope', 'scope'),
    field('Simulated', 'simulated', true),
    field('Type', 'type'),
    field('Until', 'until', true),
    field('UUID', 'uuid', true),
    field('Value', 'value'),
  ],
};

const ALERT: StructType = {
  name: 'models.Alert',
  fields: [
    field('Capacity', 'capacity'),
    field('CreatedAt', 'created_at', true),
    field('Decisions', 'decisions'),
    field('Events', 'events'),
    field('EventsCount', 'events_count'),
    field('ID', 'id', true),
    field('Kind', 'kind', true),
    field('Labels', 'labels'),
    field('Leakspeed', 'leakspeed'),
    field('MachineID', 'machine_id', true),
    field('Message', 'message'),
    field('Meta', 'meta', true),
    field('Remediation', 'remediation', true),
    field('Scenario', 'scenario'),
    field('ScenarioHash', 'scenario_hash'),
    field('ScenarioVersion', 'scenario_version'),
    field('Simulated', 'simulated'),
    field('Source', 'source'),
    field('StartAt', 'start_at'),
    field('StopAt', 'stop_at'),
    field('UUID', 'uuid', true),
  ],
  methods: {
    GetScope: { params: [], call: (a) => sourceOf(a, 'Scope') },
    GetValue: { params: [], call: (a) => sourceOf(a, 'Value') },
    GetScenario: { params: [], call: (a) => strings(a.fields.Scenario) },
    GetEventsCount: {
      params: [],
      call: (a) => {
        const count = a.fields.EventsCount;
        return count instanceof GoPtr && count.target !== undefined ? count.target : new GoInt('int32', 0n);
      },
    },
    GetMeta: getMeta,
    HasRemediation: { params: [], call: () => true }, // 1.4.6 has it, always true
  },
};

const sourceOf = (a: GoStruct, name: 'Scope' | 'Value') => {
  const source = a.fields.Source;
  return source instanceof GoPtr && source.target instanceof GoStruct ? sourceValue(source.target, name) : '';
};

const meta = (items: readonly MetaItem[]) =>
  new GoSlice(
    '*models.MetaItems0',
    items.map((m) => new GoPtr(META_ITEM.name, new GoStruct(META_ITEM, { Key: m.key, Value: m.value }))),
    'models.Meta',
  );

function decision(d: NotificationDecision): GoPtr {
  return new GoPtr(
    DECISION.name,
    new GoStruct(DECISION, {
      Duration: str(d.duration),
      ID: new GoInt('int64', BigInt(d.id ?? 0)),
      Origin: str(d.origin),
      Scenario: str(d.scenario),
      Scope: str(d.scope),
      Simulated: new GoPtr('bool', d.simulated === true ? true : undefined),
      Type: str(d.type),
      Until: d.until ?? '',
      UUID: d.uuid ?? '',
      Value: str(d.value),
    }),
  );
}

/** One alert as the *models.Alert the reference's templates receive. */
export function toModelAlert(n: NotificationAlert): GoPtr {
  const a = n.alert;
  const s = a.source;
  const source = new GoStruct(SOURCE, {
    AsName: s.asName ?? '',
    AsNumber: s.asNumber ?? '',
    Cn: s.cn ?? '',
    IP: s.ip ?? '',
    Latitude: new GoFloat32(s.latitude ?? 0),
    Longitude: new GoFloat32(s.longitude ?? 0),
    Range: s.range ?? '',
    Scope: str(s.scope),
    Value: str(s.value),
  });
  return new GoPtr(
    ALERT.name,
    new GoStruct(ALERT, {
      Capacity: int32(a.capacity),
      CreatedAt: n.createdAt ?? '',
      Decisions: new GoSlice('*models.Decision', n.decisions === null ? null : n.decisions.map(decision)),
      Events: new GoSlice(
        '*models.Event',
        a.events.map(
          (e) => new GoPtr(EVENT.name, new GoStruct(EVENT, { Meta: meta(e.meta), Timestamp: str(e.timestamp) })),
        ),
      ),
      EventsCount: int32(a.eventsCount),
      ID: new GoInt('int64', BigInt(n.id ?? 0)),
      Kind: a.kind ?? '',
      Labels: new GoSlice('string', a.labels === null ? null : [...a.labels]),
      Leakspeed: str(a.leakspeed),
      MachineID: n.machineId,
      Message: str(a.message),
      Meta: meta(a.meta),
      Remediation: a.remediation,
      Scenario: str(a.scenario),
      ScenarioHash: str(a.scenarioHash),
      ScenarioVersion: str(a.scenarioVersion),
      Simulated: new GoPtr('bool', a.simulated),
      Source: new GoPtr(SOURCE.name, source),
      StartAt: str(a.startAt),
      StopAt: str(a.stopAt),
      UUID: n.uuid ?? '',
    }),
  );
}

/** The []*models.Alert a notification's template is executed on. */
export const toModelAlerts = (alerts: readonly NotificationAlert[]): GoSlice =>
  new GoSlice('*models.Alert', alerts.map(toModelAlert));

/** FormatAlerts: the text of one notification for a batch of alerts. */
export const formatAlerts = (
  format: GoTemplate,
  alerts: readonly NotificationAlert[],
  context?: FunctionContext,
): string => format.render(toModelAlerts(alerts), context);
