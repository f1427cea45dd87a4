import { bouncerStreamId, machineStreamId, type BouncerState, type MachineState } from '@lapi/domain';
import type { DB, ExpectedVersion } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';
import { toBouncer } from './bouncers.projection';
import { toMachine } from './machines.projection';

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
