import { memoryDecisionReader, type DecisionReader, type ProjectionBarrier } from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import { PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { LookupTimes, MemoryDecisions, SqlStreamPositions, sqlLookupTimesWriter } from '@lapi/read-models';
import { Logger } from '@nestjs/common';

// Without a write of this process to wait for, the index still looks at the log this often (PostgreSQL: writes
// of other processes, such as `lapi decisions import`, between bouncer requests).
const FOLLOW_EVERY_MS = 1_000;

export interface MemoryMode {
  readonly reader: DecisionReader;
  readonly barrier: ProjectionBarrier;
  readonly decisions: MemoryDecisions;
  close(): Promise<void>;
}

/**
 * Without Redis (embedded mode, or PostgreSQL alone), bouncers read an index this process keeps in memory,
 * projected straight from the event log: built from the whole log before the API listens, then followed.
 */
export async function startMemoryMode(
  config: AppConfig,
  database: DatabaseHandle,
  now: () => number = Date.now,
): Promise<MemoryMode> {
  const logger = new Logger('MemoryMode');
  const decisions = new MemoryDecisions(
    new PostgresEventStore(database.db),
    { retentionMs: config.projectionRetentionMs },
    now,
  );
  const started = Date.now();
  await decisions.sync();
  if (decisions.size > 0) {
    logger.log(`decisions index built from the event log: ${decisions.size} decisions in ${Date.now() - started} ms`);
  }
  // Embedded: this process is the database's only user, so every write goes through it (and waits for the index).
  const followLog = database.kind === 'postgres';
  const positions = new SqlStreamPositions(database.db, !followLog);
  const lookups = new LookupTimes(sqlLookupTimesWriter(database.db));
  let warned = false;
  const follow = setInterval(() => {
    decisions.sync().then(
      () => (warned = false),
      (error: Error) => {
        if (!warned) {
          warned = true;
          logger.warn(`decisions index cannot read the event log, retrying: ${error.message}`);
        }
      },
    );
  }, FOLLOW_EVERY_MS);
  follow.unref();
  return {
    reader: memoryDecisionReader(decisions, positions, lookups, { followLog }),
    barrier: { waitFor: (appended) => decisions.waitFor(appended) },
    decisions,
    close: async () => {
      clearInterval(follow);
      await positions.close().catch((error: Error) => logger.warn(`stream positions not saved: ${error.message}`));
      await lookups.close().catch((error: Error) => logger.warn(`lookup times not saved: ${error.message}`));
    },
  };
}
