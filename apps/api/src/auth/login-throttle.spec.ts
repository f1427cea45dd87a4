import { Logger } from '@nestjs/common';
import { MemoryFailureCounter } from './failure-counters';
import { LoginThrottle, loginVerdict, throttleKeys, type FailureCounter } from './login-throttle';

const policy = { maxPerIp: 3, maxPerMachine: 2, windowMs: 60_000 };
const none = { count: 0, resetInMs: 0 };

describe('throttleKeys', () => {
  it('counts IPv4 clients by address and IPv6 clients by /64', () => {
    expect(throttleKeys('192.0.2.1', 'm').ip).toBe('ip:192.0.2.1');
    expect(throttleKeys('2001:db8:1:2::7', 'm').ip).toBe(throttleKeys('2001:db8:1:2:ffff::1', 'm').ip);
    expect(throttleKeys('2001:db8:1:2::7', 'm').ip).not.toBe(throttleKeys('2001:db8:1:3::7', 'm').ip);
  });

  it('hashes machine ids into short keys, one per id', () => {
    const long = throttleKeys('192.0.2.1', 'x'.repeat(10_000)).machine;
    expect(long).toMatch(/^machine:[A-Za-z0-9_-]{22}$/);
    expect(throttleKeys('192.0.2.1', 'a').machine).not.toBe(throttleKeys('192.0.2.1', 'b').machine);
  });
});

describe('loginVerdict', () => {
  it('allows until either count reaches its limit', () => {
    expect(loginVerdict(policy, { count: 2, resetInMs: 10 }, { count: 1, resetInMs: 10 })).toEqual({ allowed: true });
    expect(loginVerdict(policy, { count: 3, resetInMs: 12_300 }, none)).toEqual({ allowed: false, retryAfterS: 13 });
    expect(loginVerdict(policy, none, { count: 2, resetInMs: 400 })).toEqual({ allowed: false, retryAfterS: 1 });
  });

  it('waits for the later of the full windows', () => {
    expect(loginVerdict(policy, { count: 5, resetInMs: 5_000 }, { count: 2, resetInMs: 50_000 })).toEqual({
      allowed: false,
      retryAfterS: 50,
    });
    // a window that is not full does not lengthen the wait
    expect(loginVerdict(policy, { count: 3, resetInMs: 5_000 }, { count: 1, resetInMs: 50_000 })).toEqual({
      allowed: false,
      retryAfterS: 5,
    });
  });
});

describe('LoginThrottle over the in-memory counter', () => {
  let now: number;
  let throttle: LoginThrottle;
  beforeEach(() => {
    now = 1_000_000;
    throttle = new LoginThrottle(new MemoryFailureCounter(() => now), policy);
  });
  const refused = (ip: string, machine: string) =>
    throttle.check(ip, machine).then(
      () => null,
      (e: { status: number; message: string; headers: Record<string, string> }) => e,
    );
  /** A login attempt as the controller runs it. */
  const attempt = async (ip: string, machine: string, outcome: 'fails' | 'succeeds') => {
    const error = await refused(ip, machine);
    if (error) {
      return error.status;
    }
    await (outcome === 'fails' ? throttle.failed(ip, machine) : throttle.givenBack(ip, machine));
    return outcome === 'fails' ? 401 : 200;
  };

  it('refuses a machine id after its failures, from any address, until its window ends', async () => {
    expect(await attempt('192.0.2.1', 'agent', 'fails')).toBe(401);
    now += 10_000;
    expect(await attempt('192.0.2.2', 'agent', 'fails')).toBe(401);
    const error = await refused('192.0.2.3', 'agent');
    expect(error).toMatchObject({
      status: 429,
      message: 'too many failed login attempts, retry in 50s',
      headers: { 'retry-after': '50' },
    });
    expect(await attempt('192.0.2.3', 'other', 'succeeds')).toBe(200);
    now += 50_000; // the window opened by the first failure is over
    expect(await attempt('192.0.2.3', 'agent', 'succeeds')).toBe(200);
  });

  it('refuses an address after its failures, whatever machine id it tries', async () => {
    for (const m of ['a', 'b', 'c']) {
      expect(await attempt('198.51.100.1', m, 'fails')).toBe(401);
    }
    expect((await refused('198.51.100.1', 'd'))?.status).toBe(429);
    expect(await attempt('198.51.100.2', 'd', 'succeeds')).toBe(200);
  });

  it('never counts successful logins, for the address or the machine id', async () => {
    for (let i = 0; i < 100; i++) {
      expect(await attempt('203.0.113.1', i % 2 ? 'agent' : `agent-${i}`, 'succeeds')).toBe(200);
    }
  });

  it('holds a machine id to its limit however many attempts run at once', async () => {
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(`192.0.2.${i}`, 'agent', 'fails')));
    expect(outcomes.filter((s) => s === 401)).toHaveLength(policy.maxPerMachine);
    expect(outcomes.filter((s) => s === 429)).toHaveLength(20 - policy.maxPerMachine);
  });

  it('lets every login through while its counter fails, and warns once', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const failing = () => Promise.reject(new Error('connection refused'));
    const down: FailureCounter = { read: failing, add: failing, take: failing, giveBack: failing };
    const open = new LoginThrottle(down, policy);
    for (let i = 0; i < 10; i++) {
      await expect(open.check('192.0.2.1', 'agent')).resolves.toBeUndefined();
      await open.failed('192.0.2.1', 'agent');
      await open.givenBack('192.0.2.1', 'agent');
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/not throttled meanwhile: connection refused/);
    warn.mockRestore();
  });
});

describe('MemoryFailureCounter', () => {
  it('keeps a fixed window from the first failure and forgets it after', async () => {
    let now = 0;
    const counter = new MemoryFailureCounter(() => now);
    await counter.add(['k'], 1_000);
    now = 600;
    await counter.add(['k'], 1_000);
    expect(await counter.read(['k', 'other'])).toEqual([{ count: 2, resetInMs: 400 }, none]);
    now = 1_000;
    expect(await counter.read(['k'])).toEqual([none]);
    await counter.add(['k'], 1_000);
    expect(await counter.read(['k'])).toEqual([{ count: 1, resetInMs: 1_000 }]);
  });

  it('stays bounded under a flood of keys', async () => {
    let now = 0;
    const counter = new MemoryFailureCounter(() => now);
    for (let i = 0; i < 120_000; i++) {
      await counter.add([`k${i}`], 60_000);
    }
    const size = (counter as unknown as { windows: Map<string, unknown> }).windows.size;
    expect(size).toBeLessThanOrEqual(100_000);
    // the newest keys are kept
    expect((await counter.read(['k119999']))[0].count).toBe(1);
    now = 60_000;
    await counter.add(['fresh'], 60_000);
    expect(await counter.read(['k119999'])).toEqual([none]);
  });
});
