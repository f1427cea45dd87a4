// The admin CLI as a user runs it: with the server stopped and running, on the embedded data directory and on
// PostgreSQL. Every run goes through the built `bin/lapi.js`.
import { createScratchDatabase } from '@lapi/testing';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
      const db = await createScratchDatabase('lapi_test_cli');
      return { env: postgresEnv(db.url, join(tmp, 'data')), cleanup: db.drop };
    },
  },
];

describe.each(modes)('lapi admin CLI ($name)', (mode) => {
  let tmp: string;
  let env: Env;
  let cleanup: () => Promise<void>;
  let server: RunningServer | undefined;
  const lapi = (...args: string[]) => runLapi(args, env);
  const listJson = async (what: 'machines' | 'bouncers') => {
    const r = await lapi(what, 'list', '-o', 'json');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), `lapi-cli-${mode.name}-`));
    ({ env, cleanup } = await mode.env(tmp));
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('with the server stopped', () => {
    it('migrates, then adds, lists, validates and deletes machines', async () => {
      expect((await lapi('migrate')).code).toBe(0);
      const added = await lapi('machines', 'add', 'm-pass', '--password', 'a-password-of-mine');
      expect(added.code).toBe(0);
      // Without -f the credentials go to stdout, ready for a file.
      expect(added.stdout).toContain('login: m-pass\npassword: a-password-of-mine');

      const file = join(tmp, 'creds.yaml');
      const auto = await lapi('machines', 'add', 'm-auto', '--auto', '-f', file, '--url', 'http://lapi.example:8080');
      expect(auto.code).toBe(0);
      expect(readFileSync(file, 'utf8')).toMatch(
        /^url: http:\/\/lapi\.example:8080\nlogin: m-auto\npassword: [A-Za-z0-9]{64}\n$/,
      );
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const machines = await listJson('machines');
      expect(machines.map((m) => [m.machineId, m.isValidated])).toEqual([
        ['m-pass', true],
        ['m-auto', true],
      ]);
      expect((await lapi('machines', 'delete', 'm-pass')).code).toBe(0);
      expect((await listJson('machines')).map((m) => m.machineId)).toEqual(['m-auto']);
    });

    it.each([
      [['machines', 'validate', 'ghost'], "machine 'ghost' does not exist"],
      [['machines', 'delete', 'ghost'], "machine 'ghost' does not exist"],
      [['machines', 'add', 'm-auto', '--auto'], "user 'm-auto': user already exist"],
      [['machines', 'add', 'm-x'], 'give --password <password> or --auto'],
      [['bouncers', 'add', 'b-short', '--key', 'tooshort'], 'API key must be between 16 and 4096 characters long'],
      [['bouncers', 'delete', 'ghost'], "bouncer 'ghost' does not exist"],
    ])('lapi %j fails with a clear message and exit code 1', async (args, message) => {
      const r = await lapi(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`lapi: ${message}`);
    });

    it('adds a bouncer with a chosen key once, and refuses the name or the key again', async () => {
      const key = 'my-chosen-key-0123456789';
      const r = await lapi('bouncers', 'add', 'b-chosen', '--key', key, '-o', 'raw');
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(key);
      expect((await lapi('bouncers', 'add', 'b-chosen')).stderr).toContain("bouncer 'b-chosen' already exists");
      expect((await lapi('bouncers', 'add', 'b-other', '--key', key)).stderr).toContain('this API key is already used');
      expect((await listJson('bouncers')).map((b) => b.name)).toEqual(['b-chosen']);
    });

    it('refuses names that cannot be machine ids', async () => {
      const r = await lapi('machines', 'add', 'bad name', '--auto');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('letters, digits');
    });
  });

  describe('with the server running', () => {
    beforeAll(async () => {
      server = await startServer({ env });
    });

    it('sees what was written while it was stopped, and writes through it', async () => {
      expect((await listJson('bouncers')).map((b) => b.name)).toEqual(['b-chosen']);
      const r = await lapi('bouncers', 'add', 'b-live', '-o', 'raw');
      expect(r.code).toBe(0);
      const key = r.stdout.trim();
      const res = await fetch(`${server!.url}/v1/decisions`, { headers: { 'X-Api-Key': key } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('null');

      const deleted = await lapi('bouncers', 'delete', 'b-live');
      expect(deleted.code).toBe(0);
      // The server learns of a deletion made by another process from the log it follows (every second; in a
      // cluster, from Redis at once): the key is refused within that bound.
      const refusedWithin = Date.now() + 2_000;
      let status = 0;
      do {
        await new Promise((r) => setTimeout(r, 200));
        status = (await fetch(`${server!.url}/v1/decisions`, { headers: { 'X-Api-Key': key } })).status;
      } while (status !== 403 && Date.now() < refusedWithin);
      expect(status).toBe(403);
    });

    it('reports errors from the server with exit code 1', async () => {
      const r = await lapi('machines', 'validate', 'ghost');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("lapi: machine 'ghost' does not exist");
    });

    it('answers migrate', async () => {
      expect((await lapi('migrate')).code).toBe(0);
    });
  });
});
