import {
  LEASE_TTL_MS,
  LiveDecisionsTarget,
  RedisLease,
  type DecisionGenerations,
  type RedisKeys,
} from '@lapi/read-models';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { DECISION_GENERATIONS, REDIS, REDIS_KEYS } from '../redis.tokens';
import { WORKER_ID } from '../worker-id';
import { DecisionsWebhook } from './decisions-webhook';

/** DI token: the webhook's URL and secret, or undefined when none is configured. */
export const WEBHOOK_TARGET = Symbol('WEBHOOK_TARGET');

const IDLE_MS = 200;
const NOT_OWNER_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

/** Runs the signed decisions webhook on one worker at a time (a lease), retrying with back-off while it fails. */
@Injectable()
export class DecisionsWebhookService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('DecisionsWebhook');
  private running = false;
  private loop: Promise<void> | undefined;
  private lease: RedisLease | undefined;
  private readonly stop = new AbortController();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(DECISION_GENERATIONS) private readonly generations: DecisionGenerations,
    @Inject(WEBHOOK_TARGET) private readonly target: { url: string; secret: string } | undefined,
  ) {}

  onModuleInit(): void {
    if (this.target === undefined) {
      return;
    }
    this.lease = new RedisLease(this.redis, this.keys.webhookLease, WORKER_ID, LEASE_TTL_MS.webhook);
    const webhook = new DecisionsWebhook(
      this.redis,
      new LiveDecisionsTarget(this.redis, this.generations),
      { cursor: `${this.keys.webhook}cursor`, status: `${this.keys.webhook}status` },
      this.lease,
      this.target,
    );
    this.running = true;
    this.loop = this.run(webhook);
  }

  private async run(webhook: DecisionsWebhook): Promise<void> {
    let failures = 0;
    while (this.running) {
      let delay: number;
      try {
        const step = await webhook.step();
        delay = !step.owner ? NOT_OWNER_MS : step.delivered > 0 ? 0 : IDLE_MS;
        if (failures > 0) {
          this.logger.log('webhook deliveries resumed');
        }
        failures = 0;
      } catch (error) {
        if (failures === 0) {
          this.logger.warn(`${(error as Error).message}; retrying with back-off`);
        }
        failures += 1;
        delay = Math.min(1_000 * 2 ** (failures - 1), MAX_BACKOFF_MS);
      }
      if (delay > 0) {
        await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => undefined);
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    this.stop.abort();
    await this.loop;
    await this.lease?.release();
  }
}
