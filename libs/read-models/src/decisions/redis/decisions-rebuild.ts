import type { EventStore } from '@lapi/event-store';
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Lease } from '../../coordination/lease';
import { Projector, type ProjectorStep } from '../../coordination/projector';
import type { DecisionGenerations } from './decision-generations';
import { RedisDecisionsTarget } from './redis-decisions.target';

/**
 * The worker's decisions projector: moves the live generation along the log and, when a rebuild was asked for,
 * builds the next generation in batches between the live steps (so bouncers keep being served from the live one),
 * switches to it once both stand at the same checkpoint, and deletes the old one. Only the lease holder works, so
 * a rebuild in progress is taken over with the lease: its keys and checkpoint are in Redis.
 */
export class DecisionsProjector {
  private readonly logger = new Logger('DecisionsProjector');
  private readonly live: Projector;

  constructor(
    private readonly store: EventStore,
    private readonly redis: Redis,
    private readonly generations: DecisionGenerations,
    target: ProjectorStepTarget,
    private readonly lease: Lease,
    private readonly batchSize = 1000,
  ) {
    this.live = new Projector(store, target, lease, batchSize);
  }

  async step(): Promise<ProjectorStep> {
    const live = await this.live.step();
    if (!live.owner) {
      return live;
    }
    const next = await this.generations.requested();
    if (next === null) {
      return live;
    }
    const from = await this.generations.live();
    const target = new RedisDecisionsTarget(this.redis, this.generations.keysOf(next));
    const rebuilt = await new Projector(this.store, target, this.lease, this.batchSize).step();
    if (rebuilt.applied === 0 && live.applied === 0 && (await this.generations.switchTo(next, from))) {
      await this.generations.drop(from);
      this.logger.log(`decisions read model rebuilt: generation ${next} is live, generation ${from} deleted`);
    }
    return { ...live, applied: live.applied + rebuilt.applied };
  }
}

type ProjectorStepTarget = ConstructorParameters<typeof Projector>[1];
