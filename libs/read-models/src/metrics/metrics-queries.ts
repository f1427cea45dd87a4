import type { DB } from '@lapi/event-store';
import type { Kysely } from 'kysely';
import type { ActiveCount } from '../decisions/memory/decision-index';

/** Active decisions per (scenario, origin, type), as the reference's cs_active_decisions (an index range on `until`). */
export async function countActiveDecisions(db: Kysely<DB>, now: Date): Promise<ActiveCount[]> {
  const rows = await db
    .selectFrom('decisions')
    .select(['scenario', 'origin', 'type', (eb) => eb.fn.countAll<string>().as('count')])
    .where('until', '>', now)
    .where('removed', '=', false)
    .groupBy(['scenario', 'origin', 'type'])
    .execute();
  return rows.map((r) => ({ scenario: r.scenario, origin: r.origin, type: r.type, count: Number(r.count) }));
}

/**
 * Alerts per scenario without the community blocklist's and lists' (the reference's cs_alerts, include_capi=false).
 * It reads every alert: callers cache it.
 */
export async function countAlertsByScenario(db: Kysely<DB>): Promise<{ scenario: string; count: number }[]> {
  const rows = await db
    .selectFrom('alerts')
    .select(['scenario', (eb) => eb.fn.countAll<string>().as('count')])
    .where('source_scope', '!=', 'crowdsecurity/community-blocklist')
    .where('source_scope', 'not like', 'lists:%')
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('decisions')
            .select('decisions.id')
            .whereRef('decisions.alert_id', '=', 'alerts.id')
            .where('decisions.origin', 'in', ['CAPI', 'lists']),
        ),
      ),
    )
    .groupBy('scenario')
    .execute();
  return rows.map((r) => ({ scenario: r.scenario, count: Number(r.count) }));
}

/**
 * How a scrape reads its sources: one that fails leaves its metric out of that scrape (rather than failing the
 * scrape) and is warned about once, until it reads again.
 */
export function scrapeGuard(warn: (message: string) => void) {
  const failing = new Set<string>();
  return async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      const value = await read();
      failing.delete(what);
      return value;
    } catch (error) {
      if (!failing.has(what)) {
        failing.add(what);
        warn(`metrics: cannot read ${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return undefined;
    }
  };
}
