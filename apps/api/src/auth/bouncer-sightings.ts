import { RecordBouncerSighting } from '@lapi/application';
import type { Bouncer } from '@lapi/domain';
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { SightingMemo } from './sighting-memo';

// How long an unchanged process is not looked at again. Past it its sighting runs once more: a read only (the domain
// writes nothing when nothing changed), which records an instance refused earlier for MAX_NEW_INSTANCES_PER_WINDOW.
const SIGHTING_RECHECK_MS = 60_000;

/**
 * Records bouncers' sightings (address, type, version: RecordBouncerSighting) without making their requests wait:
 * at most one queued per process, and one after the other per bouncer, whose processes append to one stream.
 */
@Injectable()
export class BouncerSightings implements BeforeApplicationShutdown {
  private readonly logger = new Logger(BouncerSightings.name);
  private readonly sightings = new SightingMemo(SIGHTING_RECHECK_MS);
  /** Sightings being recorded or queued, by process. */
  private readonly recording = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  /** Per bouncer, the last of its sightings queued. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly commands: CommandBus) {}

  /** Records what the request tells of its bouncer, in the background; `afterwards` runs once it is recorded. */
  record(
    bouncer: Bouncer,
    request: FastifyRequest,
    ip: string,
    instanceId: string | undefined,
    afterwards: (() => void) | undefined,
  ): void {
    const ua = request.headers['user-agent'] ?? '';
    // Keyed by name and key: a bouncer deleted and added again under its name is recorded afresh; and by process,
    // so that processes sharing the key do not make each other look changed.
    const who = `${bouncer.name}\0${bouncer.apiKeyHash}\0${instanceId ?? ip}`;
    const now = Date.now();
    if (this.recording.has(who) || this.sightings.unchanged(who, ip, ua, now)) {
      return;
    }
    this.recording.add(who);
    // One after the other per bouncer: its processes' sightings append to one stream (expected versions).
    const bouncerId = `${bouncer.name}\0${bouncer.apiKeyHash}`;
    const record = () =>
      this.commands.execute(
        new RecordBouncerSighting(
          bouncer.name,
          { ipAddress: ip, userAgent: request.headers['user-agent'], instanceId },
          { actor: { kind: 'bouncer', id: bouncer.name }, requestId: String(request.id), clientIp: ip },
        ),
      );
    const recorded: Promise<void> = (this.chains.get(bouncerId) ?? Promise.resolve())
      .then(record)
      .then(
        () => {
          this.sightings.recorded(who, ip, ua, now);
          afterwards?.();
        },
        (error: unknown) =>
          // Bookkeeping must not deny a bouncer its decisions; the process's next request tries again.
          this.logger.warn(
            `could not record bouncer ${bouncer.name}: ${error instanceof Error ? error.message : String(error)}`,
          ),
      )
      .finally(() => {
        this.recording.delete(who);
        this.pending.delete(recorded);
        if (this.chains.get(bouncerId) === recorded) {
          this.chains.delete(bouncerId);
        }
      });
    this.chains.set(bouncerId, recorded);
    this.pending.add(recorded);
  }

  /** Resolves once the sightings under way are recorded (or failed): for shutdown, and for tests. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
    }
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.settled();
  }
}
