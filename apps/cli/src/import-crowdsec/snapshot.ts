import type { CrowdsecSnapshot } from '@lapi/application/crowdsec-import/crowdsec-import';
import type { AlertEvent, AlertSource, MetaItem } from '@lapi/domain/alerts/alert';
import type { CrowdsecAlert, CrowdsecDecision } from '@lapi/domain/alerts/import-alert';
import type { ImportedBouncer } from '@lapi/domain/bouncers/bouncer.events';
import type { ImportedMachine } from '@lapi/domain/machines/machine.events';
import { normalizeScope } from '@lapi/domain/shared/scope';
import { createHash } from 'node:crypto';
import type { Row, SourceDb } from './source-db';

/** The machine named on imported alerts that had no owner in the source (an alert of a deleted machine). */
export const UNOWNED_ALERT_MACHINE = 'lapi-import';

// Ids per `in (…)` list: SQLite allows 32,766 parameters since 3.32, PostgreSQL 65,535.
const CHUNK = 5_000;

/**
 * What to import from a CrowdSec database (1.4 to 1.7 schemas): every machine and bouncer, the alerts holding a
 * decision still active at `now` (with those decisions, their events and meta), and the allowlists (≥1.6) with their
 * items not yet expired.
 */
export async function readSnapshot(source: SourceDb, now: Date): Promise<CrowdsecSnapshot> {
  const tables = await source.tables();
  for (const table of ['machines', 'bouncers', 'alerts', 'decisions']) {
    if (!tables.has(table)) {
      throw new Error(`not a CrowdSec database: it has no '${table}' table`);
    }
  }
  const machineRows = await source.all('select * from machines order by id');
  const machines = machineRows.map(toMachine);
  const machineNames = new Map(machineRows.map((r) => [text(r.id), text(r.machine_id)]));
  const bouncers = (await source.all('select * from bouncers order by id')).map(toBouncer);

  const active = (
    await source.all(
      'select id, until, scenario, type, scope, value, origin, simulated, alert_decisions from decisions ' +
        'where alert_decisions is not null order by id',
    )
  ).filter((d) => {
    const until = time(d.until);
    return until !== null && Date.parse(until) > now.getTime();
  });
  const decisionsByAlert = groupBy(active, 'alert_decisions');
  const alertIds = [...decisionsByAlert.keys()];
  const alertRows = await inChunks(source, 'select * from alerts where id in (?) order by id', alertIds);
  const events = groupBy(
    await inChunks(
      source,
      'select time, serialized, alert_events from events where alert_events in (?) order by id',
      alertIds,
    ),
    'alert_events',
  );
  const metas = groupBy(
    await inChunks(
      source,
      'select "key", "value", alert_metas from meta where alert_metas in (?) order by id',
      alertIds,
    ),
    'alert_metas',
  );
  const alerts = alertRows.map((row) =>
    toAlert(row, {
      machine:
        row.machine_alerts === null || row.machine_alerts === undefined
          ? UNOWNED_ALERT_MACHINE
          : (machineNames.get(text(row.machine_alerts)) ?? UNOWNED_ALERT_MACHINE),
      decisions: decisionsByAlert.get(text(row.id)) ?? [],
      events: events.get(text(row.id)) ?? [],
      meta: metas.get(text(row.id)) ?? [],
    }),
  );

  const allowlists: CrowdsecSnapshot['allowlists'][number][] = [];
  if (tables.has('allow_lists') && tables.has('allow_list_items') && tables.has('allow_list_allowlist_items')) {
    const items = await source.all(
      'select l.allow_list_id, i.value, i.comment, i.expires_at from allow_list_allowlist_items l ' +
        'join allow_list_items i on i.id = l.allow_list_item_id order by i.id',
    );
    const byList = groupBy(items, 'allow_list_id');
    for (const list of await source.all('select id, name, description from allow_lists order by id')) {
      allowlists.push({
        name: text(list.name),
        description: text(list.description),
        items: (byList.get(text(list.id)) ?? [])
          .map((i) => ({ value: text(i.value), description: text(i.comment), expiresAt: time(i.expires_at) }))
          .filter((i) => i.expiresAt === null || Date.parse(i.expiresAt) > now.getTime()),
      });
    }
  }
  return { machines, bouncers, alerts, allowlists };
}

function toMachine(r: Row): ImportedMachine {
  return {
    machineId: text(r.machine_id),
    passwordHash: text(r.password),
    ipAddress: text(r.ip_address),
    authType: r.auth_type === 'tls' ? 'tls' : 'password',
    validated: bool(r.is_validated),
    version: text(r.version) || null,
    scenarios: text(r.scenarios) || null,
    createdAt: time(r.created_at) ?? new Date(0).toISOString(),
    lastPush: time(r.last_push),
    lastHeartbeat: time(r.last_heartbeat),
  };
}

function toBouncer(r: Row): ImportedBouncer {
  return {
    name: text(r.name),
    apiKeyHash: text(r.api_key),
    authType: r.auth_type === 'tls' ? 'tls' : 'api-key',
    ipAddress: text(r.ip_address),
    type: text(r.type),
    version: text(r.version),
    createdAt: time(r.created_at) ?? new Date(0).toISOString(),
    lastPull: time(r.last_pull),
  };
}

function toAlert(r: Row, related: { machine: string; decisions: Row[]; events: Row[]; meta: Row[] }): CrowdsecAlert {
  const createdAt = time(r.created_at) ?? new Date(0).toISOString();
  const startAt = time(r.started_at) ?? createdAt;
  const source: AlertSource = {
    scope: normalizeScope(text(r.source_scope)),
    value: text(r.source_value),
    ...optional('ip', r.source_ip),
    ...optional('range', r.source_range),
    ...optional('asNumber', r.source_as_number),
    ...optional('asName', r.source_as_name),
    ...optional('cn', r.source_country),
    ...(typeof r.source_latitude === 'number' && { latitude: r.source_latitude }),
    ...(typeof r.source_longitude === 'number' && { longitude: r.source_longitude }),
  };
  const decisions: CrowdsecDecision[] = related.decisions.map((d) => ({
    origin: text(d.origin),
    type: text(d.type),
    scope: normalizeScope(text(d.scope)),
    value: text(d.value),
    scenario: text(d.scenario),
    simulated: bool(d.simulated),
    until: time(d.until)!,
  }));
  const events: AlertEvent[] = related.events.map((e) => ({
    timestamp: time(e.time) ?? createdAt,
    meta: metaItems(e.serialized),
  }));
  const meta: MetaItem[] = related.meta.map((m) => ({ key: text(m.key), value: text(m.value) }));
  return {
    uuid: text(r.uuid) || importKey(r),
    machineId: related.machine,
    createdAt,
    alert: {
      scenario: text(r.scenario),
      scenarioHash: text(r.scenario_hash),
      scenarioVersion: text(r.scenario_version),
      message: text(r.message),
      eventsCount: Number(r.events_count ?? 0),
      startAt,
      stopAt: time(r.stopped_at) ?? startAt,
      capacity: Number(r.capacity ?? 0),
      leakspeed: text(r.leak_speed),
      simulated: bool(r.simulated),
      // 1.4 does not keep it; an alert that holds decisions had them applied.
      remediation: true,
      events,
      source,
      meta,
      labels: null,
    },
    decisions,
  };
}

/**
 * An alert without a uuid (before 1.6) is known by its row: the same row gives the same key, so a second import of
 * the same database finds it. Shaped as a UUID (version nibble 8: custom), like the uuids of alerts made here.
 */
function importKey(r: Row): string {
  const h = createHash('sha256')
    .update(
      [
        'crowdsec-alert',
        text(r.id),
        r.created_at instanceof Date ? r.created_at.toISOString() : text(r.created_at),
        text(r.scenario),
      ].join('\0'),
    )
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** An event's `serialized` column: its meta as a JSON array of {key, value} (pkg/database/alerts.go). */
function metaItems(serialized: unknown): MetaItem[] {
  try {
    const parsed = JSON.parse(text(serialized)) as unknown;
    return Array.isArray(parsed)
      ? parsed.flatMap((m: { key?: unknown; value?: unknown }) =>
          m && typeof m.key === 'string'
            ? [{ key: m.key, value: typeof m.value === 'string' ? m.value : text(m.value) }]
            : [],
        )
      : [];
  } catch {
    return [];
  }
}

const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : '';
const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't' || v === 'true';
const optional = (key: keyof AlertSource, v: unknown) => (text(v) === '' ? {} : { [key]: text(v) });

/**
 * A time as the driver gives it, as ISO (null when absent or Go's zero time): a Date from PostgreSQL, text from
 * SQLite as Go's driver writes it (`2026-12-08 00:51:43.979971273+00:00`).
 */
export function time(v: unknown): string | null {
  if (v === null || v === undefined || v === '') {
    return null;
  }
  if (v instanceof Date) {
    return Number.isNaN(v.getTime()) || v.getUTCFullYear() <= 1 ? null : v.toISOString();
  }
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?/.exec(text(v).trim());
  if (!m) {
    return null;
  }
  const ms = (m[3] ?? '').padEnd(3, '0').slice(0, 3);
  const zone = !m[4] || m[4] === 'Z' ? 'Z' : m[4].includes(':') ? m[4] : `${m[4].slice(0, 3)}:${m[4].slice(3)}`;
  const parsed = new Date(`${m[1]}T${m[2]}.${ms}${zone}`);
  return Number.isNaN(parsed.getTime()) || parsed.getUTCFullYear() <= 1 ? null : parsed.toISOString();
}

function groupBy(rows: readonly Row[], key: string): Map<string, Row[]> {
  const map = new Map<string, Row[]>();
  for (const row of rows) {
    const k = text(row[key]);
    const list = map.get(k);
    if (list) {
      list.push(row);
    } else {
      map.set(k, [row]);
    }
  }
  return map;
}

/** `sql` with `in (?)` expanded to one chunk of ids at a time. */
async function inChunks(source: SourceDb, sql: string, ids: readonly string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (let from = 0; from < ids.length; from += CHUNK) {
    const part = ids.slice(from, from + CHUNK);
    const numeric = part.map(Number);
    rows.push(...(await source.all(sql.replace('(?)', `(${part.map(() => '?').join(', ')})`), numeric)));
  }
  return rows;
}
