import { printable } from '@lapi/domain/shared/printable';
import type { AlertResponse } from '@lapi/lapi-contract';
import { table } from './format';
import { csvField } from './output';

// `lapi alerts …` output in cscli 1.4.6's forms (cmd/crowdsec-cli/alerts.go, alerts_table.go), built from the API's
// alert model as cscli builds it.

/** `ban:2 (simul)captcha:1`: each decision type and how many, in the order first seen. */
export function decisionsSummary(alert: AlertResponse): string {
  const counts = new Map<string, number>();
  for (const d of alert.decisions ?? []) {
    const key = d.simulated ? `(simul)${d.type}` : d.type;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([type, n]) => `${type}:${n}`).join(' ');
}

/** `as_number as_name`, as cscli's GetAsNumberName (an AS number "0" is left out). */
const asNumberName = (alert: AlertResponse): string =>
  `${alert.source.as_number && alert.source.as_number !== '0' ? alert.source.as_number : ''}${
    alert.source.as_name ? ` ${alert.source.as_name}` : ''
  }`;

const scopeValue = (scope: string, value: string): string => (value === '' ? scope : `${scope}:${value}`);

/** The columns of `cscli alerts list`; created_at is the alert's start, as cscli shows it. */
const row = (a: AlertResponse, withMachine: boolean, value: string): string[] => [
  String(a.id),
  value,
  a.scenario,
  a.source.cn ?? '',
  asNumberName(a),
  decisionsSummary(a),
  a.start_at,
  ...(withMachine ? [a.machine_id ?? ''] : []),
];

export function alertsTable(alerts: readonly AlertResponse[], withMachine: boolean): string {
  if (alerts.length === 0) {
    return 'No active alerts';
  }
  return table(
    ['ID', 'value', 'reason', 'country', 'as', 'decisions', 'created_at', ...(withMachine ? ['machine'] : [])],
    alerts.map((a) => row(a, withMachine, scopeValue(a.source.scope, a.source.value))),
  );
}

/** `cscli alerts list -o raw`: a header line, then one line per alert. */
export function alertsCsv(alerts: readonly AlertResponse[], withMachine: boolean): string {
  const header = ['id', 'scope', 'value', 'reason', 'country', 'as', 'decisions', 'created_at'];
  const lines = [
    [...header, ...(withMachine ? ['machine'] : [])],
    ...alerts.map((a) => {
      const [id, , ...rest] = row(a, withMachine, '');
      return [id, a.source.scope, a.source.value, ...rest];
    }),
  ];
  // Values are clients': control characters escaped, as in the tables.
  return lines.map((cells) => cells.map((c) => csvField(printable(c))).join(',')).join('\n');
}

/** `cscli alerts inspect ID [-d]` in human form. */
export function alertInspection(a: AlertResponse, details: boolean): string {
  const out = [
    '',
    '#'.repeat(96),
    '',
    ` - ID         : ${a.id}`,
    ` - Date       : ${a.created_at}`,
    ` - Machine    : ${a.machine_id ?? ''}`,
    ` - Simulation : ${a.simulated}`,
    ` - Reason     : ${a.scenario}`,
    ` - Events Count : ${a.events_count}`,
    ` - Scope:Value: ${scopeValue(a.source.scope, a.source.value)}`,
    ` - Country    : ${a.source.cn ?? ''}`,
    ` - AS         : ${a.source.as_name ?? ''}`,
    ` - Begin      : ${a.start_at}`,
    ` - End        : ${a.stop_at}`,
    '',
  ].map(printable);
  // Only the decisions still running: their remaining duration is positive.
  const active = (a.decisions ?? []).filter((d) => !d.duration.startsWith('-'));
  if (active.length > 0) {
    out.push(' - Active Decisions  :');
    out.push(
      table(
        ['ID', 'scope:value', 'action', 'expiration', 'created_at'],
        active.map((d) => [String(d.id), scopeValue(d.scope, d.value), d.type, d.duration, a.created_at]),
      ),
    );
  }
  if (details) {
    out.push('', ' - Events  :');
    for (const event of a.events ?? []) {
      out.push('', `- Date: ${printable(event.timestamp)}`);
      const meta = [...(event.meta ?? [])].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      out.push(
        table(
          ['Key', 'Value'],
          meta.map((m) => [m.key, m.value]),
        ),
      );
    }
  }
  return out.join('\n');
}

/**
 * `cscli alerts inspect -o raw`: the alert as cscli 1.4.6 marshals its Go model with yaml.v2 (field names lowercased,
 * every field shown, nil lists as []); its models have no uuid.
 */
export function alertYamlModel(a: AlertResponse) {
  const s = a.source;
  return {
    capacity: a.capacity,
    createdat: a.created_at,
    decisions: (a.decisions ?? []).map((d) => ({
      duration: d.duration,
      id: d.id,
      origin: d.origin,
      scenario: d.scenario,
      scope: d.scope,
      simulated: d.simulated,
      type: d.type,
      until: '',
      value: d.value,
    })),
    events: (a.events ?? []).map((e) => ({ meta: e.meta ?? [], timestamp: e.timestamp })),
    eventscount: a.events_count,
    id: a.id,
    labels: a.labels ?? [],
    leakspeed: a.leakspeed,
    machineid: a.machine_id ?? '',
    message: a.message,
    meta: a.meta ?? [],
    remediation: a.remediation ?? false,
    scenario: a.scenario,
    scenariohash: a.scenario_hash,
    scenarioversion: a.scenario_version,
    simulated: a.simulated,
    source: {
      asname: s.as_name ?? '',
      asnumber: s.as_number ?? '',
      cn: s.cn ?? '',
      ip: s.ip ?? '',
      latitude: s.latitude ?? 0,
      longitude: s.longitude ?? 0,
      range: s.range ?? '',
      scope: s.scope,
      value: s.value,
    },
    startat: a.start_at,
    stopat: a.stop_at,
  };
}
