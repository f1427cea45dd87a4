import { parseIp } from '@lapi/domain';
import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { LapiHttpError } from '../http/http-errors';

export interface LoginThrottlePolicy {
  readonly maxPerIp: number;
  readonly maxPerMachine: number;
  readonly windowMs: number;
}

/** Failures counted in a key's current window; the window starts with its first failure. */
export interface WindowCount {
  readonly count: number;
  readonly resetInMs: number;
}

/** Where failures are counted: in memory (one process) or in Redis (shared by the replicas). */
export interface FailureCounter {
  read(keys: readonly string[]): Promise<WindowCount[]>;
  /** One more failure for each key. */
  add(keys: readonly string[], windowMs: number): Promise<void>;
  /**
   * In one step: the key's window if it is full (nothing taken), else null and one more counted — an attempt
   * counts as a failure from its start, so parallel attempts cannot all pass a check made before any failed.
   */
  take(key: string, limit: number, windowMs: number): Promise<WindowCount | null>;
  /** Gives back what take() counted, for an attempt that did not fail. */
  giveBack(key: string): Promise<void>;
}

/**
 * The keys a login attempt is counted under. IPv6 clients by their /64, which one host usually holds whole;
 * machine ids hashed, so an arbitrary id cannot make an arbitrary key.
 */
export function throttleKeys(ip: string, machineId: string): { ip: string; machine: string } {
  const parsed = parseIp(ip);
  const bucket = parsed?.family === 6 ? `${(parsed.value >> 64n).toString(16)}/64` : ip;
  const machine = createHash('sha256').update(machineId).digest('base64url').slice(0, 22);
  return { ip: `ip:${bucket}`, machine: `machine:${machine}` };
}

/** Refused while either count has reached its limit, until the later of the windows that are full ends. */
export function loginVerdict(
  policy: LoginThrottlePolicy,
  ip: WindowCount,
  machine: WindowCount,
): { allowed: true } | { allowed: false; retryAfterS: number } {
  const full = [
    ...(ip.count >= policy.maxPerIp ? [ip] : []),
    ...(machine.count >= policy.maxPerMachine ? [machine] : []),
  ];
  if (full.length === 0) {
    return { allowed: true };
  }
  return { allowed: false, retryAfterS: Math.max(1, ...full.map((w) => Math.ceil(w.resetInMs / 1000))) };
}

export const tooManyFailures = (retryAfterS: number): LapiHttpError =>
  new LapiHttpError(429, `too many failed login attempts, retry in ${retryAfterS}s`, {
    'retry-after': String(retryAfterS),
  });

const NOTHING: WindowCount = { count: 0, resetInMs: 0 };

// A counter that does not answer in this time is treated as down: a login never waits on it for long.
const COUNTER_TIMEOUT_MS = 1_000;

/**
 * Failed machine logins per client IP and per machine id. Only failures count, so clients that log in correctly,
 * however many behind one address, are never refused. A machine id's attempts count from their start and are given
 * back if they succeed: its limit holds however many guesses run in parallel (one machine logs in one at a time).
 * An address's failures count once known, so many agents behind one NAT may log in at once; parallel guesses from
 * one address are bounded by the machine ids' limits. A counter that fails lets every login through (logged once
 * per outage): throttling must never stop logins from working.
 */
export class LoginThrottle {
  private readonly logger = new Logger('LoginThrottle');
  private counterDown = false;

  constructor(
    private readonly counter: FailureCounter,
    private readonly policy: LoginThrottlePolicy,
  ) {}

  /**
   * Throws the 429 when this IP or this machine id has failed too often in its window; otherwise the attempt is
   * counted against the machine id until it is reported: failed() or givenBack().
   */
  async check(ip: string, machineId: string): Promise<void> {
    const keys = throttleKeys(ip, machineId);
    const [ipCount] = (await this.guarded(() => this.counter.read([keys.ip]))) ?? [NOTHING];
    const early = loginVerdict(this.policy, ipCount, NOTHING);
    if (!early.allowed) {
      throw tooManyFailures(early.retryAfterS);
    }
    const full = await this.guarded(() =>
      this.counter.take(keys.machine, this.policy.maxPerMachine, this.policy.windowMs),
    );
    if (full) {
      const verdict = loginVerdict(this.policy, ipCount, full);
      throw tooManyFailures(verdict.allowed ? 1 : verdict.retryAfterS);
    }
  }

  /** The attempt failed on its credentials: it stays counted for the machine id, and now for the address. */
  async failed(ip: string, machineId: string): Promise<void> {
    const keys = throttleKeys(ip, machineId);
    await this.guarded(() => this.counter.add([keys.ip], this.policy.windowMs));
  }

  /** The attempt did not fail on its credentials (logged in, or the server failed): it no longer counts. */
  async givenBack(ip: string, machineId: string): Promise<void> {
    const keys = throttleKeys(ip, machineId);
    await this.guarded(() => this.counter.giveBack(keys.machine));
  }

  private async guarded<T>(operation: () => Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        operation(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${COUNTER_TIMEOUT_MS} ms`)), COUNTER_TIMEOUT_MS);
        }),
      ]);
      if (this.counterDown) {
        this.counterDown = false;
        this.logger.log('login failure counter back: login throttling is on again');
      }
      return result;
    } catch (error) {
      if (!this.counterDown) {
        this.counterDown = true;
        this.logger.warn(
          `login failure counter unavailable, logins are not throttled meanwhile: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
