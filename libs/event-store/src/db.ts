import type { ColumnType, Generated } from 'kysely';

// The schema as the migrations leave it. Adapters only: these types never leave libs/event-store and libs/projections.

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
  ip_address: string;
  type: string;
  version: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_pull: Timestamp | null;
}

export interface DB {
  events: EventsTable;
  streams: StreamsTable;
  machines: MachinesTable;
  bouncers: BouncersTable;
}
