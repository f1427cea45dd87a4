import type { Lease, RedisDecisionsTarget } from '@lapi/read-models';
import type Redis from 'ioredis';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, webhookBody } from './webhook-payload';

/** Posts one body; resolves with the HTTP status, rejects when no answer came. */
export type PostWebhook = (url: string, body: string, headers: Record<string, string>) => Promise<number>;

export const postWebhook: PostWebhook = async (url, body, headers) => {
  const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
};

export interface WebhookStep {
  readonly owner: boolean;
  readonly delivered: number;
}

// Advance only from where we started: a former lease holder that resumes late cannot move the cursor back.
const ADVANCE = `
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

const BATCH = 500;

/**
 * The signed webhook of decision changes: the decisions change log, in order, in batches of at most 500, each
 * POSTed as JSON with an HMAC-SHA256 signature, until the receiver answers 2xx. At least once and in order: a
 * batch is sent again until accepted, and receivers dedup by `seq`. A new (or wiped) cursor starts at 0, so a
 * receiver first gets every decision the log holds, as a bouncer's startup would.
 */
export class DecisionsWebhook {
  constructor(
    private readonly redis: Redis,
    private readonly decisions: Pick<RedisDecisionsTarget, 'changesAfter'>,
    private readonly keys: { cursor: string; status: string },
    private readonly lease: Lease,
    private readonly target: { url: string; secret: string },
    private readonly post: PostWebhook = postWebhook,
    private readonly now: () => number = Date.now,
  ) {}

  async step(): Promise<WebhookStep> {
    if (!(await this.lease.acquire())) {
      return { owner: false, delivered: 0 };
    }
    const cursor = (await this.redis.get(this.keys.cursor)) ?? '0';
    const changes = await this.decisions.changesAfter(Number(cursor), BATCH);
    if (changes.length === 0) {
      return { owner: true, delivered: 0 };
    }
    const now = this.now();
    const body = webhookBody(changes, now);
    const last = changes[changes.length - 1].seq;
    let status: number;
    try {
      status = await this.post(this.target.url, body, {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signWebhook(this.target.secret, body, Math.floor(now / 1000)),
        [DELIVERY_HEADER]: `${changes[0].seq}-${last}`,
      });
    } catch (error) {
      throw await this.failed((error as Error).message);
    }
    if (status < 200 || status >= 300) {
      throw await this.failed(`the receiver answered ${status}`);
    }
    await this.redis.eval(ADVANCE, 1, this.keys.cursor, cursor, String(last));
    await this.redis.hset(this.keys.status, { lastDeliveryAt: String(now), lastStatus: String(status) });
    return { owner: true, delivered: changes.length };
  }

  private async failed(reason: string): Promise<Error> {
    await this.redis
      .multi()
      .hincrby(this.keys.status, 'failures', 1)
      .hset(this.keys.status, { lastError: reason, lastErrorAt: String(this.now()) })
      .exec();
    return new Error(`webhook delivery failed: ${reason}`);
  }
}
