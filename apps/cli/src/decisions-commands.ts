import type { ImportedDecision, ImportOptions } from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import { Option, type Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AdminError, adminSession, sendAdminRequest } from './admin-client';
import { Progress } from './progress';

/** `lapi decisions add` and `import`: cscli's commands (same flags and alerts), through the fastest path to the store. */
export function addDecisionsCommands(
  program: Command,
  getConfig: () => Promise<AppConfig>,
  out: (text: string) => void,
): void {
  const decisions = program.command('decisions').description('manage decisions');
  decisions
    .command('add')
    .option('-i, --ip <ip>', 'source ip (shorthand for --scope ip --value <IP>)')
    .option('-r, --range <range>', 'range source ip (shorthand for --scope range --value <RANGE>)')
    .option('-d, --duration <duration>', 'duration of the decision', '4h')
    .option('-v, --value <value>', 'the value to match for in the specified scope')
    .option('-s, --scope <scope>', 'decision scope (ip, range, username…)', 'Ip')
    .option('-R, --reason <reason>', "decision reason (default \"manual '<type>' from 'lapi'\")")
    .option('-t, --type <type>', 'decision remediation type (ban, captcha, throttle)', 'ban')
    .description('add a decision, as `cscli decisions add` does: an alert carrying it')
    .action(
      async (opts: Record<'ip' | 'range' | 'duration' | 'value' | 'scope' | 'reason' | 'type', string | undefined>) => {
        await sendAdminRequest(await getConfig(), { op: 'decisions.add', decision: opts });
        out('Decision successfully added');
      },
    );
  decisions
    .command('import')
    .requiredOption('-i, --input <file>', 'file to import: csv (header line), json (array), or one value per line')
    .addOption(
      new Option('--format <format>', 'file format (default: from the file name)').choices(['csv', 'json', 'values']),
    )
    .option('-d, --duration <duration>', 'decision duration (e.g. 1h, 4h, 30m): overrides the file; default 4h')
    .option('--scope <scope>', 'decision scope (ip, range, username…): overrides the file; default ip')
    .option('-R, --reason <reason>', 'decision reason (scenario name): overrides the file; default manual')
    .option('-t, --type <type>', 'decision type (ban, captcha…): overrides the file; default ban')
    .option('-q, --quiet', 'no progress on stderr')
    .addOption(new Option('-o, --output <format>', 'output format (json: no progress)').choices(['human', 'json']))
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
          rows = parseDecisionsFile(readFileSync(opts.input, 'utf8'), formatOf(opts.input, opts.format));
        } catch (error) {
          throw new AdminError('USAGE', `${opts.input}: ${error instanceof Error ? error.message : String(error)}`);
        }
        const json = opts.output === 'json';
        const progress = opts.quiet || json ? undefined : new Progress(process.stderr, rows.length, 'decisions');
        const started = performance.now();
        const imported = await adminSession(async () =>
          importInParts(await getConfig(), rows, {
            options: { duration: opts.duration, scope: opts.scope, reason: opts.reason, type: opts.type },
            progress,
          }),
        ).finally(() => progress?.end());
        const seconds = (performance.now() - started) / 1000;
        out(
          json
            ? JSON.stringify({ imported, seconds: +seconds.toFixed(3) })
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
