import {
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { ParameterOrJSON, RowList, Sql, TransactionSql } from 'postgres';
import { TextPieces } from './json-slices';

/**
 * Kysely over a postgres.js pool without reserved connections (sql.reserve(), which kysely-postgres-js takes for
 * every query, loses or wedges reserved connections when the server ends them): a query outside a transaction
 * goes to the pool, which retries nothing and reconnects on its own; a transaction is one sql.begin() held open
 * until Kysely commits or rolls back, and postgres.js rejects it when its connection is lost. Hence outside a
 * transaction two queries may run on two sessions: db.connection() pins none (session state needs a transaction),
 * and there are no savepoints or streamed results.
 */
export class PostgresJSPoolDialect implements Dialect {
  constructor(private readonly sql: Sql) {}

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PostgresJSPoolDriver(this.sql);
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

/** Thrown into sql.begin()'s callback to make postgres.js roll back; never seen by callers. */
class Rollback extends Error {}

class PostgresJSPoolDriver implements Driver {
  constructor(private readonly sql: Sql) {}

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(new PoolConnection(this.sql));
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const modes = [settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode].filter(
      Boolean,
    );
    await (connection as PoolConnection).begin(modes.join(' '));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PoolConnection).end('commit');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PoolConnection).end('rollback');
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A transaction Kysely never ended (it always does) must not hold its connection forever.
    await (connection as PoolConnection).end('rollback');
  }

  async destroy(): Promise<void> {
    // The owner of the pool ends it (openDatabase's close gives queries in flight a timeout).
  }
}

interface OpenTransaction {
  readonly tx: TransactionSql;
  /** Settles when postgres.js has committed or rolled back, or rejects when the transaction failed. */
  readonly done: Promise<unknown>;
  /** Rejects when postgres.js ended the transaction (its connection was lost, or Kysely ended it). */
  readonly ended: Promise<never>;
  /** True once `ended` rejected: the connection may already serve other queries, outside this transaction. */
  over: boolean;
  decide(outcome: 'commit' | 'rollback'): void;
}

class PoolConnection implements DatabaseConnection {
  private transaction: OpenTransaction | undefined;

  constructor(private readonly sql: Sql) {}

  async begin(modes: string): Promise<void> {
    let decide!: OpenTransaction['decide'];
    const decided = new Promise<'commit' | 'rollback'>((resolve) => (decide = resolve));
    let started!: (tx: TransactionSql) => void;
    const ready = new Promise<TransactionSql>((resolve) => (started = resolve));
    const done = this.sql.begin(modes, async (tx) => {
      started(tx);
      if ((await decided) === 'rollback') {
        throw new Rollback();
      }
    });
    const ended = done.then((): never => {
      throw new Error('the transaction is over');
    });
    const state = { over: false };
    ended.catch(() => (state.over = true));
    // BEGIN itself can fail (no connection): then the callback never runs.
    const tx = await Promise.race([ready, ended]);
    this.transaction = Object.assign(state, { tx, done, ended, decide });
  }

  /** Commits or rolls back the open transaction, if any; a rollback of a transaction already lost is moot. */
  async end(outcome: 'commit' | 'rollback'): Promise<void> {
    const transaction = this.transaction;
    if (!transaction) {
      return;
    }
    this.transaction = undefined;
    transaction.decide(outcome);
    try {
      await transaction.done;
    } catch (error) {
      // Rollback: our own signal. Any other failure of a rollback: the server rolled the transaction back when the
      // query failed or the session ended, and the caller gets the error that made it roll back.
      if (outcome === 'commit') {
        throw error;
      }
    }
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // An event's text comes in pieces (see jsonInSlices): postgres.js takes strings.
    const parameters = query.parameters.map((p) =>
      p instanceof TextPieces ? p.toString() : p,
    ) as ParameterOrJSON<never>[];
    if (!this.transaction) {
      return toQueryResult(await this.sql.unsafe(query.sql, parameters));
    }
    const { tx, ended, over } = this.transaction;
    if (over) {
      // Its connection died and may have reconnected for the pool: the query would run outside the transaction.
      return ended;
    }
    // A query queued in a transaction whose connection died would wait forever: the transaction's end rejects it.
    return toQueryResult(await Promise.race([tx.unsafe(query.sql, parameters), ended]));
  }

  // eslint-disable-next-line require-yield, @typescript-eslint/require-await
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported');
  }
}

/** The result shape kysely-postgres-js gave: the rows, and numAffectedRows for the writing commands. */
function toQueryResult<R>(result: RowList<Record<string, unknown>[]>): QueryResult<R> {
  const writes = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.command);
  return {
    rows: Array.from(result.values()) as R[],
    ...(writes ? { numAffectedRows: BigInt(result.count) } : {}),
  };
}
