import type { AlertEvent, IpRange, MetaItem } from '@lapi/domain';
import type { DB } from '@lapi/event-store';
import { sql, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import { containment, type DecisionView } from '../decisions/sql/decision-queries';

/** Filters of GET/DELETE /v1/alerts (reference §3.6), already parsed. */
export interface AlertFilter {
  readonly scope?: string;
  readonly value?: string;
  readonly scenario?: string;
  readonly ip?: IpRange;
  readonly range?: IpRange;
  readonly contains: boolean;
  /** start_at ≥ since */
  readonly since?: Date;
  /** start_at ≤ until */
  readonly until?: Date;
  readonly createdBefore?: Date;
  readonly decisionType?: string;
  readonly origin?: string;
  /** false: hide community-blocklist and list alerts (reference ≥1.5.4). */
  readonly includeCapi: boolean;
  /** true: has a decision still active; false: has no decisions at all. */
  readonly hasActiveDecision?: boolean;
  /** false: exclude simulated alerts. */
  readonly simulated?: false;
  readonly kind?: string;
}

export interface AlertView {
  readonly id: number;
  readonly uuid: string;
  readonly machineId: string;
  readonly createdAt: Date;
  readonly scenario: string;
  readonly scenarioHash: string;
  readonly scenarioVersion: string;
  readonly message: string;
  readonly eventsCount: number;
  readonly startAt: Date;
  readonly stopAt: Date;
  readonly capacity: number;
  readonly leakspeed: string;
  readonly simulated: boolean;
  readonly remediation: boolean;
  readonly source: {
    scope: string;
    value: string;
    ip: string | null;
    range: string | null;
    asNumber: string | null;
    asName: string | null;
    cn: string | null;
    latitude: number | null;
    longitude: number | null;
  };
  readonly kind: string | null;
  readonly events: AlertEvent[];
  readonly meta: MetaItem[];
  readonly decisions: DecisionView[];
}

const hasDecision = (
  eb: ExpressionBuilder<DB, 'alerts'>,
  where: (eb: ExpressionBuilder<DB, 'decisions'>) => ReturnType<ExpressionBuilder<DB, 'decisions'>['and']>,
) =>
  eb.exists(
    eb
      .selectFrom('decisions')
      .select(sql`1`.as('one'))
      .whereRef('decisions.alert_id', '=', 'alerts.id')
      .where(where),
  );

/** The ids of the alerts a filter selects, newest first unless `sort` says ASC; limit 0 = all. */
export async function findAlertIds(
  db: Kysely<DB>,
  f: AlertFilter,
  options: { now: Date; limit: number; sort: 'ASC' | 'DESC' },
): Promise<number[]> {
  let q = db.selectFrom('alerts').select('alerts.id');
  if (f.scope !== undefined) {
    q = q.where('alerts.source_scope', '=', f.scope);
  }
  if (f.value !== undefined) {
    q = q.where('alerts.source_value', '=', f.value);
  }
  if (f.scenario !== undefined) {
    const scenario = f.scenario;
    // ≥1.7.0: the alert's own scenario, or one of its decisions'.
    q = q.where((eb) =>
      eb.or([
        eb('alerts.scenario', '=', scenario),
        hasDecision(eb, (d) => d.and([d('decisions.scenario', '=', scenario)])),
      ]),
    );
  }
  for (const target of [f.ip, f.range]) {
    if (target) {
      q = q.where((eb) => hasDecision(eb, (d) => d.and([containment(target, f.contains)(d)])));
    }
  }
  if (f.since) {
    q = q.where('alerts.start_at', '>=', f.since);
  }
  if (f.until) {
    q = q.where('alerts.start_at', '<=', f.until);
  }
  if (f.createdBefore) {
    q = q.where('alerts.created_at', '<=', f.createdBefore);
  }
  if (f.decisionType !== undefined) {
    const type = f.decisionType;
    q = q.where((eb) => hasDecision(eb, (d) => d.and([d('decisions.type', '=', type)])));
  }
  if (f.origin !== undefined) {
    const origin = f.origin;
    q = q.where((eb) => hasDecision(eb, (d) => d.and([d('decisions.origin', '=', origin)])));
  } else if (!f.includeCapi) {
    q = q.where((eb) =>
      eb.and([
        eb.not(hasDecision(eb, (d) => d.and([d('decisions.origin', 'in', ['CAPI', 'lists'])]))),
        eb('alerts.source_scope', '!=', 'crowdsecurity/community-blocklist'),
        eb.not(eb('alerts.source_scope', 'like', 'lists:%')),
      ]),
    );
  }
  if (f.hasActiveDecision === true) {
    const now = options.now;
    q = q.where((eb) =>
      hasDecision(eb, (d) => d.and([d('decisions.until', '>=', now), d('decisions.removed', '=', false)])),
    );
  } else if (f.hasActiveDecision === false) {
    q = q.where((eb) => eb.not(hasDecision(eb, (d) => d.and([]))));
  }
  if (f.simulated === false) {
    q = q.where('alerts.simulated', '=', false);
  }
  if (f.kind !== undefined) {
    q = q.where('alerts.kind', '=', f.kind);
  }
  q =
    options.sort === 'ASC'
      ? q.orderBy('alerts.created_at', 'asc').orderBy('alerts.id', 'asc')
      : q.orderBy('alerts.created_at', 'desc').orderBy('alerts.id', 'desc');
  if (options.limit > 0) {
    q = q.limit(options.limit);
  }
  const rows = await q.execute();
  return rows.map((r) => Number(r.id));
}

/** Full alerts, in the order of `ids`. */
export async function loadAlerts(db: Kysely<DB>, ids: readonly number[], withDecisions = true): Promise<AlertView[]> {
  if (ids.length === 0) {
    return [];
  }
  const keys = ids.map(String);
  const [alerts, decisions] = await Promise.all([
    db
      .selectFrom('alerts')
      .selectAll()
      .where(sql<boolean>`id = any(${keys}::bigint[])`)
      .execute(),
    withDecisions
      ? db
          .selectFrom('decisions')
          .select(['id', 'uuid', 'alert_id', 'origin', 'type', 'scope', 'value', 'scenario', 'simulated', 'until'])
          .where(sql<boolean>`alert_id = any(${keys}::bigint[])`)
          .orderBy('id')
          .execute()
      : Promise.resolve([]),
  ]);
  const byAlert = new Map<string, DecisionView[]>();
  for (const d of decisions) {
    const list = byAlert.get(String(d.alert_id)) ?? [];
    list.push({ ...d, id: Number(d.id), until: new Date(d.until) });
    byAlert.set(String(d.alert_id), list);
  }
  const byId = new Map(alerts.map((a) => [String(a.id), a]));
  return keys.flatMap((k) => {
    const row = byId.get(k);
    return row ? [toAlertView(row, byAlert.get(k) ?? [])] : [];
  });
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

const toAlertView = (r: Selectable<DB['alerts']>, decisions: DecisionView[]): AlertView => ({
  id: Number(r.id),
  uuid: r.uuid,
  machineId: r.machine_id,
  createdAt: new Date(r.created_at),
  scenario: r.scenario,
  scenarioHash: r.scenario_hash,
  scenarioVersion: r.scenario_version,
  message: r.message,
  eventsCount: r.events_count,
  startAt: new Date(r.start_at),
  stopAt: new Date(r.stop_at),
  capacity: r.capacity,
  leakspeed: r.leakspeed,
  simulated: r.simulated,
  remediation: r.remediation,
  source: {
    scope: r.source_scope,
    value: r.source_value,
    ip: r.source_ip,
    range: r.source_range,
    asNumber: r.source_as_number,
    asName: r.source_as_name,
    cn: r.source_cn,
    latitude: r.source_latitude,
    longitude: r.source_longitude,
  },
  kind: r.kind,
  events: json<AlertEvent[]>(r.events),
  meta: json<MetaItem[]>(r.meta),
  decisions,
});
