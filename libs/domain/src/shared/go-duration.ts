// Go's time.Duration text format: what bouncers parse with time.ParseDuration, and what clients send.

const NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5
  μs: 1_000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const DAY_NS = 24n * NS.h;
const MAX_NS = 2n ** 63n - 1n;

/**
 * Parses a Go duration (`1h30m`, `1.5h`, `-90s`, `0`), with the optional leading whole-days part the reference
 * accepts since 1.6.9 (`2d`, `2d3h`, `-1d`). Returns nanoseconds, or null when Go would refuse the text.
 */
export function parseGoDuration(text: string): bigint | null {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') {
    return 0n;
  }
  if (s === '') {
    return null;
  }
  let total = 0n;
  const days = /^(\d+)d/.exec(s);
  if (days) {
    total = BigInt(days[1]) * DAY_NS;
    s = s.slice(days[0].length);
  }
  if (s === '' && days) {
    return check(negative ? -total : total);
  }
  const part = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== '') {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) {
      return null;
    }
    const unit = NS[m[3]];
    const whole = BigInt(m[1] || '0') * unit;
    const fraction = m[2] ? (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length) : 0n;
    total += whole + fraction;
    s = s.slice(m[0].length);
  }
  return check(negative ? -total : total);
}

const check = (ns: bigint): bigint | null => (ns > MAX_NS || ns < -MAX_NS - 1n ? null : ns);

/** Go's Duration.String(): `0s`, `1h0m0s`, `59.5s`, `6.25147ms`, `-1h0m0.5s`; never days. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) {
    return '0s';
  }
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  if (u < NS.s) {
    const [unit, size] = u < NS.us ? ['ns', 1n] : u < NS.ms ? ['µs', NS.us] : ['ms', NS.ms];
    return `${sign}${decimal(u, size)}${unit}`;
  }
  const hours = u / NS.h;
  const minutes = (u % NS.h) / NS.m;
  const seconds = decimal(u % NS.m, NS.s);
  if (hours > 0n) {
    return `${sign}${hours}h${minutes}m${seconds}s`;
  }
  return minutes > 0n ? `${sign}${minutes}m${seconds}s` : `${sign}${seconds}s`;
}

/** `value / size` with up to nine fraction digits, trailing zeros trimmed. */
const decimal = (value: bigint, size: bigint): string => {
  const whole = value / size;
  const rest = value % size;
  if (rest === 0n) {
    return whole.toString();
  }
  const digits = size.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
};

export const NANOS_PER_MS = 1_000_000n;

/**
 * formatGoDuration(ms × 1e6) in plain numbers: the time left of every decision a bouncer receives is rendered with
 * it (a million per startup pull at blocklist scale), and BigInt arithmetic made that the stream's largest cost.
 */
export function formatGoDurationMs(ms: number): string {
  if (ms === 0) {
    return '0s';
  }
  const sign = ms < 0 ? '-' : '';
  const u = Math.abs(ms);
  if (u < 1000) {
    return `${sign}${u}ms`;
  }
  const hours = Math.floor(u / 3_600_000);
  const minutes = Math.floor((u % 3_600_000) / 60_000);
  const inMinute = u % 60_000;
  const whole = Math.floor(inMinute / 1000);
  const rest = inMinute % 1000;
  const seconds =
    rest === 0 ? `${whole}` : `${whole}.${rest < 10 ? '00' : rest < 100 ? '0' : ''}${rest}`.replace(/0+$/, '');
  if (hours > 0) {
    return `${sign}${hours}h${minutes}m${seconds}s`;
  }
  return minutes > 0 ? `${sign}${minutes}m${seconds}s` : `${sign}${seconds}s`;
}
