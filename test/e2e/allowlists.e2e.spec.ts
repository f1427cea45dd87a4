// `lapi allowlists …` as a user runs it, through the built `bin/lapi.js`: on PostgreSQL with the server stopped (the
// CLI writes the database itself), and embedded with the server running (through its admin socket).
import { createScratchDatabase } from '@lapi/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedEnv, postgresEnv, runLapi, startServer, type Env, type RunningServer } from './server';

const modes = [
  { name: 'postgres, server stopped', embedded: false },
  { name: 'embedded, server running', embedded: true },
];

describe.each(modes)('lapi allowlists ($name)', (mode) => {
  let tmp: string;
  let env: Env;
  let drop: () => Promise<void> = () => Promise.resolve();
  let server: RunningServer | undefined;
  const lapi = (...args: string[]) => runLapi(args, env);
  const ok = async (...args: string[]) => {
    const r = await lapi(...args);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.stdout;
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-allowlists-'));
    if (mode.embedded) {
      env = embeddedEnv(join(tmp, 'data'));
      server = await startServer({ env });
    } else {
      const db = await createScratchDatabase('lapi_test_allowlists');
      env = postgresEnv(db.url, join(tmp, 'data'));
      drop = db.drop;
      expect((await lapi('migrate')).code).toBe(0);
    }
  });

  afterAll(async () => {
    await server?.stop();
    await drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('creates, fills, checks, inspects, lists, empties and deletes an allowlist', async () => {
    expect(await ok('allowlists', 'create', 'office', '-d', 'our offices')).toBe(
      "allowlist 'office' created successfully\n",
    );
    const again = await lapi('allowlists', 'create', 'office');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("lapi: allowlist 'office' already exists\n");

    // A decision the new item covers is deleted with the add.
    expect(await ok('decisions', 'add', '--ip', '192.0.2.9')).toMatch(/^Decision successfully added \(alert \d+\)\n$/);
    expect(await ok('allowlists', 'add', 'office', '192.0.2.0/24', '2001:db8::1', '-d', 'hq', '-e', '7d')).toBe(
      'added 2 values to allowlist office\n1 decisions deleted by allowlists\n',
    );
    expect(await ok('allowlists', 'add', 'office', '192.0.2.0/24')).toBe('no new values for allowlist\n');
    const bad = await lapi('allowlists', 'add', 'office', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("unable to parse value 'nope'");

    expect(await ok('allowlists', 'check', '192.0.2.50', '198.51.100.1')).toBe(
      '192.0.2.50 is allowlisted by item 192.0.2.0/24 from office (hq)\n198.51.100.1 is not allowlisted\n',
    );
    const refused = await lapi('decisions', 'add', '--ip', '192.0.2.10');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('lapi: 192.0.2.10 is allowlisted by item 192.0.2.0/24 from office (hq)\n');

    const inspected = JSON.parse(await ok('allowlists', 'inspect', 'office', '-o', 'json')) as {
      name: string;
      items: { value: string; description: string; expiration: string }[];
    };
    expect(inspected.name).toBe('office');
    expect(inspected.items.map((i) => [i.value, i.description])).toEqual([
      ['192.0.2.0/24', 'hq'],
      ['2001:db8::1', 'hq'],
    ]);
    expect(Date.parse(inspected.items[0].expiration) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(await ok('allowlists', 'inspect', 'office')).toContain('192.0.2.0/24');
    const listed = await ok('allowlists', 'list');
    expect(listed).toMatch(/office\s+our offices\s+\S+\s+\S+\s+no\s+2/);

    expect(await ok('allowlists', 'remove', 'office', '2001:db8::1', '203.0.113.1')).toBe(
      'removed 1 values from allowlist office\n',
    );
    expect(await ok('allowlists', 'remove', 'office', '2001:db8::1')).toBe('no value to remove from allowlist\n');
    expect(await ok('allowlists', 'delete', 'office')).toBe("allowlist 'office' deleted successfully\n");
    expect(JSON.parse(await ok('allowlists', 'list', '-o', 'json'))).toEqual([]);
    const gone = await lapi('allowlists', 'inspect', 'office');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe("lapi: allowlist 'office' not found\n");
  });
});
