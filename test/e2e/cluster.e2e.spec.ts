// The cluster as processes, on loopback: 3 API replicas and 2 workers over one PostgreSQL database and a private
// Redis, behind Debian's HAProxy, driven only through the load balancer by the real clients (cscli, the crowdsec
// agent, crowdsec-custom-bouncer, crowdsec-firewall-bouncer) and by plain-HTTP stream pollers that record every
// page. While alerts and decisions flow: kill -9 a replica, kill -9 the worker running the projector (and start
// another), FLUSHALL Redis. Then: no accepted alert is lost; every decision reaches every bouncer exactly once in
// `new`, and every deletion and expiry exactly once in `deleted`, whichever replica served each poll; the projection
// recovers by itself; the singletons (projector, expiry sweep) never ran twice at once.
import { decisionKeys, RedisDecisionsTarget, redisKeys } from '@lapi/read-models';
import { createScratchDatabase } from '@lapi/testing';
import Redis from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import {
  nftablesProblem,
  replayAgentLog,
  startCustomBouncer,
  startFirewallBouncer,
  waitFor,
  type RunningCustomBouncer,
  type RunningFirewallBouncer,
} from './clients';
import { SERVED_BY, startHaproxy, startPrivateRedis, type Haproxy, type PrivateRedis } from './cluster-infra';
import { CSCLI_MISSING_MESSAGE, cscliAvailable } from './cscli';
import { sleep, startBackground, type BackgroundProcess } from './reference';
import { childEnv, postgresEnv, REPO_ROOT, runLapi, startServer, type Env, type RunningServer } from './server';
import { newCscliClient, type CscliClient, type LapiTarget } from './targets';

const WORKER_ENTRY = join(REPO_ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');
const UA = 'crowdsec/v1.4.6-e2e';
const PREFIX = 'e2e:';
const POLL_MS = 250;
// Short decisions expire mid-test; deletions target decisions old enough that every bouncer (1 s) has seen them.
const SHORT = '6s';
const DELETE_AFTER_MS = 4_000;

type Phase = 'all up' | 'replica killed' | 'projector killed' | 'redis flushed' | 'drain';

interface StreamPage {
  phase: Phase;
  poller: string;
  servedBy: string;
  /** Client time before the request: every until ≤ this must have been reported once the page is in. */
  sentAt: number;
  new: number[];
  deleted: number[];
}

interface WireItem {
  id: number;
}

/** Bouncers polling the stream through HAProxy with one key (one cursor), taking turns; every page is kept. */
class StreamGroup {
  readonly pages: StreamPage[] = [];
  readonly failures: string[] = [];
  private turn = 0;
  private started = false;

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly key: string,
    private readonly members: readonly string[],
  ) {}

  /** One poll by the next member; false when it failed (HTTP error or connection lost). */
  async poll(phase: Phase): Promise<boolean> {
    const poller = this.members[this.turn++ % this.members.length];
    const sentAt = Date.now();
    try {
      const res = await fetch(`${this.url}/v1/decisions/stream${this.started ? '' : '?startup=true'}`, {
        headers: { 'x-api-key': this.key, 'user-agent': 'e2e-poller/v0' },
      });
      const text = await res.text();
      if (res.status !== 200) {
        this.failures.push(`after page #${this.pages.length} (${phase}): HTTP ${res.status} ${text.slice(0, 200)}`);
        return false;
      }
      const body = JSON.parse(text) as { new: WireItem[] | null; deleted: WireItem[] | null };
      this.started = true;
      this.pages.push({
        phase,
        poller,
        servedBy: res.headers.get(SERVED_BY) ?? '?',
        sentAt,
        new: (body.new ?? []).map((d) => d.id),
        deleted: (body.deleted ?? []).map((d) => d.id),
      });
      return true;
    } catch (error) {
      this.failures.push(
        `after page #${this.pages.length} (${phase}): ${error instanceof Error ? error.message : String(error)}`,
      );
      return false;
    }
  }
}

interface Accepted {
  alertId: number;
  values: string[];
  phase: Phase;
  at: number;
}

interface DecisionRow {
  id: number;
  value: string;
  type: string;
  untilMs: number;
  createdMs: number;
}

/** `id → how many times` for the ids of the pages, in `new` or `deleted`. */
function counts(pages: readonly StreamPage[], list: 'new' | 'deleted'): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of pages) {
    for (const id of p[list]) {
      out.set(id, (out.get(id) ?? 0) + 1);
    }
  }
  return out;
}

/** Where each id went wrong, with the phases of the pages that carried it: the failure message of the assertion. */
function exactlyOnceReport(
  pages: readonly StreamPage[],
  list: 'new' | 'deleted',
  expected: ReadonlySet<number>,
  rows: readonly DecisionRow[] = [],
): { wrong: number; total: number; examples: string[] } {
  const seen = counts(pages, list);
  const wrong: string[] = [];
  for (const id of new Set([...expected, ...seen.keys()])) {
    const n = seen.get(id) ?? 0;
    const want = expected.has(id) ? 1 : 0;
    if (n !== want) {
      // Which pages (ordinal in the group, phase, replica, ms after the first page) carried it.
      const where = pages.flatMap((p, i) =>
        p[list].includes(id) ? [`#${i} ${p.phase}@${p.servedBy} +${p.sentAt - pages[0].sentAt}ms`] : [],
      );
      // When it was created and ended, and in which phase the poll then was.
      const row = rows.find((r) => r.id === id);
      const at = (ms: number) => {
        const page = [...pages].reverse().find((p) => p.sentAt <= ms);
        return `+${Math.round(ms - pages[0].sentAt)}ms (${page?.phase ?? 'before'})`;
      };
      const life = row ? ` created ${at(row.createdMs)}, until ${at(row.untilMs)}` : '';
      wrong.push(`${list} id ${id}: ${n}× (want ${want}) [${where.join(', ')}]${life}`);
    }
  }
  return { wrong: wrong.length, total: expected.size, examples: wrong.slice(0, 15) };
}

describe('cluster of processes behind HAProxy: 3 API replicas, 2 workers, PostgreSQL, Redis', () => {
  let tmp: string;
  let env: Env;
  let dbUrl: string;
  let drop: () => Promise<void>;
  let sql: postgres.Sql;
  let redisServer: PrivateRedis;
  let redis: Redis;
  let haproxy: Haproxy;
  let cli: CscliClient;
  const apis: RunningServer[] = [];
  const workers: BackgroundProcess[] = [];
  const customs: RunningCustomBouncer[] = [];
  let custom: RunningCustomBouncer;
  let sharedCustoms: RunningCustomBouncer[];
  let firewall: RunningFirewallBouncer | undefined;
  let groups: StreamGroup[];
  let token: string;
  // What the run did, for the assertions below.
  const accepted: Accepted[] = [];
  const refused: string[] = [];
  const deletedValues = new Set<string>();
  const owners: string[] = [];
  let agentAttacker = '';
  let finished = false;
  let ranOut: string | undefined;

  const startWorker = () => {
    const worker = startBackground(process.execPath, [WORKER_ENTRY], { cwd: REPO_ROOT, env: childEnv(env) });
    workers.push(worker);
    return worker;
  };
  const lapiOk = async (args: string[]) => {
    const r = await runLapi(args, env);
    if (r.code !== 0) {
      throw new Error(`lapi ${args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}`);
    }
    return r.stdout.trim();
  };
  const addBouncer = (name: string) => lapiOk(['bouncers', 'add', name, '-o', 'raw']);
  const serverOutputs = () =>
    [
      ...apis.map((a, i) => `--- api-${i + 1} ---\n${a.output().slice(-2000)}`),
      ...workers.map((w, i) => `--- worker ${i + 1} (${w.exitDescription()}) ---\n${w.output().slice(-2000)}`),
    ].join('\n');
  const projectionStatus = async () => {
    const out = await lapiOk(['projections', 'status', '-o', 'json']);
    return (JSON.parse(out) as { name: string; lag: number; owner: string | null; changes: number }[]).find(
      (p) => p.name === 'decisions',
    )!;
  };
  const finishedRun = () => {
    if (!finished) {
      throw new Error(`the cluster run did not finish: ${ranOut ?? 'see the first test'}`);
    }
  };

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), 'lapi-cluster-'));
    redisServer = await startPrivateRedis(join(tmp, 'redis'));
    redis = new Redis(redisServer.url);
    const db = await createScratchDatabase('lapi_test_cluster');
    dbUrl = db.url;
    drop = db.drop;
    sql = postgres(dbUrl, { max: 2, onnotice: () => undefined });
    env = { ...postgresEnv(db.url, join(tmp, 'data')), REDIS_URL: redisServer.url, LAPI_REDIS_PREFIX: PREFIX };
    await lapiOk(['migrate']);
    await lapiOk(['machines', 'add', 'load', '--password', 'load-password-123456']);
    startWorker();
    startWorker();
    apis.push(...(await Promise.all([startServer({ env }), startServer({ env }), startServer({ env })])));
    haproxy = await startHaproxy(
      join(tmp, 'haproxy'),
      apis.map((a, i) => ({ name: `api-${i + 1}`, port: a.port })),
    );
    const target: LapiTarget = {
      name: 'postgres',
      isReference: false,
      url: haproxy.url,
      addMachine: async (login, password) => {
        await lapiOk(['machines', 'add', login, '--password', password]);
      },
      addBouncer,
      output: serverOutputs,
      stop: () => Promise.resolve(),
    };
    cli = await newCscliClient(target, join(tmp, 'cscli'), 'e2e-cscli');
    const login = await fetch(`${haproxy.url}/v1/watchers/login`, {
      method: 'POST',
      headers: { 'user-agent': UA },
      body: JSON.stringify({ machine_id: 'load', password: 'load-password-123456', scenarios: [] }),
    });
    token = ((await login.json()) as { token: string }).token;

    groups = [
      new StreamGroup('poller 1', haproxy.url, await addBouncer('poller-1'), ['poller-1']),
      new StreamGroup('poller 2', haproxy.url, await addBouncer('poller-2'), ['poller-2']),
      // Two bouncer processes behind one key share its cursor: together they must see each change once.
      new StreamGroup('pollers 3a+3b (one key)', haproxy.url, await addBouncer('poller-3'), ['poller-3a', 'poller-3b']),
    ];
    custom = startCustomBouncer({
      dir: join(tmp, 'custom'),
      apiUrl: haproxy.url,
      apiKey: await addBouncer('custom'),
    });
    const sharedKey = await addBouncer('custom-shared');
    sharedCustoms = ['a', 'b'].map((n) =>
      startCustomBouncer({ dir: join(tmp, `custom-shared-${n}`), apiUrl: haproxy.url, apiKey: sharedKey }),
    );
    customs.push(custom, ...sharedCustoms);
    if ((await nftablesProblem()) === undefined) {
      firewall = await startFirewallBouncer({
        dir: join(tmp, 'firewall'),
        apiUrl: haproxy.url,
        apiKey: await addBouncer('firewall'),
      });
    }
  });

  afterAll(async () => {
    await Promise.all([
      ...customs.map((c) => c.stop()),
      firewall?.stop(),
      haproxy?.stop(),
      ...apis.map((a) => a.stop()),
      ...workers.map((w) => w.stop()),
    ]);
    redis?.disconnect();
    await redisServer?.stop();
    await sql?.end();
    await drop?.();
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('keeps taking writes through HAProxy while a replica, the projector and Redis are lost', async () => {
    let phase: Phase = 'all up';
    let stopLoad = false;
    let stopPolls = false;
    const acceptedIn = (p: Phase) => accepted.filter((a) => a.phase === p).length;

    // Stream pollers: every group polls every POLL_MS; their first call (startup) must succeed first.
    for (const g of groups) {
      await waitFor(`${g.name}'s startup pull`, async () => ((await g.poll(phase)) ? true : undefined));
    }
    const pollLoops = groups.map(async (g) => {
      while (!stopPolls) {
        await g.poll(phase);
        await sleep(POLL_MS);
      }
    });
    // The projector lease's owner, sampled: a replaced owner that comes back would mean two projectors alternating.
    const leaseKey = redisKeys(PREFIX).decisionsProjectorLease;
    const sampler = (async () => {
      while (!stopPolls) {
        const owner = await redis.get(leaseKey).catch(() => null);
        if (owner && owners[owners.length - 1] !== owner) {
          owners.push(owner);
        }
        await sleep(50);
      }
    })();

    // Alerts with one decision each, a third of them short; older long decisions deleted now and then.
    let n = 0;
    const live: { value: string; at: number }[] = [];
    const alertLoad = (async () => {
      while (!stopLoad) {
        n += 1;
        const value = `10.77.${n >> 8}.${n & 255}`;
        const duration = n % 3 === 0 ? SHORT : '1h';
        const now = new Date().toISOString();
        const at = Date.now();
        const currentPhase = phase;
        try {
          const res = await fetch(`${haproxy.url}/v1/alerts`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'user-agent': UA },
            body: JSON.stringify([
              {
                capacity: 0,
                decisions: [{ duration, origin: 'cscli', scenario: 'e2e load', scope: 'Ip', type: 'ban', value }],
                events: [],
                events_count: 1,
                leakspeed: '0',
                message: '',
                scenario: 'e2e load',
                scenario_hash: '',
                scenario_version: '',
                simulated: false,
                source: { scope: 'Ip', value },
                start_at: now,
                stop_at: now,
              },
            ]),
          });
          const text = await res.text();
          if (res.status === 201) {
            const [id] = JSON.parse(text) as string[];
            accepted.push({ alertId: Number(id), values: [value], phase: currentPhase, at });
            if (duration !== SHORT) {
              live.push({ value, at });
            }
          } else {
            refused.push(`${currentPhase}: POST /v1/alerts → ${res.status} ${text.slice(0, 200)}`);
          }
        } catch (error) {
          refused.push(`${currentPhase}: POST /v1/alerts → ${(error as Error).message}`);
        }
        if (n % 5 === 0 && live.length > 0 && Date.now() - live[0].at > DELETE_AFTER_MS) {
          const victim = live.shift()!;
          const [row] = await sql<{ id: string }[]>`select id::text from decisions where value = ${victim.value}`;
          const res = await fetch(`${haproxy.url}/v1/decisions/${row?.id ?? 0}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}`, 'user-agent': UA },
          }).catch(() => undefined);
          await res?.text();
          if (res?.status === 200) {
            deletedValues.add(victim.value);
          }
        }
        await sleep(60);
      }
    })();

    // cscli through HAProxy: add (short and long), list, delete by IP.
    let c = 0;
    const cscliLive: { value: string; at: number }[] = [];
    const cscliLoad = (async () => {
      while (!stopLoad) {
        c += 1;
        const value = `10.88.${c >> 8}.${c & 255}`;
        const duration = c % 2 === 0 ? SHORT : '1h';
        const at = Date.now();
        const r = await cli.run(['decisions', 'add', '--ip', value, '--duration', duration, '--reason', 'e2e cscli']);
        if (r.code === 0 && duration !== SHORT) {
          cscliLive.push({ value, at });
        }
        if (c % 3 === 0 && cscliLive.length > 0 && Date.now() - cscliLive[0].at > DELETE_AFTER_MS) {
          const victim = cscliLive.shift()!;
          const del = await cli.run(['decisions', 'delete', '-i', victim.value]);
          if (del.code === 0 && del.output.includes('1 decision(s) deleted')) {
            deletedValues.add(victim.value);
          }
        }
        if (c % 4 === 0) {
          await cli.run(['decisions', 'list', '-o', 'json']);
          await cli.run(['alerts', 'list', '-o', 'json']);
        }
      }
    })();

    const loadFor = async (ms: number) => {
      const until = Date.now() + ms;
      await waitFor(`writes accepted in phase "${phase}"`, () => (acceptedIn(phase) > 0 ? true : undefined), {
        timeoutMs: 20_000,
        describe: () => `refused:\n${refused.slice(-10).join('\n')}\n${serverOutputs()}`,
      });
      await sleep(Math.max(0, until - Date.now()));
    };

    const projectorOwner = () =>
      waitFor(
        'a worker to hold the projector lease',
        async () => {
          const owner = (await projectionStatus()).owner;
          return workers.find((w) => !w.exited() && owner?.split(':')[1] === String(w.pid)) ? owner! : undefined;
        },
        { timeoutMs: 20_000, describe: serverOutputs },
      );

    try {
      try {
        await loadFor(3_000);

        phase = 'replica killed';
        process.kill(apis[0].pid, 'SIGKILL');
        agentAttacker = '198.51.100.77';
        await lapiOk(['machines', 'add', 'agent', '--password', 'agent-password-123456']);
        const replay = await replayAgentLog({
          dir: join(tmp, 'agent'),
          url: haproxy.url,
          login: 'agent',
          password: 'agent-password-123456',
          sourceIp: agentAttacker,
        });
        expect(replay.output).toContain(`Ip ${agentAttacker} performed 'crowdsecurity/ssh-bf'`);
        await loadFor(2_000);

        phase = 'projector killed';
        const before = await projectorOwner();
        process.kill(Number(before.split(':')[1]), 'SIGKILL');
        startWorker();
        await waitFor(
          'another worker to take the projector over',
          async () => {
            const owner = await projectorOwner();
            return owner !== before ? owner : undefined;
          },
          { timeoutMs: 20_000, describe: serverOutputs },
        );
        await loadFor(3_000);

        phase = 'redis flushed';
        expect(await redis.flushall()).toBe('OK');
        await loadFor(5_000);
      } finally {
        stopLoad = true;
        await Promise.all([alertLoad, cscliLoad]);
      }

      // Drain: the projection catches up, the short decisions all expire, then every poller pulls once more.
      phase = 'drain';
      const [{ last }] = await sql<{ last: number }[]>`
        select coalesce(max(extract(epoch from until) * 1000), 0)::float8 as last
        from decisions where until < now() + interval '1 minute'`;
      await waitFor(
        'the projection to catch up (lag 0)',
        async () => ((await projectionStatus()).lag === 0 ? true : undefined),
        { timeoutMs: 30_000, describe: serverOutputs },
      );
      await sleep(Math.max(0, last + 500 - Date.now()));
      const drainedAt = Date.now();
      await waitFor(
        'a successful pull by every poller after the drain',
        () => (groups.every((g) => g.pages.some((p) => p.sentAt > drainedAt + POLL_MS)) ? true : undefined),
        { timeoutMs: 20_000, describe: () => groups.map((g) => g.failures.slice(-5).join('\n')).join('\n') },
      );
      finished = true;
    } catch (error) {
      ranOut = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw error;
    } finally {
      stopPolls = true;
      await Promise.all([...pollLoops, sampler]);
    }

    // Writes were taken in every phase, and through every replica that was up.
    expect({
      'all up': acceptedIn('all up') > 0,
      'replica killed': acceptedIn('replica killed') > 0,
      'projector killed': acceptedIn('projector killed') > 0,
      'redis flushed': acceptedIn('redis flushed') > 0,
    }).toEqual({ 'all up': true, 'replica killed': true, 'projector killed': true, 'redis flushed': true });
    // Deletions went through both ways (the API as a machine, cscli), so `deleted` is not only expiries.
    expect({
      byApi: [...deletedValues].some((v) => v.startsWith('10.77.')),
      byCscli: [...deletedValues].some((v) => v.startsWith('10.88.')),
    }).toEqual({ byApi: true, byCscli: true });
    const servers = new Set(groups.flatMap((g) => g.pages.map((p) => p.servedBy)));
    expect([...servers].sort()).toEqual(['api-1', 'api-2', 'api-3']);
  }, 170_000);

  it('lost no accepted alert: every alert answered 201 is in the database and in GET /v1/alerts', async () => {
    finishedRun();
    const stored = new Set((await sql<{ id: number }[]>`select id::int as id from alerts`).map((r) => r.id));
    const missing = accepted.filter((a) => !stored.has(a.alertId));
    expect({ accepted: accepted.length, missing }).toEqual({ accepted: accepted.length, missing: [] });
    // Through HAProxy, as cscli reads them (one GET per alert: `alerts inspect`'s route).
    const notServed: number[] = [];
    for (const a of accepted.filter((_, i) => i % 10 === 0)) {
      const res = await fetch(`${haproxy.url}/v1/alerts/${a.alertId}`, {
        headers: { authorization: `Bearer ${token}`, 'user-agent': UA },
      });
      const body = (await res.json()) as { id?: number; decisions?: { value: string }[] };
      if (res.status !== 200 || body.id !== a.alertId || body.decisions?.[0]?.value !== a.values[0]) {
        notServed.push(a.alertId);
      }
    }
    expect(notServed).toEqual([]);
    // The agent's alert became the profile's ban; cscli lists the long decisions that were not deleted.
    const agentRows = await sql`select 1 from decisions d join alerts a on a.id = d.alert_id
      where d.value = ${agentAttacker} and a.machine_id = 'agent' and d.origin = 'crowdsec'`;
    expect(agentRows).toHaveLength(1);
    // --limit 0: cscli asks for 100 alerts by default, fewer than a run now leaves active.
    const listed =
      (await cli.json<{ decisions?: { value: string }[] }[] | null>(['decisions', 'list', '--limit', '0'])) ?? [];
    const listedValues = new Set(listed.flatMap((a) => (a.decisions ?? []).map((d) => d.value)));
    const active = await sql<{ value: string }[]>`select value from decisions where until > now() and not removed`;
    expect(active.filter((r) => !listedValues.has(r.value))).toEqual([]);
  });

  /** Every decision of the database, with the stream's default scopes (ip, range). */
  const allDecisions = async (): Promise<DecisionRow[]> =>
    sql<DecisionRow[]>`
      select id::int as id, value, type, (extract(epoch from until) * 1000)::float8 as "untilMs",
        (extract(epoch from created_at) * 1000)::float8 as "createdMs"
      from decisions where lower(scope) in ('ip', 'range')`;

  it('gave every stream poller each decision once in new, each deletion and expiry once in deleted', async () => {
    finishedRun();
    const decisions = await allDecisions();
    const problems: Record<string, unknown> = {};
    for (const g of groups) {
      const lastSent = Math.max(...g.pages.map((p) => p.sentAt));
      const all = new Set(decisions.map((d) => d.id));
      const ended = new Set(decisions.filter((d) => d.untilMs <= lastSent).map((d) => d.id));
      const news = exactlyOnceReport(g.pages, 'new', all, decisions);
      const deleted = exactlyOnceReport(g.pages, 'deleted', ended, decisions);
      if (news.wrong || deleted.wrong) {
        problems[g.name] = { new: news, deleted, failedPolls: g.failures.slice(0, 5) };
      }
    }
    expect(problems).toEqual({});
  });

  it('had the custom bouncer run its script once per decision (add) and once per deletion or expiry (del)', async () => {
    finishedRun();
    const decisions = await allDecisions();
    const bans = decisions.filter((d) => d.type === 'ban');
    const ended = new Set(bans.filter((d) => d.untilMs <= Date.now()).map((d) => d.value));
    const want = (action: string, value: string) => (action === 'add' ? 1 : ended.has(value) ? 1 : 0);
    const tally = (calls: { action: string; value: string }[]) => {
      const out = new Map<string, number>();
      for (const call of calls) {
        out.set(`${call.action} ${call.value}`, (out.get(`${call.action} ${call.value}`) ?? 0) + 1);
      }
      return out;
    };
    const mismatches = () => {
      const got = tally(custom.calls());
      const wrong: string[] = [];
      for (const d of bans) {
        for (const action of ['add', 'del']) {
          const n = got.get(`${action} ${d.value}`) ?? 0;
          if (n !== want(action, d.value)) {
            wrong.push(`${action} ${d.value}: ${n}× (want ${want(action, d.value)})`);
          }
        }
      }
      return wrong;
    };
    // Its last pull may be up to a second behind.
    await waitFor('the custom bouncer to be told everything', () => (mismatches().length === 0 ? true : undefined), {
      timeoutMs: 10_000,
    }).catch(() => undefined);
    expect(mismatches().slice(0, 20)).toEqual([]);
    // Two processes behind one key share its cursor: together they are told every change at least once.
    const union = tally(sharedCustoms.flatMap((s) => s.calls()));
    const unseen = bans.flatMap((d) =>
      ['add', 'del']
        .filter((action) => want(action, d.value) === 1 && !union.has(`${action} ${d.value}`))
        .map((action) => `${action} ${d.value}`),
    );
    expect(unseen.slice(0, 20)).toEqual([]);
  });

  it('left the firewall bouncer with exactly the active bans in its nftables set', async () => {
    finishedRun();
    if (!firewall) {
      throw new Error(`the firewall bouncer cannot run here: ${await nftablesProblem()}`);
    }
    const expected = async () =>
      (
        await sql<{ value: string }[]>`
        select value from decisions where until > now() and not removed and type = 'ban' and lower(scope) = 'ip'`
      )
        .map((r) => r.value)
        .sort();
    const want = await expected();
    await firewall
      .waitForElements(
        'hold exactly the active bans',
        (els) => JSON.stringify([...els].sort()) === JSON.stringify(want),
      )
      .catch(() => undefined);
    expect([...(await firewall.elements())].sort()).toEqual(want);
  });

  it('recovered the projection by itself: lag 0, the Redis read model equal to the database, a gapless change log', async () => {
    finishedRun();
    const status = await waitFor('lag 0', async () => {
      const s = await projectionStatus();
      return s.lag === 0 ? s : undefined;
    });
    const target = new RedisDecisionsTarget(redis, decisionKeys(redisKeys(PREFIX).decisions));
    const inRedis = new Map((await target.records()).map((r) => [r.id, r]));
    const rows = await sql<{ id: number; untilMs: number; removed: boolean }[]>`
      select id::int as id, (extract(epoch from until) * 1000)::float8 as "untilMs", removed from decisions`;
    const differ = rows
      .filter((r) => {
        const rec = inRedis.get(r.id);
        return !rec || rec.until !== Math.round(r.untilMs) || rec.removed !== r.removed;
      })
      .map((r) => ({ sql: r, redis: inRedis.get(r.id) ?? null }));
    expect({ count: inRedis.size, differ: differ.slice(0, 10) }).toEqual({ count: rows.length, differ: [] });

    // Fencing: the change log numbers every change once, and a batch applied twice would repeat a record verbatim.
    const seq = await target.seq();
    const changes = await target.changesAfter(0, 1_000_000);
    const gaps = changes.filter((ch, i) => i > 0 && ch.seq !== changes[i - 1].seq + 1).map((ch) => ch.seq);
    const repeated = new Set<string>();
    const dupes: string[] = [];
    for (const ch of changes) {
      const key = JSON.stringify(ch.record);
      if (repeated.has(key)) {
        dupes.push(key);
      }
      repeated.add(key);
    }
    expect({ last: changes[changes.length - 1]?.seq, gaps, dupes: dupes.slice(0, 5) }).toEqual({
      last: seq,
      gaps: [],
      dupes: [],
    });
    expect(status.changes).toBe(seq);
  });

  it('never ran a singleton twice at once: one expiry record per decision, no projector owner came back', async () => {
    finishedRun();
    // Every decision whose until passed before the last sweep could see it is recorded expired, exactly once; a
    // sweep run twice at once (or again after a crash or a Redis reset) records some twice.
    const explicitlyEnded = new Set(
      (await sql<{ ids: number[] }[]>`select data->'decisionIds' as ids from events where type = 'DecisionsDeleted'`)
        .flatMap((r) => r.ids)
        .map(Number),
    );
    const expired = async () => {
      const rows = await sql<{ ids: number[] }[]>`
        select data->'decisionIds' as ids from events where type = 'DecisionsExpired'`;
      return rows.flatMap((r) => r.ids).map(Number);
    };
    const due = (await allDecisions())
      .filter((d) => d.untilMs < Date.now() && !explicitlyEnded.has(d.id))
      .map((d) => d.id);
    await waitFor(
      'the expiry sweep to record every expired decision',
      async () => {
        const got = new Set(await expired());
        return due.every((id) => got.has(id)) ? true : undefined;
      },
      { timeoutMs: 25_000 },
    ).catch(() => undefined);
    const recorded = await expired();
    const times = new Map<number, number>();
    recorded.forEach((id) => times.set(id, (times.get(id) ?? 0) + 1));
    expect({
      twice: [...times].filter(([, k]) => k > 1).map(([id]) => id),
      notRecorded: due.filter((id) => !times.has(id)),
      deletedButRecorded: [...times.keys()].filter((id) => explicitlyEnded.has(id)),
    }).toEqual({ twice: [], notRecorded: [], deletedButRecorded: [] });

    // The lease's owners, in the order sampled: a former owner appearing again means two projectors alternated.
    const comeBack = owners.filter((o, i) => owners.indexOf(o) !== i);
    expect({ owners, comeBack }).toEqual({ owners, comeBack: [] });
    expect(owners.length).toBeGreaterThanOrEqual(2);
  });
});
