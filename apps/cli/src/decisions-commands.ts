import type { AppConfig } from '@lapi/config';
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { AdminError, sendAdminRequest } from './admin-client';

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
    .description('import decisions from a file, all of them or none')
    .action(
      async (opts: {
        input: string;
        format?: string;
        duration?: string;
        scope?: string;
        reason?: string;
        type?: string;
      }) => {
        const { formatOf, parseDecisionsFile } = await import('./decisions-file');
        let rows;
        try {
          rows = parseDecisionsFile(readFileSync(opts.input, 'utf8'), formatOf(opts.input, opts.format));
        } catch (error) {
          throw new AdminError('USAGE', `${opts.input}: ${error instanceof Error ? error.message : String(error)}`);
        }
        const started = performance.now();
        const { result } = await sendAdminRequest(await getConfig(), {
          op: 'decisions.import',
          rows,
          options: { duration: opts.duration, scope: opts.scope, reason: opts.reason, type: opts.type },
        });
        const seconds = (performance.now() - started) / 1000;
        out(`${result as number} decisions imported in ${seconds.toFixed(1)} s`);
      },
    );
}
