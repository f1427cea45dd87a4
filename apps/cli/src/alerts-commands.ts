import type { AlertsCliFilter } from '@lapi/application/alerts/alert-admin';
import type { AppConfig } from '@lapi/config';
import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import type { AlertResponse } from '@lapi/lapi-contract';
import { InvalidArgumentError, type Command } from 'commander';
import { AdminError, sendAdminRequest } from './admin-client';
import { csv, outputOption } from './output';

/** A whole number ≥ 0, as cscli's int flags (limits, counts). */
const count = (value: string): number => {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n)) {
    throw new InvalidArgumentError('expected a whole number (0 or more)');
  }
  return n;
};

/** An alert id, as the API numbers them. */
const alertId = (value: string): number => {
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`bad alert id ${value}`);
  }
  return n;
};

interface FilterFlags {
  ip?: string;
  range?: string;
  scope?: string;
  value?: string;
  scenario?: string;
  type?: string;
  since?: string;
  until?: string;
  contained?: boolean;
  all?: boolean;
}

/** The flags a user gave (cscli treats an empty value as not given). */
const filterOf = (o: FilterFlags): AlertsCliFilter => {
  const given = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  return Object.fromEntries(
    Object.entries({
      ip: given(o.ip),
      range: given(o.range),
      scope: given(o.scope),
      value: given(o.value),
      scenario: given(o.scenario),
      type: given(o.type),
      since: given(o.since),
      until: given(o.until),
      contained: o.contained === true ? true : undefined,
    }).filter(([, v]) => v !== undefined),
  );
};

/**
 * `lapi alerts list|inspect|delete|flush`: cscli 1.4.6's commands, flags, defaults and output. They run where the
 * data is (the running server's admin socket, or the database), so no machine credentials are needed.
 */
export function addAlertsCommands(
  program: Command,
  getConfig: () => Promise<AppConfig>,
  out: (text: string) => void,
): void {
  const alerts = program.command('alerts').description('manage alerts');
  const send = async (request: Parameters<typeof sendAdminRequest>[1]) =>
    (await sendAdminRequest(await getConfig(), request)).result;

  alerts
    .command('list')
    .description('list alerts, newest first')
    .option('-a, --all', 'include alerts from the Central API and lists (and no limit)')
    .option('--until <duration>', 'restrict to alerts older than until (ie. 4h, 30d)')
    .option('--since <duration>', 'restrict to alerts newer than since (ie. 4h, 30d)')
    .option('-i, --ip <ip>', 'restrict to alerts from this source ip (shorthand for --scope ip --value <IP>)')
    .option('-s, --scenario <scenario>', 'the scenario (ie. crowdsecurity/ssh-bf)')
    .option('-r, --range <range>', 'restrict to alerts from this range (shorthand for --scope range --value <RANGE/X>)')
    .option('--type <type>', 'restrict to alerts with given decision type (ie. ban, captcha)')
    .option('--scope <scope>', 'restrict to alerts of this scope (ie. ip,range)')
    .option('-v, --value <value>', 'the value to match for in the specified scope')
    .option('--contained', 'query decisions contained by range')
    .option('-m, --machine', 'print machines that sent alerts')
    .option('-l, --limit <n>', 'limit size of alerts list table (0 to view all alerts)', count, 50)
    .addOption(outputOption())
    .action(async (opts: FilterFlags & { machine?: boolean; limit: number; output: string }) => {
      const filter = { ...filterOf(opts), ...(opts.all ? { includeCapi: true } : {}) };
      // cscli lifts the limit with --all.
      const list = (await send({ op: 'alerts.list', filter, limit: opts.all ? 0 : opts.limit })) as AlertResponse[];
      const { alertsCsv, alertsTable } = await import('./alerts-format');
      const withMachine = opts.machine === true;
      if (opts.output === 'json') {
        // GET /v1/alerts's list (null when empty), as cscli prints it.
        out(JSON.stringify(list.length === 0 ? null : list, null, 1));
      } else {
        out(opts.output === 'raw' ? alertsCsv(list, withMachine) : alertsTable(list, withMachine));
      }
    });

  alerts
    .command('inspect')
    .argument('<alert_id...>', 'alert ids', (value: string, previous: number[] = []) => [...previous, alertId(value)])
    .description('show info about alerts')
    .option('-d, --details', 'show alerts with events')
    .addOption(outputOption())
    .action(async (ids: number[], opts: { details?: boolean; output: string }) => {
      const { alertInspection, alertYamlModel } = await import('./alerts-format');
      for (const id of ids) {
        const alert = (await send({ op: 'alerts.inspect', id })) as AlertResponse | null;
        if (alert === null) {
          throw new AdminError('ALERT.NOT_FOUND', `can't find alert with id ${id}: object not found`);
        }
        if (opts.output === 'json') {
          out(JSON.stringify(alert, null, 2));
        } else if (opts.output === 'raw') {
          const { stringify } = await import('yaml');
          out(stringify(alertYamlModel(alert), { indentSeq: false }));
        } else {
          out(alertInspection(alert, opts.details === true));
        }
      }
    });

  alerts
    .command('delete')
    .alias('remove')
    .description('delete alerts, with their decisions (bouncers see them deleted)')
    .option('--scope <scope>', 'the scope (ie. ip,range)')
    .option('-v, --value <value>', 'the value to match for in the specified scope')
    .option('-s, --scenario <scenario>', 'the scenario (ie. crowdsecurity/ssh-bf)')
    .option('-i, --ip <ip>', 'source ip (shorthand for --scope ip --value <IP>)')
    .option('-r, --range <range>', 'range source ip (shorthand for --scope range --value <RANGE>)')
    .option('--id <alert_id>', 'alert ID', alertId)
    .option('-a, --all', 'delete all alerts')
    .option('--contained', 'query decisions contained by range')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: FilterFlags & { id?: number; yes?: boolean }) => {
      const filter = filterOf(opts);
      const filtered = Object.keys(filter).some((k) => k !== 'contained');
      if (opts.all && (filtered || opts.id !== undefined)) {
        throw new AdminError('USAGE', 'give either --all or filters, not both');
      }
      if (!opts.all && !filtered && opts.id === undefined) {
        throw new AdminError('USAGE', 'at least one filter or --all must be specified');
      }
      let deleted: number;
      if (opts.id !== undefined) {
        try {
          deleted = (await send({ op: 'alerts.deleteOne', id: opts.id })) as number;
        } catch (error) {
          if (error instanceof AdminError && error.code === 'ALERT.NOT_FOUND') {
            throw new AdminError(error.code, `unable to delete alert ${opts.id}: not found`);
          }
          throw error;
        }
      } else {
        if (opts.all) {
          const { confirm } = await import('./confirm');
          await confirm('Delete all alerts and their decisions?', opts);
        }
        deleted = (await send({ op: 'alerts.delete', filter: opts.all ? {} : filter })) as number;
      }
      out(`${deleted} alert(s) deleted`);
    });

  alerts
    .command('flush')
    .description('flush old alerts, as the retention does (alerts with an active decision are kept)')
    .option('--max-items <n>', 'maximum number of alert items to keep in the database (0: no limit)', count, 5000)
    .option('--max-age <duration>', 'maximum age of alert items to keep in the database (0: no limit)', '7d')
    .addOption(outputOption())
    .action(async (opts: { maxItems: number; maxAge: string; output: string }) => {
      const ns = parseGoDuration(opts.maxAge.trim());
      if (ns === null || ns < 0n) {
        throw new AdminError('USAGE', `invalid --max-age '${opts.maxAge}' (e.g. 7d, 12h, 0 for no limit)`);
      }
      const maxAgeMs = ns === 0n ? undefined : Number(ns / NANOS_PER_MS);
      const maxItems = opts.maxItems === 0 ? undefined : opts.maxItems;
      const { byAge, byCount } = (await send({ op: 'alerts.flush', maxItems, maxAgeMs })) as {
        byAge: number;
        byCount: number;
      };
      if (opts.output !== 'human') {
        out(
          opts.output === 'json'
            ? JSON.stringify({ byAge, byCount })
            : csv(['by_age', 'by_count'], [[String(byAge), String(byCount)]]),
        );
        return;
      }
      // The reference's log lines (pkg/database/alerts.go FlushAlerts).
      if (byCount > 0) {
        out(`flushed ${byCount} alerts because max number of alerts has been reached (${maxItems} max)`);
      }
      if (byAge > 0) {
        out(`flushed ${byAge} alerts because they were created ${opts.maxAge} ago or more`);
      }
      out(byAge + byCount === 0 ? 'no alert to flush' : 'Alerts flushed');
    });
}
