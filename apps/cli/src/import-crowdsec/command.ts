import type { CrowdsecImportReport } from '@lapi/application/crowdsec-import/crowdsec-import';
import type { AppConfig } from '@lapi/config';
import { printable } from '@lapi/domain/shared/printable';
import { type Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { AdminError, adminSession, sendAdminRequest } from '../admin-client';
import { csv, outputOption } from '../output';

const DEFAULT_CONFIG = '/etc/crowdsec/config.yaml';
// Alerts per request to the server: a part of a CAPI-sized import stays a few MB.
const ALERTS_PER_PART = 500;

/** `lapi import-crowdsec`: machines, bouncers, active decisions and allowlists of a CrowdSec, with their secrets. */
export function addImportCrowdsecCommand(
  program: Command,
  getConfig: () => Promise<AppConfig>,
  out: (text: string) => void,
): void {
  program
    .command('import-crowdsec')
    .description(
      'move in from a CrowdSec LAPI: its machines (bcrypt hashes as stored: same passwords), bouncers (key hashes: ' +
        'same keys), active decisions with their alerts, and allowlists, all in one go or nothing',
    )
    .option('-c, --config <path>', `CrowdSec's config.yaml, whose db_config is read (default: ${DEFAULT_CONFIG})`)
    .option('--sqlite <path>', "CrowdSec's SQLite database file instead (crowdsec.db)")
    .option('--postgres <url>', "CrowdSec's PostgreSQL database instead (postgres://user:pass@host:5432/crowdsec)")
    .option(
      '--mysql <url>',
      "CrowdSec's MySQL/MariaDB database instead (mysql://user:pass@host:3306/crowdsec; ?socket=PATH for a socket)",
    )
    .option('--dry-run', 'read the source and print what would be imported; write nothing')
    .option(
      '--keep-existing',
      'when a name is taken here by a machine or bouncer with other credentials, keep ours and import the rest ' +
        '(without it such clashes refuse the whole import, listing them)',
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nRun it again at any time: what was imported before is left as it is (a second run changes nothing).\n' +
        'The source is only read; CrowdSec may keep running until its agents and bouncers point here.',
    )
    .action(
      async (opts: {
        config?: string;
        sqlite?: string;
        postgres?: string;
        mysql?: string;
        dryRun?: boolean;
        keepExisting?: boolean;
        output: string;
      }) => {
        const given = [opts.config, opts.sqlite, opts.postgres, opts.mysql].filter((o) => o !== undefined).length;
        if (given > 1) {
          throw new AdminError('USAGE', 'give one of --config, --sqlite, --postgres or --mysql');
        }
        const [
          { describeMysql, mysqlOptionsFromUrl, sourceFromConfig },
          { openMysql, openPostgres, openSqlite },
          { readSnapshot },
          { Progress },
          { foreignEnvironment },
        ] = await Promise.all([
          import('./crowdsec-config'),
          import('./source-db'),
          import('./snapshot'),
          import('../progress'),
          import('@lapi/config/foreign-env'),
        ]);
        const fromUrl = (url: string) => {
          const options = mysqlOptionsFromUrl(url);
          return { kind: 'mysql', options, describe: describeMysql(options) } as const;
        };
        const source =
          opts.sqlite !== undefined
            ? ({ kind: 'sqlite', path: opts.sqlite } as const)
            : opts.postgres !== undefined
              ? ({ kind: 'postgres', options: opts.postgres, describe: 'the --postgres database' } as const)
              : opts.mysql !== undefined
                ? fromUrl(opts.mysql)
                : sourceFromConfig(opts.config ?? DEFAULT_CONFIG, foreignEnvironment());
        // json and raw are for scripts: no progress, no notes on stderr.
        const json = opts.output !== 'human';
        const say = (line: string) => {
          if (!json) {
            process.stderr.write(`${line}\n`);
          }
        };
        say(`reading ${source.kind === 'sqlite' ? source.path : source.describe}…`);
        const db =
          source.kind === 'sqlite'
            ? await openSqlite(source.path)
            : source.kind === 'postgres'
              ? await openPostgres(source.options)
              : await openMysql(source.options);
        const snapshot = await readSnapshot(db, new Date()).finally(() => db.close());
        const decisionCount = snapshot.alerts.reduce((n, a) => n + a.decisions.length, 0);
        say(
          `read ${snapshot.machines.length} machines, ${snapshot.bouncers.length} bouncers, ` +
            `${snapshot.alerts.length} alerts with ${decisionCount} active decisions, ${snapshot.allowlists.length} allowlists`,
        );
        const options = { dryRun: opts.dryRun === true, keepExisting: opts.keepExisting === true };
        const config = await getConfig();
        const progress =
          json || snapshot.alerts.length === 0
            ? undefined
            : new Progress(process.stderr, snapshot.alerts.length, 'alerts');
        const report = await adminSession(async () => {
          const importId = randomUUID();
          for (let at = 0; at < snapshot.alerts.length; at += ALERTS_PER_PART) {
            const { result } = await sendAdminRequest(config, {
              op: 'crowdsec.importPart',
              importId,
              at,
              alerts: snapshot.alerts.slice(at, at + ALERTS_PER_PART),
            });
            progress?.update(result as number, (result as number) === snapshot.alerts.length ? 'sent, storing…' : '');
          }
          const { result } = await sendAdminRequest(config, {
            op: 'crowdsec.import',
            importId: snapshot.alerts.length > 0 ? importId : undefined,
            snapshot: { machines: snapshot.machines, bouncers: snapshot.bouncers, allowlists: snapshot.allowlists },
            options,
          });
          return result as CrowdsecImportReport;
        }).finally(() => progress?.end());
        out(
          opts.output === 'json'
            ? JSON.stringify(report, null, 2)
            : opts.output === 'raw'
              ? reportCsv(report)
              : describeReport(report),
        );
      },
    );
}

export function describeReport(r: CrowdsecImportReport): string {
  const verb = r.dryRun ? 'to import' : 'imported';
  const kept = (names: string[]) =>
    names.length === 0
      ? ''
      : `, ${names.length} kept as they are here (other credentials): ${names.map(printable).join(', ')}`;
  return [
    ...(r.dryRun ? ['dry run: nothing was written'] : []),
    `machines: ${r.machines.imported} ${verb}, ${r.machines.unchanged} already here${kept(r.machines.kept)}`,
    `bouncers: ${r.bouncers.imported} ${verb}, ${r.bouncers.unchanged} already here${kept(r.bouncers.kept)}`,
    `alerts: ${r.alerts.imported} ${verb} with ${r.decisions.imported} active decisions, ${r.alerts.unchanged} already here`,
    `allowlists: ${r.allowlists.created} ${r.dryRun ? 'to create' : 'created'}, ${r.allowlists.itemsAdded} items ${r.dryRun ? 'to add' : 'added'}`,
  ].join('\n');
}

/** `-o raw`: one CSV line per kind of record (`kept`: names kept here with --keep-existing). */
function reportCsv(r: CrowdsecImportReport): string {
  return csv(
    ['kind', 'imported', 'unchanged', 'kept'],
    [
      ['machines', String(r.machines.imported), String(r.machines.unchanged), r.machines.kept.join(' ')],
      ['bouncers', String(r.bouncers.imported), String(r.bouncers.unchanged), r.bouncers.kept.join(' ')],
      ['alerts', String(r.alerts.imported), String(r.alerts.unchanged), ''],
      ['decisions', String(r.decisions.imported), '', ''],
      ['allowlists', String(r.allowlists.created), '', ''],
      ['allowlist items', String(r.allowlists.itemsAdded), '', ''],
    ],
  );
}
