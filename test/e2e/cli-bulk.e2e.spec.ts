// Issue #18: the admin CLI's bulk commands (`bouncers add --from`, `bouncers delete --from`, `machines add --from`)
// and `decisions add`, with the server running, in embedded mode (through the admin socket) and on PostgreSQL.
// The real crowdsec-firewall-bouncer runs with a key created in bulk. Every run goes through the built `bin/lapi.js`.
import { createScratchDatabase } from '@lapi/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nftablesProblem, startFirewallBouncer, waitFor } from './clients';
import { embeddedEnv, postgresEnv, runLapi, startServer, type Env, type RunningServer } from './server';

interface Mode {
  name: string;
  env(tmp: string): Promise<{ env: Env; cleanup(): Promise<void> }>;
}

const modes: Mode[] = [
  {
    name: 'embedded',
    env: (tmp) => Promise.resolve({ env: embeddedEnv(join(tmp, 'data')), cleanup: () => Promise.resolve() }),
  },
  {
    name: 'postgres',
    env: async (tmp) => {
      const db = await createScratchDatabase('lapi_test_cli_bulk');
      return { env: postgresEnv(db.url, join(tmp, 'data')), cleanup: db.drop };
    },
  },
];

const CHOSEN_KEY = 'bulk-chosen-key-0123456789';

describe.each(modes)('lapi bulk commands ($name, server running)', (mode) => {
  let tmp: string;
  let env: Env;
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  const lapi = (args: string[], input?: string) => runLapi(args, env, { input });
  const bouncerNames = async () => {
    const r = await lapi(['bouncers', 'list', '-o', 'json']);
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { name: string }[]).map((b) => b.name).sort();
  };
  const pull = async (key: string) =>
    (await fetch(`${server.url}/v1/decisions`, { headers: { 'X-Api-Key': key } })).status;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), `lapi-cli-bulk-${mode.name}-`));
    ({ env, cleanup } = await mode.env(tmp));
    server = await startServer({ env });
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('adds the bouncers of a file, printing "name key" lines, and each key pulls', async () => {
    const file = join(tmp, 'bouncers.txt');
    writeFileSync(file, `# fleet\nfw-1\n\nfw-2 ${CHOSEN_KEY}\n  fw-3  \n`);
    const r = await lapi(['bouncers', 'add', '--from', file]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['fw-1', 'fw-2', 'fw-3']);
    expect(lines[1]).toBe(`fw-2 ${CHOSEN_KEY}`);
    expect(lines[0]).toMatch(/^fw-1 [0-9a-f]{32}$/);
    for (const line of lines) {
      expect(await pull(line.split(' ')[1])).toBe(200);
    }
  });

  it('reads stdin with "-" and prints JSON with -o json', async () => {
    const r = await lapi(['bouncers', 'add', '--from', '-', '-o', 'json'], 'fw-4\nfw-5\n');
    expect(r.code).toBe(0);
    const added = JSON.parse(r.stdout) as { name: string; key: string }[];
    expect(added.map((b) => b.name)).toEqual(['fw-4', 'fw-5']);
    expect(await pull(added[1].key)).toBe(200);
  });

  it.each([
    ['a name already taken', 'fw-new-1\nfw-1\n', "entry 2: bouncer 'fw-1' already exists"],
    ['a name twice in the file', 'fw-new-1\nfw-new-1\n', "bouncer 'fw-new-1' is in the list twice"],
    ['a key already used', `fw-new-1\nfw-new-2 ${CHOSEN_KEY}\n`, 'this API key is already used'],
    ['a bad name', 'fw-new-1\nbad/name\n', 'entry 2 (bad/name): use 1 to'],
    ['a short key', 'fw-new-1 short\n', 'API key must be between 16 and 4096 characters long'],
    ['three fields on a line', 'fw-new-1 key-key-key-key-key-1 extra\n', 'line 1: expected'],
  ])('adds none of a file with %s (exit 1, a clear message)', async (_what, text, message) => {
    const before = await bouncerNames();
    const r = await lapi(['bouncers', 'add', '--from', '-'], text);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
    expect(await bouncerNames()).toEqual(before);
  });

  it('the real firewall bouncer works with a key created in bulk; `decisions add -i` reaches it', async () => {
    const problem = await nftablesProblem();
    if (problem) {
      throw new Error(`the firewall bouncer test cannot run here: ${problem}`);
    }
    const r = await lapi(['bouncers', 'add', '--from', '-'], 'fw-real\n');
    expect(r.code).toBe(0);
    const key = r.stdout.trim().split(' ')[1];
    const fw = await startFirewallBouncer({ dir: join(tmp, 'firewall-bouncer'), apiUrl: server.url, apiKey: key });
    try {
      await waitFor('the firewall bouncer to start processing', () =>
        fw.output().includes('Processing new and deleted decisions') ? true : undefined,
      );
      const added = await lapi(['decisions', 'add', '-i', '10.18.0.1', '-d', '1h']);
      expect(added.code).toBe(0);
      expect(added.stdout).toMatch(/^Decision successfully added \(alert \d+\)\n$/);
      await fw.waitForElements('contain 10.18.0.1', (e) => e.includes('10.18.0.1'));
    } finally {
      await fw.stop();
    }
  });

  it('deletes the bouncers of a file (the add output is a valid input), all or none', async () => {
    const refused = await lapi(['bouncers', 'delete', '--from', '-'], 'fw-4\nghost\n');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("entry 2: bouncer 'ghost' does not exist");
    expect(await bouncerNames()).toContain('fw-4');

    const r = await lapi(['bouncers', 'delete', '--from', '-'], `fw-1\nfw-2 ${CHOSEN_KEY}\nfw-4\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("bouncer 'fw-2' deleted successfully");
    expect(await bouncerNames()).toEqual(['fw-3', 'fw-5', 'fw-real']);
    expect(await pull(CHOSEN_KEY)).toBe(403);
  });

  it('adds the machines of a file, validated, and each logs in with its password', async () => {
    const r = await lapi(['machines', 'add', '--from', '-', '-o', 'json'], 'agent-1 a-password-of-agent-1\nagent-2\n');
    expect(r.code).toBe(0);
    const added = JSON.parse(r.stdout) as { name: string; password: string }[];
    expect(added.map((m) => m.name)).toEqual(['agent-1', 'agent-2']);
    expect(added[0].password).toBe('a-password-of-agent-1');
    for (const m of added) {
      const login = await fetch(`${server.url}/v1/watchers/login`, {
        method: 'POST',
        // An agent's user agent: the login records the machine's version from it.
        headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.6.5-linux' },
        body: JSON.stringify({ machine_id: m.name, password: m.password, scenarios: [] }),
      });
      expect({ status: login.status, body: await login.text() }).toMatchObject({ status: 200 });
    }
    const again = await lapi(['machines', 'add', '--from', '-'], 'agent-3\nagent-1\n');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("user 'agent-1': user already exist");
    const list = await lapi(['machines', 'list', '-o', 'json']);
    expect((JSON.parse(list.stdout) as { machineId: string }[]).map((m) => m.machineId)).toEqual([
      'agent-1',
      'agent-2',
    ]);
  });
});
