import type { ColumnType, Generated } from 'kysely';

// The schema as the migrations leave it. Adapters only: these types never leave libs/event-store and libs/read-models.

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** int8/xid8 columns arrive as strings (postgres.js) or numbers (PGlite); adapters normalise with BigInt(). */
type Int8 = ColumnType<string, string, string>;

export interface EventsTable {
  global_position: Generated<string>;
  transaction_id: Generated<string>;
  stream_id: string;
  stream_version: Int8;
  type: string;
  data: ColumnType<unknown, string, string>;
  metadata: ColumnType<unknown, string, string>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface StreamsTable {
  stream_id: string;
  version: Int8;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface MachinesTable {
  machine_id: string;
  password_hash: string;
  ip_address: string;
  auth_type: string;
  is_validated: boolean;
  version: string | null;
  scenarios: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_push: Timestamp | null;
  last_heartbeat: Timestamp | null;
}

export interface BouncersTable {
  name: string;
  api_key_hash: string;
  auth_type: ColumnType<string, string | undefined, string>;
  ip_address: string;
  type: string;
  version: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_pull: Timestamp | null;
  instances: ColumnType<unknown, string | undefined, string>;
}

export interface AlertsTable {
  id: string;
  uuid: string;
  machine_id: string;
  created_at: Timestamp;
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  message: string;
  events_count: number;
  start_at: Timestamp;
  stop_at: Timestamp;
  capacity: number;
  leakspeed: string;
  simulated: boolean;
  remediation: boolean;
  source_scope: string;
  source_value: string;
  source_ip: string | null;
  source_range: string | null;
  source_as_number: string | null;
  source_as_name: string | null;
  source_cn: string | null;
  source_latitude: number | null;
  source_longitude: number | null;
  kind: string | null;
  events: ColumnType<unknown, string, string>;
  meta: ColumnType<unknown, string, string>;
}

export interface DecisionsTable {
  id: string;
  uuid: string;
  alert_id: string;
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  simulated: boolean;
  until: Timestamp;
  created_at: Timestamp;
  ip_family: number | null;
  ip_start: string | null;
  ip_end: string | null;
  created_xid: Generated<string>;
  changed_xid: string | null;
  removed: Generated<boolean>;
}

export interface BouncerCursorsTable {
  bouncer: string;
  snapshot: string;
  pulled_at: Timestamp;
}

export interface BouncerLookupsTable {
  bouncer: string;
  looked_up_at: Timestamp;
}

export interface AllowlistsTable {
  name: string;
  description: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AllowlistItemsTable {
  allowlist: string;
  value: string;
  description: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  ip_family: number;
  ip_start: string;
  ip_end: string;
}

/** A bigint counter with a default: as Int8, optional on insert. */
type Counter = ColumnType<string, string | undefined, string>;

export interface NotificationPipelineTable {
  name: string;
  checkpoint: string;
  owner: string | null;
  owner_at: Timestamp | null;
}

export interface NotificationQueueTable {
  seq: Generated<string>;
  id: string;
  plugin: string;
  profile: string;
  alert: ColumnType<unknown, string, string>;
  enqueued_at: Timestamp;
}

export interface NotificationDeliveriesTable {
  id: string;
  plugin: string;
  data: ColumnType<unknown, string, string>;
  attempts_made: Generated<number>;
  created_at: Timestamp;
  due_at: Timestamp;
  claimed_by: string | null;
}

export interface NotificationPluginsTable {
  plugin: string;
  enqueued: Counter;
  delivered: Counter;
  failed_attempts: Counter;
  dead_lettered: Counter;
  last_flush_at: Timestamp | null;
  last_delivered_at: Timestamp | null;
  last_status: string | null;
  last_error: string | null;
  last_error_at: Timestamp | null;
}

export interface NotificationDeadLettersTable {
  seq: Generated<string>;
  plugin: string;
  job: string;
  alerts: number;
  attempts: number;
  reason: string;
  at: Timestamp;
}

/** One usage report (POST /v1/usage-metrics) of a bouncer or machine, until it expires. */
export interface UsageMetricsTable {
  id: Generated<string>;
  kind: string;
  name: string;
  received_at: Timestamp;
  expires_at: Timestamp;
  report: ColumnType<unknown, string, string>;
}

export interface DB {
  notification_pipeline: NotificationPipelineTable;
  notification_queue: NotificationQueueTable;
  notification_deliveries: NotificationDeliveriesTable;
  notification_plugins: NotificationPluginsTable;
  notification_dead_letters: NotificationDeadLettersTable;
  alerts: AlertsTable;
  decisions: DecisionsTable;
  bouncer_cursors: BouncerCursorsTable;
  bouncer_lookups: BouncerLookupsTable;
  events: EventsTable;
  streams: StreamsTable;
  machines: MachinesTable;
  bouncers: BouncersTable;
  allowlists: AllowlistsTable;
  allowlist_items: AllowlistItemsTable;
  usage_metrics: UsageMetricsTable;
}
