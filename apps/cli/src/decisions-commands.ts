import type { ImportedDecision, ImportOptions } from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import type { AlertResponse } from '@lapi/lapi-contract';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AdminError, adminSession, sendAdminRequest } from './admin-client';
import { csv, outputOption } from './output';
import { Progress } from './progress';

const wholeNumber = (value: string): number => {
  const n = /^\d{1,15}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return n;
};

type Filters = Partial<Record<'ip' | 'range' | 'type' | 'value' | 'scope' | 'scenario' | 'origin', string>>;
type DecisionListFlags = Filters & {
  all?: boolean;
  since?: string;
  until?: string;
  limit: number;
  simu: boolean;
  machine?: boolean;
  contained?: boolean;
  output: string;
};
type DecisionDeleteFlags = Filters & { id?: number; all?: boolean; contained?: boolean; yes?: boolean; output: string };

/**
 * `lapi decisions list|add|delete|import`: cscli's commands (same flags, filters and outputs), through the fastest
 * path to the store.
 */
export function addDecisionsCommands(
  program: Command,
  getConfig: () => Promise<AppConfig>,
  out: (text: string) => void,
): void {
  const decisions = program.command('decisions').alias('decision').description('manage decisions');
  decisions
    .command('add')
    .option('-i, --ip <ip>', 'source ip (shorthand for --scope ip --value <IP>)')
    .option('-r, --range <range>', 'range source ip (shorthand for --scope range --value <RANGE>)')
    .option('-d, --duration <duration>', 'duration of the decision', '4h')
    .option('-v, --value <value>', 'the value to match for in the specified scope')
    .option('-s, --scope <scope>', 'decision scope (ip, range, username…)', 'Ip')
    .option('-R, --reason <reason>', "decision reason (default \"manual '<type>' from 'lapi'\")")
    .option('-t, --type <type>', 'decision remediation type (ban, captcha, throttle)', 'ban')
    .addOption(outputOption())
    .description('add a decision, as `cscli decisions add` does: an alert carrying it')
    .action(
      async (
        opts: Record<'ip' | 'range' | 'duration' | 'value' | 'scope' | 'reason' | 'type', string | undefined> & {
          output: string;
        },
      ) => {
        const { output, ...decision } = opts;
        const { result } = await sendAdminRequest(await getConfig(), { op: 'decisions.add', decision });
        const alertId = Number(result);
        out(
          output === 'json'
            ? JSON.stringify({ alert_id: alertId })
            : output === 'raw'
              ? String(alertId)
              : `Decision successfully added (alert ${alertId})`,
        );
      },
    );
  decisions
    .command('list')
    .option('-a, --all', 'include decisions from the Central API and lists (and lift the limit)')
    .option('--since <duration>', 'restrict to alerts newer than since (ie. 4h, 30d)')
    .option('--until <duration>', 'restrict to alerts older than until (ie. 4h, 30d)')
    .option('-t, --type <type>', 'restrict to this decision type (ie. ban,captcha)')
    .option('--scope <scope>', 'restrict to this scope (ie. ip,range,session)')
    .option('--origin <origin>', 'restrict to this origin (ie. lists,CAPI,cscli,cscli-import,crowdsec)')
    .option('-v, --value <value>', 'restrict to this value (ie. 1.2.3.4,userName)')
    .option('-s, --scenario <scenario>', 'restrict to this scenario (ie. crowdsecurity/ssh-bf)')
    .option('-i, --ip <ip>', 'restrict to alerts from this source ip (shorthand for --scope ip --value <IP>)')
    .option(
      '-r, --range <range>',
      'restrict to alerts from this source range (shorthand for --scope range --value <RANGE>)',
    )
    .option('-l, --limit <n>', 'number of alerts to get (use 0 to remove the limit)', wholeNumber, 100)
    .option('--no-simu', 'exclude decisions in simulation mode')
    .option('-m, --machine', 'print machines that triggered decisions')
    .option('--contained', 'query decisions contained by range')
    .addOption(outputOption())
    .description('list active decisions, as `cscli decisions list` (alerts with an active decision, newest first)')
    .action(async (opts: DecisionListFlags) => {
      const { output, machine, simu, ...filter } = opts;
      const { result } = await sendAdminRequest(await getConfig(), {
        op: 'decisions.list',
        filter: { ...filter, noSimu: !simu },
      });
      const alerts = result as AlertResponse[];
      const { decisionsCsv, decisionsJson, decisionsTable } = await import('./decisions-format');
      out(
        output === 'json'
          ? decisionsJson(alerts)
          : output === 'raw'
            ? decisionsCsv(alerts, { machine })
            : decisionsTable(alerts, { machine }),
      );
    });
  decisions
    .command('delete')
    .alias('remove')
    .option('-i, --ip <ip>', 'source ip (shorthand for --scope ip --value <IP>)')
    .option('-r, --range <range>', 'range source ip (shorthand for --scope range --value <RANGE>)')
    .option('-t, --type <type>', 'the decision type (ie. ban,captcha)')
    .option('-v, --value <value>', 'the value to match for in the specified scope')
    .option('--scope <scope>', 'the decision scope (ie. ip,range,username)')
    .option('-s, --scenario <scenario>', 'the scenario name (ie. crowdsecurity/ssh-bf)')
    .option('--origin <origin>', 'the decision origin (ie. cscli,crowdsec,CAPI,lists)')
    .option('--id <id>', 'decision id', wholeNumber)
    .option('--all', 'delete all decisions')
    .option('--contained', 'query decisions contained by range')
    .option('-y, --yes', 'do not ask before deleting all decisions')
    .addOption(outputOption())
    .description('delete decisions by id or filter (or --all); bouncers receive them as deleted')
    .action(async (opts: DecisionDeleteFlags) => {
      const { id, all, yes, output, ...filter } = opts;
      const filtered = (['ip', 'range', 'type', 'value', 'scope', 'scenario', 'origin'] as const).some(
        (k) => filter[k] !== undefined && filter[k] !== '',
      );
      if (id === undefined && !all && !filtered) {
        throw new AdminError('USAGE', 'At least one filter or --all must be specified');
      }
      if (all && id === undefined) {
        const { confirm } = await import('./confirm');
        await confirm(filtered ? 'Delete all the decisions these filters select?' : 'Delete all decisions?', { yes });
      }
      const { result } = await sendAdminRequest(await getConfig(), {
        op: 'decisions.delete',
        filter,
        ...(id !== undefined ? { id } : {}),
        all: all === true,
      });
      const deleted = result as number;
      out(
        output === 'json'
          ? JSON.stringify({ deleted })
          : output === 'raw'
            ? String(deleted)
            : `${deleted} decision(s) deleted`,
      );
    });
  decisions
    .command('import')
    .requiredOption(
      '-i, --input <file>',
      'file to import ("-": stdin): csv (header line), json (array), or one value per line',
    )
    .addOption(
      new Option('--format <format>', 'file format (default: from the file name; on stdin, from the content)').choices([
        'csv',
        'json',
        'values',
      ]),
    )
    .option('-d, --duration <duration>', 'decision duration (e.g. 1h, 4h, 30m): overrides the file; default 4h')
    .option('--scope <scope>', 'decision scope (ip, range, username…): overrides the file; default ip')
    .option('-R, --reason <reason>', 'decision reason (scenario name): overrides the file; default manual')
    .option('-t, --type <type>', 'decision type (ban, captcha…): overrides the file; default ban')
    .option('-q, --quiet', 'no progress on stderr')
    .addOption(outputOption())
    .description('import decisions from a file, all of them or none')
    .action(
      async (opts: {
        input: string;
        format?: string;
        duration?: string;
        scope?: string;
        reason?: string;
        type?: string;
        quiet?: boolean;
        output?: string;
      }) => {
        const { formatOf, parseDecisionsFile } = await import('./decisions-file');
        let rows;
        try {
          const stdin = opts.input === '-';
          const text = readFileSync(stdin ? 0 : opts.input, 'utf8');
          rows = parseDecisionsFile(text, formatOf(opts.input, opts.format, stdin ? text : undefined));
        } catch (error) {
          const where = opts.input === '-' ? 'stdin' : opts.input;
          throw new AdminError('USAGE', `${where}: ${error instanceof Error ? error.message : String(error)}`);
        }
        // json and raw are for scripts: no progress.
        const progress =
          opts.quiet || opts.output !== 'human' ? undefined : new Progress(process.stderr, rows.length, 'decisions');
        const started = performance.now();
        const imported = await adminSession(async () =>
          importInParts(await getConfig(), rows, {
            options: { duration: opts.duration, scope: opts.scope, reason: opts.reason, type: opts.type },
            progress,
          }),
        ).finally(() => progress?.end());
        const seconds = (performance.now() - started) / 1000;
        out(
          opts.output === 'json'
            ? JSON.stringify({ imported, seconds: +seconds.toFixed(3) })
            : opts.output === 'raw'
              ? csv(['imported', 'seconds'], [[String(imported), seconds.toFixed(3)]])
              : `${imported} decisions imported in ${seconds.toFixed(1)} s`,
        );
      },
    );
}

/**
 * Rows per part of an import. Measured on 100k-line files (bench/import.mjs): parts of 5k-20k cost the same
 * end to end within noise; 10k moves the bar in tenths.
 */
export const IMPORT_PART_ROWS = 10_000;

/**
 * Sends an import in parts (each checked and kept by the server, which reports the rows accepted so far), then
 * commits it: stored whole, or nothing when any line is unusable.
 */
export async function importInParts(
  config: AppConfig,
  rows: readonly ImportedDecision[],
  {
    options,
    progress,
    partRows = IMPORT_PART_ROWS,
  }: { options: ImportOptions; progress?: Progress; partRows?: number },
): Promise<number> {
  const importId = randomUUID();
  for (let at = 0; at < rows.length; at += partRows) {
    const { result } = await sendAdminRequest(config, {
      op: 'decisions.importPart',
      importId,
      at,
      rows: rows.slice(at, at + partRows),
      options,
    });
    progress?.update(result as number, (result as number) === rows.length ? 'accepted, storing…' : '');
  }
  if (rows.length === 0) {
    return 0;
  }
  const { result } = await sendAdminRequest(config, { op: 'decisions.importCommit', importId });
  return result as number;
}
