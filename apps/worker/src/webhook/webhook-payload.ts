import type { DecisionRecord } from '@lapi/read-models';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** One decision change as the webhook sends it. */
export interface WebhookChange {
  /** The change number in the cluster's change log: increasing, the receiver's resume point and dedup key. */
  readonly seq: number;
  /** `added`: active until `until`, receivers expire it themselves; `deleted`: ended early (deleted, alert deleted). */
  readonly action: 'added' | 'deleted';
  readonly decision: {
    readonly id: number;
    readonly uuid: string;
    readonly origin: string;
    readonly type: string;
    readonly scope: string;
    readonly value: string;
    readonly scenario: string;
    readonly simulated: boolean;
    /** RFC 3339 */
    readonly until: string;
  };
}

/**
 * The body of one delivery. A change is `deleted` when its record no longer is active at `now` (deleted, or its
 * alert was): the change log only records a decision again when it ends early, so expiry by time needs no message.
 */
export function webhookBody(changes: readonly { seq: number; record: DecisionRecord }[], now: number): string {
  const out: WebhookChange[] = changes.map(({ seq, record: r }) => ({
    seq,
    action: r.removed || r.until <= now ? 'deleted' : 'added',
    decision: {
      id: r.id,
      uuid: r.uuid,
      origin: r.origin,
      type: r.type,
      scope: r.scope,
      value: r.value,
      scenario: r.scenario,
      simulated: r.simulated,
      until: new Date(r.until).toISOString(),
    },
  }));
  return JSON.stringify({ changes: out });
}

export const SIGNATURE_HEADER = 'x-lapi-signature';
export const DELIVERY_HEADER = 'x-lapi-delivery';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed too, so a receiver can refuse
 * replays older than a few minutes.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${mac(secret, body, unixSeconds).toString('hex')}`;
}

const mac = (secret: string, body: string, unixSeconds: number): Buffer =>
  createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest();

/** What a receiver does (and our tests): true when the header signs this body with this secret within `toleranceS`. */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceS = 300,
): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m || Math.abs(nowSeconds - Number(m[1])) > toleranceS) {
    return false;
  }
  return timingSafeEqual(mac(secret, body, Number(m[1])), Buffer.from(m[2], 'hex'));
}
