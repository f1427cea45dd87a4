// cscli 1.4.6 against the reference LAPI (Debian's crowdsec 1.4.6) and against ours, side by side: both are given
// the same alerts through the same HTTP calls (POST /v1/alerts as a watcher), then cscli prints the same for
// `decisions list`, `alerts list`, `alerts inspect ID` (json; ids, uuids, timestamps and durations normalised) and
// says the same for `decisions delete -i IP` and `alerts delete --all`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli, type CscliHome } from './cscli';
import { CROWDSEC_MISSING_MESSAGE, crowdsecPath } from './reference';
import { startTarget, type LapiTarget } from './targets';

const LOGIN = 'parity-watcher';
const PASSWORD = 'parity-watcher-password-0123';

if (!cscliAvailable() || !crowdsecPath()) {
  throw new Error(cscliAvailable() ? CROWDSEC_MISSING_MESSAGE : CSCLI_MISSING_MESSAGE);
}

/** Fields that differ by nature between two servers given the same data: replaced by their kind. */
const VOLATILE = new Set(['id', 'uuid', 'created_at', 'updated_at', 'duration', 'until', 'alert_id']);

/**
 * Left out: an alert's `remediation`, which 1.4.6 does not store (it never answers it) and ours answers as ≥1.6.3
 * does (LAPI-CONTRACT §4.2); cscli 1.4.6's model has the field, so it prints what it is given.
 */
const NEWER_THAN_146 = new Set(['remediation']);

function normalise(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(normalise);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !NEWER_THAN_146.has(k))
        .map(([k, v]) => [k, VOLATILE.has(k) ? `<${typeof v}>` : normalise(v)]),
    );
  }
  return value;
}

/** The alerts both servers are given, the same bytes to each. */
function alertsBody(at: string): unknown[] {
  const base = {
    scenario_hash: 'abc123',
    scenario_version: '0.1',
    start_at: at,
    stop_at: at,
    capacity: 5,
    leakspeed: '10s',
    simulated: false,
  };
  return [
    // An agent's alert: no decisions, the default profile makes a 4h ban; events and meta.
    {
      ...base,
      scenario: 'crowdsecurity/ssh-bf',
      message: 'Ip 203.0.113.9 performed crowdsecurity/ssh-bf (6 events over 2s)',
      events_count: 6,
      remediation: true,
      source: { scope: 'Ip', value: '203.0.113.9', ip: '203.0.113.9', cn: 'FR', as_number: '64500', as_name: 'E2E' },
      events: [{ timestamp: at, meta: [{ key: 'log_type', value: 'ssh_failed-auth' }] }],
      meta: [{ key: 'target_user', value: 'root' }],
    },
    // An alert with its own decisions: an IP ban and a captcha on a range.
    {
      ...base,
      scenario: 'e2e/parity-manual',
      message: 'parity decisions',
      events_count: 1,
      source: { scope: 'Ip', value: '192.0.2.20', ip: '192.0.2.20' },
      events: [],
      decisions: [
        {
          duration: '1h',
          origin: 'cscli',
          scenario: 'e2e/parity-manual',
          scope: 'Ip',
          type: 'ban',
          value: '192.0.2.20',
        },
        {
          duration: '2h',
          origin: 'cscli',
          scenario: 'e2e/parity-range',
          scope: 'Range',
          type: 'captcha',
          value: '198.51.100.0/24',
        },
      ],
    },
  ];
}

interface Side {
  target: LapiTarget;
  home: CscliHome;
}

describe('cscli 1.4.6 prints the same against the reference LAPI and ours', () => {
  let tmp: string;
  const sides: Record<'reference' | 'ours', Side> = {} as Record<'reference' | 'ours', Side>;

  const cscli = async (side: Side, ...args: string[]) => {
    const r = await runCscli(side.home.configPath, args);
    expect({ target: side.target.name, args, code: r.code, out: r.code === 0 ? '' : r.output }).toEqual({
      target: side.target.name,
      args,
      code: 0,
      out: '',
    });
    return r;
  };
  /** `cscli ARGS -o json` on both sides, normalised: [reference, ours]. */
  const both = async (...args: string[]) => {
    const out = [];
    for (const side of [sides.reference, sides.ours]) {
      out.push(normalise(JSON.parse((await cscli(side, ...args, '-o', 'json')).stdout)));
    }
    return out;
  };
  const ids = async (side: Side) =>
    ((JSON.parse((await cscli(side, 'alerts', 'list', '-o', 'json')).stdout) as { id: number }[] | null) ?? []).map(
      (a) => a.id,
    );

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-cscli-parity-'));
    const at = new Date(Date.now() - 60_000).toISOString();
    for (const [key, name] of [
      ['reference', 'reference'],
      ['ours', 'embedded'],
    ] as const) {
      const target = await startTarget(name, join(tmp, key));
      sides[key] = {
        target,
        home: makeCscliHome(join(tmp, key, 'cscli'), { url: target.url, login: LOGIN, password: PASSWORD }),
      };
      await target.addMachine(LOGIN, PASSWORD);
      const login = await fetch(`${target.url}/v1/watchers/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.4.6-test' },
        body: JSON.stringify({ machine_id: LOGIN, password: PASSWORD, scenarios: ['crowdsecurity/ssh-bf'] }),
      });
      expect({ key, status: login.status }).toEqual({ key, status: 200 });
      const { token } = (await login.json()) as { token: string };
      // One POST per alert, so both servers number them in the same order.
      for (const alert of alertsBody(at)) {
        const pushed = await fetch(`${target.url}/v1/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify([alert]),
        });
        expect({ key, status: pushed.status, body: await pushed.text() }).toMatchObject({ key, status: 201 });
      }
    }
  }, 90_000);

  afterAll(async () => {
    await sides.ours?.target.stop();
    await sides.reference?.target.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('decisions list and alerts list', async () => {
    const [theirs, ours] = await both('decisions', 'list');
    expect(ours).toEqual(theirs);
    expect(JSON.stringify(theirs)).toContain('198.51.100.0/24'); // not two empty lists
    const [theirAlerts, ourAlerts] = await both('alerts', 'list');
    expect(ourAlerts).toEqual(theirAlerts);
    expect((theirAlerts as unknown[]).length).toBe(2);
  });

  it('alerts inspect ID, for each alert', async () => {
    const [theirIds, ourIds] = [await ids(sides.reference), await ids(sides.ours)];
    expect(ourIds).toHaveLength(theirIds.length);
    for (const [i, theirId] of theirIds.entries()) {
      const theirs = normalise(
        JSON.parse((await cscli(sides.reference, 'alerts', 'inspect', String(theirId), '-o', 'json')).stdout),
      );
      const ours = normalise(
        JSON.parse((await cscli(sides.ours, 'alerts', 'inspect', String(ourIds[i]), '-o', 'json')).stdout),
      );
      expect({ i, alert: ours }).toEqual({ i, alert: theirs });
    }
  });

  it('decisions delete -i IP and alerts delete --all say the same', async () => {
    const said = async (pattern: RegExp, ...args: string[]) => {
      const out = [];
      for (const side of [sides.reference, sides.ours]) {
        const r = await cscli(side, ...args);
        out.push(pattern.exec(r.output)?.[0] ?? `nothing like ${pattern} in: ${r.output}`);
      }
      return out;
    };
    const decided = /\d+ decision\(s\) deleted/;
    for (const ip of ['192.0.2.20', '192.0.2.20', '203.0.113.9']) {
      const [theirs, ours] = await said(decided, 'decisions', 'delete', '-i', ip);
      expect({ ip, ours }).toEqual({ ip, ours: theirs });
    }
    const [theirList, ourList] = await both('decisions', 'list');
    expect(ourList).toEqual(theirList);

    const [theirs, ours] = await said(/\d+ alert\(s\) deleted/, 'alerts', 'delete', '--all');
    expect(ours).toEqual(theirs);
    expect(theirs).toBe('2 alert(s) deleted');
    const [theirAlerts, ourAlerts] = await both('alerts', 'list');
    expect(ourAlerts).toEqual(theirAlerts);
  });
});
