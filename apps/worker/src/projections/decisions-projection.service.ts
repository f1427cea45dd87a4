import { EVENT_STORE, type EventStore } from '@lapi/event-store';
import {
  DecisionGenerations,
  DecisionsHousekeeping,
  DecisionsProjector,
  LEASE_TTL_MS,
  LiveDecisionsTarget,
  RedisLease,
  type RedisKeys,
} from '@lapi/read-models';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { DECISION_GENERATIONS, PROJECTION_RETENTION_MS, REDIS, REDIS_KEYS } from '../redis.tokens';
import { WORKER_ID } from '../worker-id';
import { ProjectionRunner } from './projection-runner';

// A crashed projector is replaced within this time; a live one renews its lease at every step (≤ 1 s apart).

/** Keeps the decisions read model in Redis current; one worker of the cluster does it at a time. */
@Injectable()
export class DecisionsProjectionService implements OnModuleInit, OnModuleDestroy {
  private readonly lease: RedisLease;
  private readonly runner: ProjectionRunner;
  private subscriber: Redis | undefined;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(PROJECTION_RETENTION_MS) retentionMs: number,
    @Inject(DECISION_GENERATIONS) generations: DecisionGenerations,
  ) {
    this.lease = new RedisLease(redis, keys.decisionsProjectorLease, WORKER_ID, LEASE_TTL_MS.projector);
    const target = new LiveDecisionsTarget(redis, generations);
    const housekeeping = new DecisionsHousekeeping(target, generations, { retentionMs });
    const logger = new Logger('DecisionsHousekeeping');
    this.runner = new ProjectionRunner(
      'decisions',
      new DecisionsProjector(store, redis, generations, target, this.lease),
      // Leader-only: the lease holder's steps say owner.
      async (step) => {
        if (step.owner) {
          const { staleGenerations } = await housekeeping.run(Date.now());
          if (staleGenerations.length > 0) {
            logger.log(`deleted the keys a crash left of generations ${staleGenerations.join(', ')}`);
          }
        }
      },
    );
  }

  onModuleInit(): void {
    this.runner.start();
    // Writers waiting for their events publish on this channel: step at once instead of at the next poll.
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', () => this.runner.nudge());
    this.subscriber.subscribe(this.keys.projectorWake).catch(() => undefined);
  }

  async onModuleDestroy(): Promise<void> {
    this.subscriber?.disconnect();
    await this.runner.stop();
    await this.lease.release();
  }
}
