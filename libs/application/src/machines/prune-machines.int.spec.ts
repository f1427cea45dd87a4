import type { Machine } from '@lapi/domain';
import { PostgresEventStore } from '@lapi/event-store';
import { FakeClock, openTestDatabase, TEST_BACKENDS } from '@lapi/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { runAdminRequest, type AdminRequest } from '../admin/admin-operations';
import { nestAdminContext } from '../admin/nest-admin-context';
import { ApplicationModule } from '../application.module';
import { inlineBarrier } from '../decisions/decision-reader';
import { autodeleteClients } from '../retention/retention';
import { LocalCredentialChanges } from '../shared/credential-changes';
import { inlineProjections } from '../shared/inline-projections';
import { cliContext } from '../shared/ports';
import { LogInMachine, RecordHeartbeat, RegisterMachine } from './machine.commands';

const MIN = 60_000;
const UA = 'crowdsec/v1.6.5-linux';

describe.each(TEST_BACKENDS)('machine prune (%s)', (backend) => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: INestApplicationContext;
  let clock: FakeClock;
  const admin = (req: AdminRequest) => runAdminRequest(req, nestAdminContext(app));
  const names = async () => ((await admin({ op: 'machines.list' })) as Machine[]).map((m) => m.machineId).sort();
  const register = (id: string, ip: string, validated: boolean) =>
    app.get(CommandBus).execute(new RegisterMachine(id, `${id}-pw`, ip, validated, cliContext()));

  beforeEach(async () => {
    db = await openTestDatabase(backend);
    clock = new FakeClock('2026-11-29T00:00:00Z');
    app = await NestFactory.createApplicationContext(ApplicationModule.register({ database: db.handle, clock }), {
      logger: false,
    });
    // t0: five machines; then an hour passes with some of them alive.
    await register('heartbeats', '10.0.0.1', true);
    await register('cscli-user', '10.0.0.2', true);
    await register('crashed-pod', '10.0.0.3', true);
    await register('never-validated', '10.0.0.4', false);
    await register('local-agent', '127.0.0.1', true);
    await admin({ op: 'machines.add', name: 'admin-added', password: 'pw' });
    clock.advance(50 * MIN);
    await app.get(CommandBus).execute(new RecordHeartbeat('heartbeats', cliContext()));
    await app
      .get(CommandBus)
      .execute(new LogInMachine('cscli-user', 'cscli-user-pw', null, '10.0.0.2', UA, cliContext()));
    clock.advance(20 * MIN); // 70 min after registration, 20 min after the last signs of life
  }, 120_000); // seven bcrypt hashes on a shared machine

  afterEach(async () => {
    await app.close();
    await db.dispose();
  });

  it('lists without --force and deletes nothing', async () => {
    const listed = await admin({ op: 'machines.prune', notSeenMs: 60 * MIN, notValidatedOnly: false, force: false });
    expect(listed).toEqual(['admin-added', 'crashed-pod', 'never-validated']);
    expect(await names()).toHaveLength(6);
  });

  it('deletes the machines not seen for the duration, keeping the live ones and the local agent', async () => {
    const pruned = await admin({ op: 'machines.prune', notSeenMs: 60 * MIN, notValidatedOnly: false, force: true });
    expect(pruned).toEqual(['admin-added', 'crashed-pod', 'never-validated']);
    expect(await names()).toEqual(['cscli-user', 'heartbeats', 'local-agent']);
    const deleted = await db.handle.db
      .selectFrom('events')
      .select(['stream_id', 'metadata'])
      .where('type', '=', 'MachineDeleted')
      .orderBy('global_position')
      .execute();
    expect(deleted.map((e) => e.stream_id)).toEqual([
      'machine-admin-added',
      'machine-crashed-pod',
      'machine-never-validated',
    ]);
  });

  it('takes only never-validated machines with --not-validated-only, and a shorter duration reaches further', async () => {
    expect(await admin({ op: 'machines.prune', notSeenMs: 60 * MIN, notValidatedOnly: true, force: true })).toEqual([
      'never-validated',
    ]);
    expect(await admin({ op: 'machines.prune', notSeenMs: 10 * MIN, notValidatedOnly: false, force: true })).toEqual([
      'admin-added',
      'crashed-pod',
      'cscli-user',
      'heartbeats',
    ]);
    expect(await names()).toEqual(['local-agent']);
  });

  it('runs with the retention autodelete when LAPI_MACHINES_PRUNE_NOT_SEEN is set', async () => {
    const deps = {
      database: db.handle,
      store: new PostgresEventStore(db.handle.db, inlineProjections),
      barrier: inlineBarrier,
      credentials: new LocalCredentialChanges(),
    };
    const policy = { machines: { notSeen: 60 * MIN }, bouncers: {} };
    const result = await autodeleteClients(deps, policy, clock.now());
    expect(result).toEqual({
      machines: ['admin-added', 'crashed-pod', 'never-validated'],
      bouncers: [],
      completed: true,
    });
    // A second run finds nothing left to do.
    expect((await autodeleteClients(deps, policy, clock.now())).machines).toEqual([]);
  });
});
