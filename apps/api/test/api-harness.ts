import { nestAdminContext, runAdminRequest } from '@lapi/application';
import { loadConfig } from '@lapi/config';
import { FakeClock, openTestDatabase, TEST_JWT_SECRET, type TestBackend } from '@lapi/testing';
import { createApiApp, type ApiApp } from '../src/app.factory';
import { BouncerSightings } from '../src/auth/bouncer-sightings';

export const AGENT_UA = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian';

/** The real API module over a real database, driven through Fastify's inject, with a clock the test moves. */
export async function startTestApi(backend: TestBackend, env: Record<string, string> = {}, sharing?: { api: ApiApp }) {
  // A second replica shares the first one's database (and leaves closing it to the first).
  const db = sharing
    ? { handle: sharing.api.database, dispose: () => Promise.resolve() }
    : await openTestDatabase(backend);
  // Whole seconds, as alerts carry them; near real time, since tokens are checked against the real clock.
  const clock = new FakeClock(new Date(Math.floor(Date.now() / 1000) * 1000));
  const config = loadConfig({
    DATABASE_URL: 'postgres://unused/x',
    CS_LAPI_SECRET: TEST_JWT_SECRET,
    LAPI_LOG_LEVEL: 'warn',
    ...env,
  });
  const api: ApiApp = await createApiApp(config, db.handle, { clock });
  await api.app.getHttpAdapter().getInstance().ready();
  const admin = (req: Parameters<typeof runAdminRequest>[0]) => runAdminRequest(req, nestAdminContext(api.app));
  const inject = (opts: Parameters<ApiApp['app']['inject']>[0]) => api.app.inject(opts);

  /** A validated machine and its bearer header. */
  const machine = async (name: string) => {
    await admin({ op: 'machines.add', name, password: `${name}-password` });
    const res = await inject({
      method: 'POST',
      url: '/v1/watchers/login',
      payload: { machine_id: name, password: `${name}-password` },
      headers: { 'user-agent': AGENT_UA },
    });
    return { authorization: `Bearer ${res.json<{ token: string }>().token}` };
  };
  const bouncer = async (name: string) => {
    const { key } = (await admin({ op: 'bouncers.add', name })) as { key: string };
    return { 'x-api-key': key, 'user-agent': 'crowdsec-firewall-bouncer/v0.0.25' };
  };
  /** Bouncers' sightings are recorded in the background: waits for those under way. */
  const sightingsRecorded = () => api.app.get(BouncerSightings).settled();
  return {
    api,
    clock,
    admin,
    inject,
    machine,
    bouncer,
    sightingsRecorded,
    close: async () => {
      await api.close();
      await db.dispose();
    },
  };
}

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;

/** An alert as cscli 1.4.6 sends it for `decisions add`. */
export function cscliAlert(
  decisions: { value: string; scope?: string; type?: string; duration?: string; origin?: string; scenario?: string }[],
  options: { stopAt: Date; simulated?: boolean; scenario?: string },
) {
  const at = options.stopAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    capacity: 0,
    decisions: decisions.map((d) => ({
      duration: d.duration ?? '1h',
      origin: d.origin ?? 'cscli',
      scenario: d.scenario ?? 'manual ban',
      scope: d.scope ?? 'Ip',
      type: d.type ?? 'ban',
      value: d.value,
    })),
    events: [],
    events_count: 1,
    labels: null,
    leakspeed: '0',
    message: 'test',
    scenario: options.scenario ?? 'manual ban',
    scenario_hash: '',
    scenario_version: '',
    simulated: options.simulated ?? false,
    source: { ip: decisions[0]?.value, scope: 'Ip', value: decisions[0]?.value ?? '' },
    start_at: at,
    stop_at: at,
  };
}

export type StreamDecision = { id: number; value: string };
export type StreamAnswer = { new: StreamDecision[] | null; deleted: StreamDecision[] | null };

/** A bouncer's stream pull (200 expected). */
export async function pullStream(api: TestApi, bouncer: Record<string, string>, query = ''): Promise<StreamAnswer> {
  const res = await api.inject({ method: 'GET', url: `/v1/decisions/stream${query}`, headers: bouncer });
  expect(res.statusCode).toBe(200);
  return res.json<StreamAnswer>();
}

/** cscli's `decisions add` of these values in one alert (201 expected). */
export async function pushBans(api: TestApi, agent: Record<string, string>, values: string[]): Promise<void> {
  const res = await api.inject({
    method: 'POST',
    url: '/v1/alerts',
    headers: agent,
    payload: [
      cscliAlert(
        values.map((value) => ({ value })),
        { stopAt: api.clock.now() },
      ),
    ],
  });
  expect(res.statusCode).toBe(201);
}
