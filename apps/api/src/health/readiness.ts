import { PostgresEventStore, START, type Checkpoint, type DatabaseHandle } from '@lapi/event-store';
import { sql } from 'kysely';

/** What GET /health/ready answers: 200, or 503 with the reason. */
export type ReadinessVerdict = { readonly ready: true } | { readonly ready: false; readonly message: string };

/** What the probe reads; each call is one cheap round trip. */
export interface ReadinessSources {
  /** Any query: fails when the database cannot be reached. */
  ping(): Promise<void>;
  /** How long ago (ms) the first event after the checkpoint was appended; 0 when none. */
  lagAfter(checkpoint: Checkpoint): Promise<number>;
  /**
   * Cluster mode: catches this replica's in-memory copy up with Redis, then gives the checkpoint of the projection
   * it mirrors (null when Redis holds none: emptied, or never built).
   */
  projection?: () => Promise<Checkpoint | null>;
}

/** The sources over the API's database, and in cluster mode its replica of the projection. */
export function readinessSources(
  database: DatabaseHandle,
  projection?: () => Promise<Checkpoint | null>,
): ReadinessSources {
  const store = new PostgresEventStore(database.db);
  return {
    ping: async () => {
      await sql`select 1`.execute(database.db);
    },
    lagAfter: (checkpoint) => store.lagAfter(checkpoint),
    projection,
  };
}

/**
 * Whether this replica should get traffic: its database answers and, in cluster mode, its copy of the decisions
 * read model is no further behind the event log than `maxLagMs`. Every check is bounded by `timeoutMs`, so a probe
 * never outlasts the kubelet's timeout with an unanswered request; a slow dependency counts as an unreachable one.
 */
export class Readiness {
  constructor(
    private readonly sources: ReadinessSources,
    private readonly maxLagMs: number,
    private readonly timeoutMs = 2_000,
  ) {}

  async check(): Promise<ReadinessVerdict> {
    const { projection } = this.sources;
    if (!projection) {
      return this.bounded('the database', () => this.sources.ping()).then((failed) => failed ?? { ready: true });
    }
    let checkpoint: Checkpoint | null = null;
    const redisFailed = await this.bounded('Redis', async () => {
      checkpoint = await projection();
    });
    if (redisFailed) {
      return redisFailed;
    }
    let lagMs = 0;
    const dbFailed = await this.bounded('the database', async () => {
      lagMs = await this.sources.lagAfter(checkpoint ?? START);
    });
    return dbFailed ?? judgeLag(lagMs, this.maxLagMs);
  }

  /** Runs `work` within the timeout; a verdict naming `what` when it failed or took too long. */
  private async bounded(what: string, work: () => Promise<void>): Promise<ReadinessVerdict | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([work(), timeout]);
      return undefined;
    } catch (error) {
      return {
        ready: false,
        message: `${what} is unreachable: ${error instanceof Error ? error.message : String(error)}`,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Ready while the oldest event the projection has not applied is younger than the bound. */
export function judgeLag(lagMs: number, maxLagMs: number): ReadinessVerdict {
  return lagMs <= maxLagMs
    ? { ready: true }
    : {
        ready: false,
        message: `the decisions projection is ${formatSeconds(lagMs)} behind the event log (at most ${formatSeconds(maxLagMs)}): is a worker running?`,
      };
}

const formatSeconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
