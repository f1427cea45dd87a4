// `lapi alerts list|inspect|delete|flush` as a user runs them, through the built `bin/lapi.js`, on alerts a watcher
// pushed over HTTP: embedded with the server running (admin socket) then stopped (the CLI opens the data directory),
// PostgreSQL (the CLI writes the database the running server follows), and a cluster (API and worker with Redis).
// Outputs are compared with the real cscli 1.4.6 against the same server. In cluster mode, `lapi metrics` and
// `lapi allowlists` too.
import { createScratchDatabase } from '@lapi/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { waitFor } from './clients';
import { startPrivateRedis, WORKER_ENTRY, type PrivateRedis } from './cluster-infra';
import { CSCLI_MISSING_MESSAGE, cscliAvailable } from './cscli';
import { startBackground, type BackgroundProcess } from './reference';
import {
  childEnv,
  embeddedEnv,
  postgresEnv,
  REPO_ROOT,
  runLapi,
  startServer,
  type Env,
  type RunningServer,
} from './server';
import { http, machineToken, newCscliClient, type CscliClient, type StreamBody } from './targets';

const WATCHER = 'e2e-watcher';
const WATCHER_PASSWORD = 'watcher-password-0123456789';

type ModeName = 'embedded' | 'postgres' | 'cluster';
const modes: ModeName[] = ['embedded', 'postgres', 'cluster'];

/** An alert as a crowdsec agent pushes it (POST /v1/alerts), with its decisions. */
function agentAlert(
  scenario: string,
  source: { scope: string; value: string; cn?: string; as_number?: string; as_name?: string },
  decisions: { type: string; value: string; scope?: string }[],
  events: { timestamp: string; meta: { key: string; value: string }[] }[] = [],
) {
  const at = new Date().toISOString();
  return {
    capacity: 5,
    decisions: decisions.map((d) => ({
      duration: '4h',
      origin: 'crowdsec',
      scenario,
      scope: d.scope ?? source.scope,
      type: d.type,
      value: d.value,
    })),
    events,
    events_count: Math.max(1, events.length),
    leakspeed: '10s',
    message: `${source.value} performed '${scenario}' (${events.length} events over 1s)`,
    scenario,
    scenario_hash: 'abc123',
    scenario_version: '0.1',
    simulated: false,
    source: { ...source, ...(source.scope === 'Ip' ? { ip: source.value } : { range: source.value }) },
    start_at: at,
    stop_at: at,
  };
}

interface ApiAlert {
  id: number;
  scenario: string;
  machine_id?: string;
  source: { scope: string; value: string };
  uuid?: string;
  decisions: { value: string; type: string; duration: string; uuid?: string }[] | null;
  events: { meta: { key: string; value: string }[] | null }[] | null;
}

/**
 * What two listings of the same alerts share whatever the moment they were taken: remaining durations aside, and
 * the uuids our API sends (as reference ≥1.6 does) that cscli 1.4.6's models drop.
 */
const stable = (alerts: ApiAlert[] | null) =>
  (alerts ?? []).map(({ uuid: _alertUuid, ...a }) => ({
    ...a,
    decisions: a.decisions?.map(({ uuid: _uuid, ...d }) => ({ ...d, duration: 'x' })) ?? null,
  }));

describe.each(modes)('lapi alerts (%s)', (mode) => {
  let tmp: string;
  let env: Env;
  let server: RunningServer | undefined;
  let worker: BackgroundProcess | undefined;
  let redis: PrivateRedis | undefined;
  let drop: () => Promise<void> = () => Promise.resolve();
  let token: string;
  let bouncerKey: string;
  let cscli: CscliClient;

  const lapi = (...args: string[]) => runLapi(args, env);
  const ok = async (...args: string[]) => {
    const r = await lapi(...args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.stdout;
  };
  const startApi = async () => {
    server = await startServer({ env });
  };
  const push = async (alerts: unknown[]): Promise<number[]> => {
    const r = await http(`${server!.url}/v1/alerts`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(alerts),
    });
    expect(r.status).toBe(201);
    return (r.json as string[]).map(Number);
  };
  const stream = async (query = ''): Promise<StreamBody> => {
    const r = await http(`${server!.url}/v1/decisions/stream${query}`, { headers: { 'X-Api-Key': bouncerKey } });
    expect(r.status).toBe(200);
    return r.json as StreamBody;
  };
  /** Pulls until every value in `values` was reported deleted (the CLI's writes reach bouncers asynchronously). */
  const seenDeleted = async (values: string[]) => {
    const deleted = new Set<string>();
    await waitFor(`${values.join(', ')} in the stream's deleted`, async () => {
      for (const d of (await stream()).deleted ?? []) {
        deleted.add(d.value);
      }
      return values.every((v) => deleted.has(v)) ? true : undefined;
    });
    return deleted;
  };
  const listJson = async (...args: string[]) =>
    JSON.parse(await ok('alerts', 'list', '-o', 'json', ...args)) as ApiAlert[] | null;
  const listedValues = async (...args: string[]) => ((await listJson(...args)) ?? []).map((a) => a.source.value);

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), `lapi-cli-alerts-${mode}-`));
    if (mode === 'embedded') {
      env = embeddedEnv(join(tmp, 'data'));
    } else {
      const db = await createScratchDatabase(`lapi_test_cli_alerts_${mode}`);
      drop = db.drop;
      env = postgresEnv(db.url, join(tmp, 'data'));
      if (mode === 'cluster') {
        redis = await startPrivateRedis(join(tmp, 'redis'));
        env = { ...env, REDIS_URL: redis.url, LAPI_REDIS_PREFIX: 'e2e-cli-alerts:' };
      }
      expect((await lapi('migrate')).code).toBe(0);
    }
    if (mode === 'cluster') {
      // The worker projects the decisions bouncers are served from.
      worker = startBackground(process.execPath, [WORKER_ENTRY], { cwd: REPO_ROOT, env: childEnv(env) });
    }
    await startApi();
    await ok('machines', 'add', WATCHER, '--password', WATCHER_PASSWORD);
    token = await machineToken({ url: server!.url } as Parameters<typeof machineToken>[0], WATCHER, WATCHER_PASSWORD);
    bouncerKey = (await ok('bouncers', 'add', 'fw', '-o', 'raw')).trim();
    cscli = await newCscliClient(
      {
        name: mode === 'cluster' ? 'postgres' : mode,
        isReference: false,
        url: server!.url,
        addMachine: async (login, password) => {
          await ok('machines', 'add', login, '--password', password);
        },
        addBouncer: () => Promise.reject(new Error('unused')),
        output: () => server?.output() ?? '',
        stop: () => Promise.resolve(),
      },
      join(tmp, 'cscli'),
      'e2e-cscli',
    );
  });

  afterAll(async () => {
    await server?.stop();
    await worker?.stop();
    await redis?.stop();
    await drop();
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("lists a watcher's alerts with cscli's filters, in its three outputs, as cscli does", async () => {
    const [ssh, probe, range] = await push([
      agentAlert(
        'crowdsecurity/ssh-bf',
        { scope: 'Ip', value: '192.0.2.1', cn: 'FR', as_number: '64500', as_name: 'Example, Inc' },
        [{ type: 'ban', value: '192.0.2.1' }],
        [
          {
            timestamp: '2026-01-02T03:04:05Z',
            meta: [
              { key: 'target_user', value: 'root' },
              { key: 'source_ip', value: '192.0.2.1' },
            ],
          },
        ],
      ),
      agentAlert('crowdsecurity/http-probing', { scope: 'Ip', value: '192.0.2.2' }, [
        { type: 'captcha', value: '192.0.2.2' },
      ]),
      agentAlert('crowdsecurity/ssh-slow-bf', { scope: 'Range', value: '198.51.100.0/24' }, [
        { type: 'ban', value: '198.51.100.0/24' },
      ]),
    ]);
    expect((await stream('?startup=true')).new?.map((d) => d.value).sort()).toEqual([
      '192.0.2.1',
      '192.0.2.2',
      '198.51.100.0/24',
    ]);

    // Newest first; the table as cscli's (the value with its scope, created_at is the alert's start).
    const table = await ok('alerts', 'list');
    const lines = table.trimEnd().split('\n');
    expect(lines[1].split(/\s{2,}/)).toEqual(['ID', 'value', 'reason', 'country', 'as', 'decisions', 'created_at']);
    expect(lines[3]).toMatch(
      new RegExp(`^${range}\\s+Range:198\\.51\\.100\\.0/24\\s+crowdsecurity/ssh-slow-bf\\s+ban:1`),
    );
    expect(lines[4]).toMatch(new RegExp(`^${probe}\\s+Ip:192\\.0\\.2\\.2\\s+crowdsecurity/http-probing\\s+captcha:1`));
    expect(lines[5]).toMatch(
      new RegExp(
        `^${ssh}\\s+Ip:192\\.0\\.2\\.1\\s+crowdsecurity/ssh-bf\\s+FR\\s+64500 Example, Inc\\s+ban:1\\s+\\d{4}-`,
      ),
    );
    expect(await ok('alerts', 'list', '-m')).toMatch(new RegExp(`created_at\\s+machine\\n[^]*\\s${WATCHER}\\n`));

    // -o raw: cscli's CSV (Go's quoting).
    const csv = (await ok('alerts', 'list', '-o', 'raw', '-m')).trimEnd().split('\n');
    expect(csv[0]).toBe('id,scope,value,reason,country,as,decisions,created_at,machine');
    expect(csv[3]).toMatch(
      new RegExp(
        `^${ssh},Ip,192\\.0\\.2\\.1,crowdsecurity/ssh-bf,FR,"64500 Example, Inc",ban:1,\\d{4}-[^,]+,${WATCHER}$`,
      ),
    );

    // The filters, as cscli sends them to GET /v1/alerts.
    expect(await listedValues('-i', '192.0.2.1')).toEqual(['192.0.2.1']);
    expect(await listedValues('-r', '198.51.100.0/24')).toEqual(['198.51.100.0/24']);
    expect(await listedValues('-i', '198.51.100.7')).toEqual(['198.51.100.0/24']);
    expect(await listedValues('-r', '198.51.0.0/16', '--contained')).toEqual(['198.51.100.0/24']);
    expect(await listedValues('-r', '198.51.0.0/16')).toEqual([]);
    expect(await listedValues('-s', 'crowdsecurity/http-probing')).toEqual(['192.0.2.2']);
    expect(await listedValues('--type', 'captcha')).toEqual(['192.0.2.2']);
    expect(await listedValues('--scope', 'range')).toEqual(['198.51.100.0/24']);
    expect(await listedValues('--scope', 'ip', '-v', '192.0.2.2')).toEqual(['192.0.2.2']);
    expect(await listedValues('--since', '1d')).toHaveLength(3);
    expect(await listedValues('--until', '1h')).toEqual([]);
    expect(await listedValues('-l', '1')).toEqual(['198.51.100.0/24']);
    expect(await listedValues('-l', '0', '-a')).toHaveLength(3);
    expect(await ok('alerts', 'list', '-s', 'nothing/here')).toBe('No active alerts\n');
    expect(await ok('alerts', 'list', '-s', 'nothing/here', '-o', 'json')).toBe('null\n');
    const bad = await lapi('alerts', 'list', '-i', '192.0.2');
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 1, stderr: "lapi: 192.0.2 isn't a valid ip\n" });

    // -o json: the API's alerts, as the real cscli prints them from the same server.
    const ours = await listJson();
    expect(ours?.map((a) => a.id)).toEqual([range, probe, ssh]);
    expect(stable(ours)).toEqual(stable(await cscli.json<ApiAlert[]>(['alerts', 'list'])));
    expect(stable(await listJson('-i', '192.0.2.1'))).toEqual(
      stable(await cscli.json<ApiAlert[]>(['alerts', 'list', '-i', '192.0.2.1'])),
    );
  });

  it('inspects an alert with its events and meta; an unknown id is an error', async () => {
    const [id] = (await listJson('-i', '192.0.2.1'))!.map((a) => a.id);
    const human = await ok('alerts', 'inspect', String(id), '-d');
    expect(human).toContain(` - ID         : ${id}\n`);
    expect(human).toContain(` - Machine    : ${WATCHER}\n`);
    expect(human).toContain(' - Reason     : crowdsecurity/ssh-bf\n');
    expect(human).toContain(' - Scope:Value: Ip:192.0.2.1\n');
    expect(human).toContain(' - Country    : FR\n');
    expect(human).toMatch(/ - Active Decisions {2}:\n.*\nID\s+scope:value\s+action\s+expiration\s+created_at\n/);
    expect(human).toMatch(/\n\d+\s+Ip:192\.0\.2\.1\s+ban\s+3h\d+m[\d.]+s\s+\d{4}-/);
    // Events with their meta sorted by key.
    expect(human).toMatch(
      / - Events {2}:\n\n- Date: 2026-01-02 03:04:05 \+0000 UTC\n[^]*source_ip\s+192\.0\.2\.1\n[^]*target_user\s+root\n/,
    );
    expect(await ok('alerts', 'inspect', String(id))).not.toContain(' - Events  :');

    const json = JSON.parse(await ok('alerts', 'inspect', String(id), '-o', 'json')) as ApiAlert;
    const viaApi = await http(`${server!.url}/v1/alerts/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(stable([json])).toEqual(stable([viaApi.json as ApiAlert]));
    expect(stable([json])).toEqual(stable([await cscli.json<ApiAlert>(['alerts', 'inspect', String(id)])]));
    // -o raw: cscli's YAML of its Go model.
    const yamlOf = (text: string) => {
      const doc = parse(text) as { decisions: { duration: string }[] };
      return { ...doc, decisions: doc.decisions.map((d) => ({ ...d, duration: 'x' })) };
    };
    const raw = await ok('alerts', 'inspect', String(id), '-o', 'raw');
    expect(raw).toContain('\nscenario: crowdsecurity/ssh-bf\n');
    expect(yamlOf(raw)).toEqual(yamlOf((await cscli.ok(['alerts', 'inspect', String(id), '-o', 'raw'])).stdout));

    const unknown = await lapi('alerts', 'inspect', '999999');
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({
      code: 1,
      stderr: "lapi: can't find alert with id 999999: object not found\n",
    });
    const notAnId = await lapi('alerts', 'inspect', 'abc');
    expect(notAnId.code).toBe(1);
    expect(notAnId.stderr).toContain('bad alert id abc');
  });

  it('deletes alerts by filter, by id and all of them; bouncers see their decisions deleted', async () => {
    const none = await lapi('alerts', 'delete');
    expect({ code: none.code, stderr: none.stderr }).toEqual({
      code: 1,
      stderr: 'lapi: at least one filter or --all must be specified\n',
    });
    expect(await ok('alerts', 'delete', '-i', '192.0.2.2')).toBe('1 alert(s) deleted\n');
    expect(await seenDeleted(['192.0.2.2'])).not.toContain('192.0.2.1');
    expect(await listedValues()).toEqual(['198.51.100.0/24', '192.0.2.1']);

    const [rangeId] = (await listJson('--scope', 'range'))!.map((a) => a.id);
    expect(await ok('alerts', 'delete', '--id', String(rangeId))).toBe('1 alert(s) deleted\n');
    await seenDeleted(['198.51.100.0/24']);
    const gone = await lapi('alerts', 'delete', '--id', String(rangeId));
    expect({ code: gone.code, stderr: gone.stderr }).toEqual({
      code: 1,
      stderr: `lapi: unable to delete alert ${rangeId}: not found\n`,
    });

    await push([
      agentAlert('crowdsecurity/ssh-bf', { scope: 'Ip', value: '192.0.2.3' }, [{ type: 'ban', value: '192.0.2.3' }]),
    ]);
    // Not a terminal: no question asked (as with --yes).
    expect(await ok('alerts', 'delete', '--all')).toBe('2 alert(s) deleted\n');
    await seenDeleted(['192.0.2.1', '192.0.2.3']);
    expect(await listJson()).toBeNull();
    expect(await ok('alerts', 'delete', '-a', '-y')).toBe('0 alert(s) deleted\n');
  });

  it('flushes alerts over --max-items and past --max-age, keeping those with an active decision', async () => {
    const quiet = (value: string) => agentAlert('crowdsecurity/port-scan', { scope: 'Ip', value }, []);
    await push([quiet('203.0.113.1'), quiet('203.0.113.2'), quiet('203.0.113.3'), quiet('203.0.113.4')]);
    await push([
      agentAlert('crowdsecurity/ssh-bf', { scope: 'Ip', value: '203.0.113.9' }, [
        { type: 'ban', value: '203.0.113.9' },
      ]),
    ]);
    expect(await ok('alerts', 'flush')).toBe('no alert to flush\n');
    expect(await ok('alerts', 'flush', '--max-items', '3', '--max-age', '0')).toBe(
      'flushed 2 alerts because max number of alerts has been reached (3 max)\nAlerts flushed\n',
    );
    expect(await listedValues()).toEqual(['203.0.113.9', '203.0.113.4', '203.0.113.3']);
    await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(await ok('alerts', 'flush', '--max-items', '0', '--max-age', '10ms', '-o', 'json'))).toEqual({
      byAge: 2,
      byCount: 0,
    });
    // The banned address's alert stays while its decision runs.
    expect(await listedValues()).toEqual(['203.0.113.9']);
    const bad = await lapi('alerts', 'flush', '--max-age', 'soon');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("lapi: invalid --max-age 'soon' (e.g. 7d, 12h, 0 for no limit)\n");
    await ok('alerts', 'delete', '--all');
    await seenDeleted(['203.0.113.9']);
  });

  if (mode === 'embedded') {
    it('works on the data directory while the server is stopped; the restarted server serves the result', async () => {
      await push([
        agentAlert('crowdsecurity/ssh-bf', { scope: 'Ip', value: '192.0.2.50' }, [
          { type: 'ban', value: '192.0.2.50' },
        ]),
        agentAlert('crowdsecurity/ssh-bf', { scope: 'Ip', value: '192.0.2.51' }, [
          { type: 'ban', value: '192.0.2.51' },
        ]),
      ]);
      expect((await stream()).new?.map((d) => d.value).sort()).toEqual(['192.0.2.50', '192.0.2.51']);
      await server!.stop();
      server = undefined;
      expect(await listedValues()).toEqual(['192.0.2.51', '192.0.2.50']);
      expect(await ok('alerts', 'inspect', String((await listJson('-i', '192.0.2.51'))![0].id))).toContain(
        ' - Scope:Value: Ip:192.0.2.51\n',
      );
      expect(await ok('alerts', 'delete', '-i', '192.0.2.51')).toBe('1 alert(s) deleted\n');
      expect(await ok('alerts', 'flush', '--max-items', '1')).toBe('no alert to flush\n');
      await startApi();
      await seenDeleted(['192.0.2.51']);
      expect(await listedValues()).toEqual(['192.0.2.50']);
    });
  }

  if (mode === 'cluster') {
    it('lapi metrics shows what a bouncer posted to /v1/usage-metrics', async () => {
      const r = await http(`${server!.url}/v1/usage-metrics`, {
        method: 'POST',
        headers: { 'X-Api-Key': bouncerKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          remediation_components: [
            {
              version: 'v1.0',
              utc_startup_timestamp: 1707369316,
              metrics: [
                {
                  meta: { utc_now_timestamp: 1707399316, window_size_seconds: 600 },
                  items: [
                    { name: 'dropped', unit: 'byte', value: 1000, labels: { origin: 'CAPI' } },
                    { name: 'processed', unit: 'packet', value: 100 },
                  ],
                },
              ],
            },
          ],
        }),
      });
      expect(r.status).toBe(201);
      expect(JSON.parse(await ok('metrics', '-o', 'json'))).toEqual({
        bouncers: { fw: { '': { processed: { packet: 100 } }, CAPI: { dropped: { byte: 1000 } } } },
        machines: {},
      });
      expect(await ok('metrics')).toContain('Bouncer Metrics (fw) since 2024-02-08T13:35:16.000Z:');
    });

    it('lapi allowlists create/add/check: the decision an item covers leaves the bouncers', async () => {
      await push([
        agentAlert('crowdsecurity/ssh-bf', { scope: 'Ip', value: '192.0.2.77' }, [
          { type: 'ban', value: '192.0.2.77' },
        ]),
      ]);
      await waitFor('192.0.2.77 in the stream', async () =>
        (await stream()).new?.some((d) => d.value === '192.0.2.77') ? true : undefined,
      );
      expect(await ok('allowlists', 'create', 'office', '-d', 'our offices')).toBe(
        "allowlist 'office' created successfully\n",
      );
      expect(await ok('allowlists', 'add', 'office', '192.0.2.0/24')).toBe(
        'added 1 values to allowlist office\n1 decisions deleted by allowlists\n',
      );
      await seenDeleted(['192.0.2.77']);
      expect(await ok('allowlists', 'check', '192.0.2.5', '198.51.100.1')).toBe(
        '192.0.2.5 is allowlisted by item 192.0.2.0/24 from office\n198.51.100.1 is not allowlisted\n',
      );
      // An API replica drops an alert without decisions on an allowlisted source (answered without an id, as the
      // reference), and keeps one with decisions without them.
      expect(await push([agentAlert('crowdsecurity/port-scan', { scope: 'Ip', value: '192.0.2.78' }, [])])).toEqual([]);
      const [kept] = await push([
        agentAlert('crowdsecurity/ssh-bf', { scope: 'Ip', value: '192.0.2.79' }, [
          { type: 'ban', value: '192.0.2.79' },
        ]),
      ]);
      expect((JSON.parse(await ok('alerts', 'inspect', String(kept), '-o', 'json')) as ApiAlert).decisions).toBeNull();
    });
  }
});
