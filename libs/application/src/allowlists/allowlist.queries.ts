import { activeItems, AllowlistNotFoundError, type Allowlist } from '@lapi/domain';
import type { DatabaseHandle } from '@lapi/event-store';
import { findAllowlist, listAllowlists } from '@lapi/read-models';
import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CLOCK, DATABASE, type Clock } from '../shared/ports';
import { checkAllowlisted } from './allowlist-checks';

/** Allowlists as GET /v1/allowlists answers them: expired items dropped, items only `withContent`. */
export class GetAllowlists extends Query<Allowlist[]> {
  constructor(readonly withContent: boolean) {
    super();
  }
}

/** One allowlist (GET /v1/allowlists/:name); unknown → AllowlistNotFoundError. */
export class GetAllowlist extends Query<Allowlist> {
  constructor(
    readonly name: string,
    readonly withContent: boolean,
  ) {
    super();
  }
}

/** Per value, why it is allowlisted (empty: it is not); a value that is no IP nor range is refused. */
export class CheckAllowlisted extends Query<{ value: string; reasons: string[] }[]> {
  constructor(readonly values: readonly string[]) {
    super();
  }
}

const shown = (list: Allowlist, withContent: boolean, now: Date): Allowlist => ({
  ...list,
  items: withContent ? activeItems(list, now) : [],
});

@QueryHandler(GetAllowlists)
export class GetAllowlistsHandler implements IQueryHandler<GetAllowlists> {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(q: GetAllowlists): Promise<Allowlist[]> {
    const now = this.clock.now();
    return (await listAllowlists(this.database.db)).map((list) => shown(list, q.withContent, now));
  }
}

@QueryHandler(GetAllowlist)
export class GetAllowlistHandler implements IQueryHandler<GetAllowlist> {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(q: GetAllowlist): Promise<Allowlist> {
    const list = await findAllowlist(this.database.db, q.name);
    if (!list) {
      throw new AllowlistNotFoundError(q.name);
    }
    return shown(list, q.withContent, this.clock.now());
  }
}

@QueryHandler(CheckAllowlisted)
export class CheckAllowlistedHandler implements IQueryHandler<CheckAllowlisted> {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(q: CheckAllowlisted): Promise<{ value: string; reasons: string[] }[]> {
    const now = this.clock.now();
    const results: { value: string; reasons: string[] }[] = [];
    for (const value of q.values) {
      results.push({ value, reasons: await checkAllowlisted(this.database.db, value, now) });
    }
    return results;
  }
}

export const allowlistHandlers = [GetAllowlistsHandler, GetAllowlistHandler, CheckAllowlistedHandler];
