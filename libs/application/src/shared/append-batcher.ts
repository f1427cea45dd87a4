import type { DomainEvent, EventMetadata } from '@lapi/domain';
import { isLostDatabaseConnection, type AppendResult, type EventStore, type ExpectedVersion } from '@lapi/event-store';

export interface StreamAppend {
  readonly streamId: string;
  readonly events: readonly DomainEvent[];
  readonly expectedVersion: ExpectedVersion;
}

interface Waiting {
  readonly appends: readonly StreamAppend[];
  readonly metadata: EventMetadata;
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

/**
 * Group commit: the requests that arrive while a transaction is being written share the next one, each keeping
 * its own metadata. Agents push alerts one per request: with many of them, one commit (one WAL flush) and one
 * projection wait now serve a whole batch instead of one alert. A batch that fails is retried request by request,
 * so only the request at fault fails, with its own error; except when the database connection was lost: the batch
 * may have committed (the connection can die after COMMIT reached the server), and a retry would store it twice or
 * fail on the streams it created, so every request of the batch gets that error.
 */
export class AppendBatcher {
  private queue: Waiting[] = [];
  private writing = false;

  constructor(
    private readonly store: EventStore,
    private readonly maxRequests = 200,
  ) {}

  append(appends: readonly StreamAppend[], metadata: EventMetadata): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ appends, metadata, resolve, reject });
      if (!this.writing) {
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxRequests);
        if (batch.length === 1) {
          await this.alone(batch[0]);
          continue;
        }
        let results: AppendResult[];
        try {
          results = await this.store.appendToStreams(
            batch.flatMap((w) => w.appends.map((a) => ({ ...a, metadata: w.metadata }))),
            { metadata: batch[0].metadata },
          );
        } catch (error) {
          if (isLostDatabaseConnection(error)) {
            batch.forEach((w) => w.reject(error));
            continue;
          }
          for (const w of batch) {
            await this.alone(w);
          }
          continue;
        }
        let at = 0;
        for (const w of batch) {
          w.resolve(results.slice(at, at + w.appends.length));
          at += w.appends.length;
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async alone(w: Waiting): Promise<void> {
    try {
      w.resolve(await this.store.appendToStreams(w.appends, { metadata: w.metadata }));
    } catch (error) {
      w.reject(error);
    }
  }
}
