import type { DomainEvent, EventMetadata } from '@lapi/domain';
import type { Transaction } from 'kysely';
import type { DB } from './db';

/** An event as stored: its place in its stream and in the global log. */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E & RecordedEventMeta;

export interface RecordedEventMeta {
  readonly metadata: EventMetadata;
  readonly streamId: string;
  readonly streamVersion: bigint;
  readonly globalPosition: bigint;
  readonly transactionId: bigint;
  readonly createdAt: Date;
}

/** 'no_stream' for a stream that must not exist yet, 'any' to skip the check, or the version last seen. */
export type ExpectedVersion = bigint | 'no_stream' | 'any';

/** Where a reader of the global log stands: events are ordered by (transaction id, position). */
export interface Checkpoint {
  readonly transactionId: bigint;
  readonly position: bigint;
}

export const START: Checkpoint = Object.freeze({ transactionId: 0n, position: 0n });

export interface AppendResult {
  readonly nextExpectedVersion: bigint;
  readonly lastPosition: bigint;
  readonly transactionId: bigint;
}

/** Read models updated in the transaction that appends the events they follow, so they are never behind. */
export interface InlineProjection {
  readonly name: string;
  readonly eventTypes: readonly string[];
  apply(trx: Transaction<DB>, events: readonly RecordedEvent[]): Promise<void>;
}

export class ConcurrencyError extends Error {
  readonly code = 'EVENT_STORE.CONCURRENCY';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
  ) {
    super(`stream ${streamId} is not at the expected version ${String(expected)}`);
    this.name = 'ConcurrencyError';
  }
}

export interface EventStore {
  /** Appends atomically, with the inline projections, or throws ConcurrencyError if the stream moved on. */
  appendToStream(
    streamId: string,
    events: readonly DomainEvent[],
    options: { expectedVersion: ExpectedVersion; metadata: EventMetadata },
  ): Promise<AppendResult>;
  /**
   * Appends to several streams in one transaction: all or none (e.g. a batch of alerts, or the appends of several
   * requests committed together, each with its own metadata, else `options.metadata`).
   */
  appendToStreams(
    appends: readonly {
      streamId: string;
      events: readonly DomainEvent[];
      expectedVersion: ExpectedVersion;
      metadata?: EventMetadata;
    }[],
    options: { metadata: EventMetadata },
  ): Promise<AppendResult[]>;
  readStream(streamId: string, options?: { fromVersion?: bigint }): Promise<RecordedEvent[]>;
  /** How many committed events come after a checkpoint: a reader's lag. */
  countAfter(after: Checkpoint): Promise<number>;
  /**
   * How long ago (ms, on the database's clock) the first committed event after a checkpoint was appended; 0 when
   * none: a reader's lag in time. One index lookup whatever the lag, so cheap enough for readiness probes.
   */
  lagAfter(after: Checkpoint): Promise<number>;
  streamVersion(streamId: string): Promise<bigint>;
  /**
   * Reads the global log after a checkpoint, only up to the oldest transaction still in flight that may append to
   * this log, so an event committed late by a concurrent append is never skipped by a reader that moved past its
   * position. Transactions that cannot add events (in another database, or that never appended here) hold no
   * reader back.
   */
  readAll(after: Checkpoint, limit: number): Promise<{ events: RecordedEvent[]; checkpoint: Checkpoint }>;
  /**
   * The checkpoint after the last event readAll can give now (START when none), bounded as readAll is: where a new
   * reader that skips history starts.
   */
  head(): Promise<Checkpoint>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');
