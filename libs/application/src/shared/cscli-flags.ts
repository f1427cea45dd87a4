import { ValidationError } from '@lapi/domain/shared/errors';
import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import { parseIpRange, type IpRange } from '@lapi/domain/shared/ip-range';

// What cscli checks in its flags before it sends anything (1.4.6 cmd/crowdsec-cli/utils.go manageCliDecisionAlerts,
// alerts.go, decisions.go), in one place for every `lapi` command that takes them.

/** The filters cscli's `decisions` and `alerts` commands share, as typed on the command line. */
export interface CscliFilterFlags {
  readonly ip?: string;
  readonly range?: string;
  readonly scope?: string;
  readonly value?: string;
  readonly scenario?: string;
  /** Decision type. */
  readonly type?: string;
  /** --contained: decisions inside --ip/--range rather than those containing it. */
  readonly contained?: boolean;
}

/** `-i` must be an address and `-r` a CIDR range, with cscli's messages. */
export function cscliIpFlags(flags: { readonly ip?: string; readonly range?: string }): {
  ip?: IpRange;
  range?: IpRange;
} {
  const range = flags.range ? parseIpRange(flags.range) : undefined;
  if (flags.range && (range === null || !flags.range.includes('/'))) {
    throw new ValidationError(`${flags.range} isn't a valid range`);
  }
  const ip = flags.ip ? parseIpRange(flags.ip) : undefined;
  if (flags.ip && (ip === null || flags.ip.includes('/'))) {
    throw new ValidationError(`${flags.ip} isn't a valid ip`);
  }
  return { ip: ip ?? undefined, range: range ?? undefined };
}

/** `--since 4h`, `--until 2d`: the time that long before now (cscli reads Nd as N×24h). */
export function durationAgo(flag: string, text: string, now: Date): Date {
  const ns = parseGoDuration(text.trim());
  if (ns === null) {
    throw new ValidationError(`--${flag}: can't parse duration ${text}, valid durations format: 1d, 4h, 4h15m`);
  }
  return new Date(now.getTime() - Number(ns / NANOS_PER_MS));
}
