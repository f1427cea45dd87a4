// End-to-end: the real cscli 1.4.6 (Debian package `crowdsec`) and plain HTTP against the real
// built server, in embedded (PGlite) and Postgres mode. Needs `npm run build` and, for Postgres
// mode, TEST_DATABASE_URL (both provided by `npm test` → test/run-tests.js).
//
// This test never skips: without cscli or TEST_DATABASE_URL it fails and says why.
import { createScratchDatabase } from '@lapi/testing';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, type CscliResult, cscliAvailable, makeCscliHome, runCscli } from './cscli';
import {
  type Env,
  type ProcessResult,
  type RunningServer,
  describeResult,
  embeddedEnv,
  postgresEnv,
  runLapi,
  startServer,
} from './server';

interface ModeSetup {
  env: Env;
  cleanup(): Promise<void>;
}

interface Mode {
  name: string;
  setup(tmp: string): Promise<ModeSetup>;
}

const modes: Mode[] = [
  {
    name: 'embedded',
    setup: (tmp) => Promise.resolve({ env: embeddedEnv(join(tmp, 'data')), cleanup: () => Promise.resolve() }),
  },
  {
    name: 'postgres',
    setup: async (tmp) => {
      // Named lapi_test_* so that test/run-tests.js can drop it if this run gets killed.
      const db = await createScratchDatabase('lapi_test_e2e');
      return { env: postgresEnv(db.url, join(tmp, 'data')), cleanup: db.drop };
    },
  },
];

const API_KEY = /^[A-Za-z0-9+/_-]{32,}={0,2}$/;

/** The bouncer key printed by `lapi bouncers add`: a line that is only the key, else a lone key-like token. */
function extractApiKey(stdout: string): string | undefined {
  const lines = stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => API_KEY.test(l));
  if (lines.length === 1) {
    return lines[0];
  }
  if (lines.length > 1) {
    return undefined;
  }
  const tokens = stdout.split(/[\s'"`:,;()[\]{}]+/).filter((t) => API_KEY.test(t));
  return tokens.length === 1 ? tokens[0] : undefined;
}

type MachineRow = Record<string, unknown>;

/** Parses `lapi machines list -o json` (cscli's `machineId`/`isValidated` or snake_case). */
function parseMachines(r: ProcessResult): MachineRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch (err) {
    throw new Error(
      `stdout is not JSON (${(err as Error).message})\n${describeResult('lapi machines list -o json', r)}`,
    );
  }
  if (parsed === null) {
    return [];
  }
  if (!Array.isArray(parsed)) {
    throw new Error(`expected a JSON array\n${describeResult('lapi machines list -o json', r)}`);
  }
  return parsed as MachineRow[];
}

function machineName(m: MachineRow): unknown {
  return m.machineId ?? m.machine_id ?? m.name;
}

function machineValidated(m: MachineRow): boolean {
  return Boolean(m.isValidated ?? m.is_validated ?? m.validated);
}

describe.each(modes)('cscli 1.4.6 against the built server ($name mode)', (mode) => {
  const suffix = randomBytes(3).toString('hex');
  const machine = `e2e-${mode.name}-${suffix}`;
  const otherMachine = `e2e-other-${mode.name}-${suffix}`;
  const bouncer = `e2e-bouncer-${mode.name}-${suffix}`;

  let tmp: string | undefined;
  let setup: ModeSetup | undefined;
  let server: RunningServer | undefined;
  let registerConfig: string;
  let bouncerKey: string;
  let failedStep: string | undefined;

  /** Later steps depend on earlier ones: once one fails, the rest fail pointing at it. */
  function step(name: string, fn: () => Promise<void>): void {
    it(name, async () => {
      if (failedStep) {
        throw new Error(`not run: earlier step "${failedStep}" failed`);
      }
      try {
        await fn();
      } catch (err) {
        failedStep = name;
        throw err;
      }
    });
  }

  const env = (): Env => {
    if (!setup) {
      throw new Error('mode setup did not run');
    }
    return setup.env;
  };
  const dir = (name: string): string => {
    if (!tmp) {
      throw new Error('temporary directory was not created');
    }
    return join(tmp, name);
  };
  const url = (): string => {
    if (!server) {
      throw new Error('server is not running');
    }
    return server.url;
  };
  const serverLog = (): string =>
    server ? `\n--- server output (last 4000 chars) ---\n${server.output().slice(-4000)}` : '';

  const lapi = async (args: string[]): Promise<ProcessResult> => runLapi(args, env());
  const expectOk = (what: string, r: ProcessResult | CscliResult): void => {
    if (r.code !== 0) {
      throw new Error(`${describeResult(what, r)}${serverLog()}`);
    }
  };
  const listMachines = async (): Promise<MachineRow[]> => {
    const r = await lapi(['machines', 'list', '-o', 'json']);
    expectOk('lapi machines list -o json', r);
    return parseMachines(r);
  };

  beforeAll(async () => {
    // Fail (never skip) when the client under test is missing, in CI and locally.
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), `lapi-e2e-${mode.name}-`));
    setup = await mode.setup(tmp);
    const migrate = await lapi(['migrate']);
    expectOk('lapi migrate', migrate);
    server = await startServer({ env: setup.env });
  });

  afterAll(async () => {
    const errors: unknown[] = [];
    await server?.stop().catch((e: unknown) => errors.push(e));
    await setup?.cleanup().catch((e: unknown) => errors.push(e));
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
    if (errors.length > 0) {
      throw errors[0];
    }
  });

  step('cscli lapi register creates an unvalidated machine', async () => {
    const home = makeCscliHome(dir('cscli-register'), { url: url() });
    registerConfig = home.configPath;
    const r = await runCscli(home.configPath, ['lapi', 'register', '-u', url(), '--machine', machine]);
    expectOk(`cscli lapi register -u ${url()} --machine ${machine}`, r);
    expect(r.output).toContain('Successfully registered to Local API (LAPI)');
    const creds = readFileSync(home.credentialsPath, 'utf8');
    expect(creds).toMatch(new RegExp(`^login: ${machine}$`, 'm'));
    expect(creds).toMatch(/^password: \S{32,}$/m);

    const found = (await listMachines()).find((m) => machineName(m) === machine);
    expect(found).toBeDefined();
    expect(found && machineValidated(found)).toBe(false);
  });

  step('cscli lapi status is refused while the machine is not validated', async () => {
    const r = await runCscli(registerConfig, ['lapi', 'status']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(`machine ${machine} not validated`);
  });

  step('lapi machines validate, then cscli lapi status succeeds', async () => {
    expectOk(`lapi machines validate ${machine}`, await lapi(['machines', 'validate', machine]));
    const found = (await listMachines()).find((m) => machineName(m) === machine);
    expect(found && machineValidated(found)).toBe(true);

    const r = await runCscli(registerConfig, ['lapi', 'status']);
    expectOk('cscli lapi status', r);
    expect(r.output).toContain('You can successfully interact with Local API (LAPI)');
  });

  step('lapi machines add --auto -f writes credentials that cscli can use', async () => {
    const file = dir('other-credentials.yaml');
    const r = await lapi(['machines', 'add', otherMachine, '--auto', '-f', file, '--url', url()]);
    expectOk(`lapi machines add ${otherMachine} --auto -f ${file} --url ${url()}`, r);
    expect(existsSync(file)).toBe(true);

    const home = makeCscliHome(dir('cscli-other'), { credentialsPath: file });
    const status = await runCscli(home.configPath, ['lapi', 'status']);
    expectOk(`cscli lapi status (credentials from ${file}:\n${readFileSync(file, 'utf8')})`, status);
    expect(status.output).toContain('You can successfully interact with Local API (LAPI)');
  });

  step('lapi bouncers add prints a key accepted on GET /v1/decisions', async () => {
    const r = await lapi(['bouncers', 'add', bouncer]);
    expectOk(`lapi bouncers add ${bouncer}`, r);
    const key = extractApiKey(r.stdout);
    if (!key) {
      throw new Error(`no API key (32+ chars of [A-Za-z0-9+/_-]) found\n${describeResult('lapi bouncers add', r)}`);
    }
    bouncerKey = key;

    const res = await fetch(`${url()}/v1/decisions?ip=1.2.3.4`, { headers: { 'X-Api-Key': bouncerKey } });
    const body = await res.text();
    expect({ status: res.status, body }).toEqual({ status: 200, body: 'null' });
  });

  step('a wrong or missing bouncer key gets 403 access forbidden', async () => {
    const wrong = await fetch(`${url()}/v1/decisions?ip=1.2.3.4`, {
      headers: { 'X-Api-Key': `${bouncerKey.slice(0, -1)}${bouncerKey.endsWith('x') ? 'y' : 'x'}` },
    });
    expect({ status: wrong.status, body: await wrong.text() }).toEqual({
      status: 403,
      body: '{"message":"access forbidden"}',
    });
    const missing = await fetch(`${url()}/v1/decisions?ip=1.2.3.4`);
    expect({ status: missing.status, body: await missing.text() }).toEqual({
      status: 403,
      body: '{"message":"access forbidden"}',
    });
  });
});
