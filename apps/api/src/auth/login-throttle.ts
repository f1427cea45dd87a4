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

// A counter that does not answer in this time is treated as down: a login never waits on it for long.
const COUNTER_TIMEOUT_MS = 1_000;

/**
 * Failed machine logins per client IP and per machine id. Only failures count, so clients that log in correctly,
 * however many behind one address, are never refused. A counter that fails lets every login through (logged once
 * per outage): throttling must never stop logins from working.
 */
export class LoginThrottle {
  private readonly logger = new Logger('LoginThrottle');
  private counterDown = false;

  constructor(
    private readonly counter: FailureCounter,
    private readonly policy: LoginThrottlePolicy,
  ) {}

  /** Throws the 429 when this IP or this machine id has failed too often in its window. */
  async check(ip: string, machineId: string): Promise<void> {
    const keys = throttleKeys(ip, machineId);
    const counts = await this.guarded(() => this.counter.read([keys.ip, keys.machine]));
    if (!counts) {
      return;
    }
    const verdict = loginVerdict(this.policy, counts[0], counts[1]);
    if (!verdict.allowed) {
      throw tooManyFailures(verdict.retryAfterS);
    }
  }

  async failed(ip: string, machineId: string): Promise<void> {
    const keys = throttleKeys(ip, machineId);
    await this.guarded(() => this.counter.add([keys.ip, keys.machine], this.policy.windowMs));
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
