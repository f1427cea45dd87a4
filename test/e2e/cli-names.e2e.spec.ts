// Issue #11 item 13: a machine stored under a name the API now refuses (taken before the rule) is printed escaped
// by `lapi machines list`, and can still be validated and deleted. Every run goes through the built `bin/lapi.js`.
import { inlineProjections } from '@lapi/application';
import { machineStreamId, type MachineEvent } from '@lapi/domain';
import { openDatabase, PostgresEventStore } from '@lapi/event-store';
import { createScratchDatabase } from '@lapi/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresEnv, runLapi, type Env } from './server';

// Erases the line, then prints a green "validated" row of its own.
const FORGED = '\u001b[2K\r\u001b[32mtrusted-agent  127.0.0.1  ✔️\u001b[0m\nx';

describe('lapi CLI and names taken before the name rule', () => {
  let tmp: string;
  let env: Env;
  let drop: () => Promise<void>;
  const lapi = (...args: string[]) => runLapi(args, env);

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-cli-names-'));
    const db = await createScratchDatabase('lapi_test_cli_names');
    drop = db.drop;
    env = postgresEnv(db.url, join(tmp, 'data'));
    expect((await lapi('migrate')).code).toBe(0);
    // What an older server accepted from POST /v1/watchers, written as it wrote it.
    const database = await openDatabase({ kind: 'postgres', url: db.url });
    const at = new Date().toISOString();
    const registered: MachineEvent = {
      type: 'MachineRegistered',
      data: { machineId: FORGED, passwordHash: '', ipAddress: '192.0.2.1', authType: 'password', validated: false, at },
    };
    await new PostgresEventStore(database.db, inlineProjections).appendToStream(machineStreamId(FORGED), [registered], {
      expectedVersion: 'no_stream',
      metadata: { actor: { kind: 'cli', id: 'test' }, at },
    });
    await database.close();
  }, 120_000);

  afterAll(async () => {
    await drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lists it with its control characters escaped', async () => {
    const list = await lapi('machines', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('\\x1b[2K\\r\\x1b[32mtrusted-agent  127.0.0.1  ✔️\\x1b[0m\\nx');
    // eslint-disable-next-line no-control-regex
    expect(list.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('validates and deletes it by its name', async () => {
    const validated = await lapi('machines', 'validate', FORGED);
    expect(validated.code).toBe(0);
    expect(validated.stdout).toContain("machine '\\x1b[2K\\r\\x1b[32mtrusted-agent");
    const deleted = await lapi('machines', 'delete', FORGED);
    expect(deleted.code).toBe(0);
    expect((await lapi('machines', 'list', '-o', 'json')).stdout.trim()).toBe('[]');
  });

  it('refuses such a name for a new machine', async () => {
    const added = await lapi('machines', 'add', FORGED, '--auto');
    expect(added.code).not.toBe(0);
    expect(added.stderr).toContain('use 1 to 128 letters, digits');
    const reserved = await lapi('machines', 'add', 'agentB@127.0.0.1', '--auto');
    expect(reserved.code).not.toBe(0);
    expect(reserved.stderr).toContain('reserved for machines logging in with a client certificate');
  });
});
