import { type AlertInput } from '@lapi/domain/alerts/alert';
import { ValidationError } from '@lapi/domain/shared/errors';
import { parseGoDuration } from '@lapi/domain/shared/go-duration';
import { parseIpRange } from '@lapi/domain/shared/ip-range';
import { normalizeScope } from '@lapi/domain/shared/scope';
import { cscliIpFlags } from '../shared/cscli-flags';

/** `cscli decisions add`'s flags: --ip, --range, or --scope with --value; the rest have cscli's defaults. */
export interface ManualDecision {
  readonly ip?: string;
  readonly range?: string;
  readonly scope?: string;
  readonly value?: string;
  readonly duration?: string;
  readonly type?: string;
  readonly reason?: string;
}

/** The machine id the admin CLI's alerts carry, as cscli's carry its login. */
export const ADMIN_MACHINE = 'lapi';

/**
 * The alert `cscli decisions add` (1.4.6, cmd/crowdsec-cli/decisions.go) sends for one decision: its checks and
 * messages, its defaults (4h, ban, scope Ip, reason "manual '<type>' from '<login>'"), origin `cscli`.
 */
export function manualDecisionAlert(input: ManualDecision, now: Date): AlertInput {
  cscliIpFlags(input);
  const [value, scope] = input.ip
    ? [input.ip, 'Ip']
    : input.range
      ? [input.range, 'Range']
      : [input.value ?? '', normalizeScope(input.scope ?? 'Ip')];
  if (value === '') {
    throw new ValidationError('Missing arguments, a value is required (--ip, --range or --scope and --value)');
  }
  // cscli leaves these to the LAPI, which refuses them with the alert; said here before anything is written.
  if ((scope === 'Ip' || scope === 'Range') && parseIpRange(value) === null) {
    throw new ValidationError(`${value} isn't a valid ${scope === 'Ip' ? 'ip' : 'range'}`);
  }
  const duration = input.duration ?? '4h';
  if (parseGoDuration(duration) === null) {
    throw new ValidationError(`invalid duration '${duration}'`);
  }
  const type = input.type ?? 'ban';
  const reason = input.reason || `manual '${type}' from '${ADMIN_MACHINE}'`;
  const at = now.toISOString();
  return {
    scenario: reason,
    scenarioHash: '',
    scenarioVersion: '',
    message: reason,
    eventsCount: 1,
    startAt: at,
    stopAt: at,
    capacity: 0,
    leakspeed: '0',
    simulated: false,
    remediation: true,
    events: [],
    source: { scope, value, ip: value },
    decisions: [{ duration, scope, value, type, scenario: reason, origin: 'cscli' }],
    meta: [],
    labels: null,
  };
}
