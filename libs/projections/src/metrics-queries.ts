import type { DB } from '@lapi/event-store';
import type { Kysely } from 'kysely';
import type { ActiveCount } from './index/decision-index';

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
