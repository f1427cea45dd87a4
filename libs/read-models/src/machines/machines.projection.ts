import { evolveMachine, type Machine, type MachineState } from '@lapi/domain/machines/machine';
import { MACHINE_EVENT_TYPES, type MachineEvent } from '@lapi/domain/machines/machine.events';
import type { DB, InlineProjection, RecordedEvent } from '@lapi/event-store';
import type { Kysely, Selectable, Transaction } from 'kysely';

type MachineRow = Selectable<DB['machines']>;

/** Keeps the `machines` table equal to evolveMachine folded over each machine's stream. */
export const machinesProjection: InlineProjection = {
  name: 'machines',
  eventTypes: MACHINE_EVENT_TYPES,
  async apply(trx: Transaction<DB>, events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events as readonly RecordedEvent<MachineEvent>[]) {
      const machineId = event.data.machineId;
      const before = await loadMachine(trx, machineId);
      const after = evolveMachine(before, event);
      await saveMachine(trx, machineId, after);
    }
  },
};

export async function loadMachine(db: Kysely<DB>, machineId: string): Promise<MachineState> {
  const row = await db.selectFrom('machines').selectAll().where('machine_id', '=', machineId).executeTakeFirst();
  return row ? toMachine(row) : null;
}

async function saveMachine(trx: Transaction<DB>, machineId: string, state: MachineState): Promise<void> {
  if (!state) {
    await trx.deleteFrom('machines').where('machine_id', '=', machineId).execute();
    return;
  }
  const row = {
    machine_id: state.machineId,
    password_hash: state.passwordHash,
    ip_address: state.ipAddress,
    auth_type: state.authType,
    is_validated: state.validated,
    version: state.version,
    scenarios: state.scenarios,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
    last_push: state.lastPush,
    last_heartbeat: state.lastHeartbeat,
  };
  await trx
    .insertInto('machines')
    .values(row)
    .onConflict((oc) => oc.column('machine_id').doUpdateSet(row))
    .execute();
}

export const toMachine = (row: MachineRow): Machine => ({
  machineId: row.machine_id,
  passwordHash: row.password_hash,
  ipAddress: row.ip_address,
  authType: row.auth_type === 'tls' ? 'tls' : 'password',
  validated: row.is_validated,
  version: row.version,
  scenarios: row.scenarios,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  lastPush: row.last_push && iso(row.last_push),
  lastHeartbeat: row.last_heartbeat && iso(row.last_heartbeat),
});

export const iso = (value: Date | string): string => new Date(value).toISOString();
