import { type Bouncer, type BouncerState } from '@lapi/domain/bouncers/bouncer';
import { bouncerStreamId } from '@lapi/domain/bouncers/bouncer.events';
import { type MachineState } from '@lapi/domain/machines/machine';
import { machineStreamId } from '@lapi/domain/machines/machine.events';
import type { DB, ExpectedVersion } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';
import { toBouncer } from '../bouncers/bouncers.projection';
import { toMachine } from '../machines/machines.projection';

/** A read-model row is the aggregate's snapshot; the stream's version comes in the same statement, so both agree. */
export interface Loaded<S> {
  readonly state: S;
  readonly version: ExpectedVersion;
}

export async function loadMachineAggregate(db: Kysely<DB>, machineId: string): Promise<Loaded<MachineState>> {
  const row = await db
    .selectFrom(sql`(select 1)`.as('one'))
    .leftJoin('machines', (join) => join.on('machines.machine_id', '=', machineId))
    .selectAll('machines')
    .select((eb) =>
      eb
        .selectFrom('streams')
        .select('version')
        .where('stream_id', '=', machineStreamId(machineId))
        .as('stream_version'),
    )
    .executeTakeFirstOrThrow();
  return {
    state: row.machine_id === null ? null : toMachine(row as Parameters<typeof toMachine>[0]),
    version: row.stream_version === null ? 'no_stream' : BigInt(row.stream_version),
  };
}

export async function loadBouncerAggregate(db: Kysely<DB>, name: string): Promise<Loaded<BouncerState>> {
  const row = await db
    .selectFrom(sql`(select 1)`.as('one'))
    .leftJoin('bouncers', (join) => join.on('bouncers.name', '=', name))
    .selectAll('bouncers')
    .select((eb) =>
      eb.selectFrom('streams').select('version').where('stream_id', '=', bouncerStreamId(name)).as('stream_version'),
    )
    .executeTakeFirstOrThrow();
  return {
    state: row.name === null ? null : toBouncer(row as Parameters<typeof toBouncer>[0]),
    version: row.stream_version === null ? 'no_stream' : BigInt(row.stream_version),
  };
}

// Bind parameters per statement stay far below PostgreSQL's 65,535 whatever the list's length.
const CHUNK = 5_000;

/**
 * Many bouncers at once (bulk admin commands), in the order of `names`. Rows and versions are read in one
 * repeatable-read snapshot, so each pair agrees as loadBouncerAggregate's single statement does.
 */
export async function loadBouncerAggregates(db: Kysely<DB>, names: readonly string[]): Promise<Loaded<BouncerState>[]> {
  const rows = new Map<string, BouncerState>();
  const versions = new Map<string, bigint>();
  await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      for (let from = 0; from < names.length; from += CHUNK) {
        const part = names.slice(from, from + CHUNK);
        for (const row of await trx.selectFrom('bouncers').selectAll().where('name', 'in', part).execute()) {
          rows.set(row.name, toBouncer(row));
        }
        const streams = await trx
          .selectFrom('streams')
          .select(['stream_id', 'version'])
          .where('stream_id', 'in', part.map(bouncerStreamId))
          .execute();
        for (const s of streams) {
          versions.set(s.stream_id, BigInt(s.version));
        }
      }
    });
  return names.map((name) => ({
    state: rows.get(name) ?? null,
    version: versions.get(bouncerStreamId(name)) ?? 'no_stream',
  }));
}

/** The bouncers holding any of these key hashes. */
export async function findBouncersByKeyHashes(db: Kysely<DB>, hashes: readonly string[]): Promise<Bouncer[]> {
  const found: Bouncer[] = [];
  for (let from = 0; from < hashes.length; from += CHUNK) {
    const part = hashes.slice(from, from + CHUNK);
    found.push(
      ...(await db.selectFrom('bouncers').selectAll().where('api_key_hash', 'in', part).execute()).map(toBouncer),
    );
  }
  return found;
}

/** Many machines at once (bulk admin commands), in the order of `ids`, read as loadBouncerAggregates reads. */
export async function loadMachineAggregates(db: Kysely<DB>, ids: readonly string[]): Promise<Loaded<MachineState>[]> {
  const rows = new Map<string, MachineState>();
  const versions = new Map<string, bigint>();
  await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      for (let from = 0; from < ids.length; from += CHUNK) {
        const part = ids.slice(from, from + CHUNK);
        for (const row of await trx.selectFrom('machines').selectAll().where('machine_id', 'in', part).execute()) {
          rows.set(row.machine_id, toMachine(row));
        }
        const streams = await trx
          .selectFrom('streams')
          .select(['stream_id', 'version'])
          .where('stream_id', 'in', part.map(machineStreamId))
          .execute();
        for (const s of streams) {
          versions.set(s.stream_id, BigInt(s.version));
        }
      }
    });
  return ids.map((id) => ({
    state: rows.get(id) ?? null,
    version: versions.get(machineStreamId(id)) ?? 'no_stream',
  }));
}
