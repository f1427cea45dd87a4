import type { AppConfig } from '@lapi/config';
import type { Allowlist } from '@lapi/domain/allowlists/allowlist';
import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { sendAdminRequest } from './admin-client';
import { tableStyleOf } from './output';

/** `-e 1h`, `-e 7d`: cscli's durations (days allowed). */
const durationOption = (value: string): bigint => {
  const ns = parseGoDuration(value);
  if (ns === null || ns <= 0n) {
    throw new InvalidArgumentError(`invalid duration '${value}' (e.g. 30m, 4h, 7d)`);
  }
  return ns;
};

/**
 * `lapi allowlists …`: cscli ≥1.6.6's allowlist commands and messages. Writes and reads go through the admin path
 * (the running server's socket, or the database), so no machine credentials are needed.
 */
export function addAllowlistsCommands(
  program: Command,
  getConfig: () => Promise<AppConfig>,
  out: (text: string) => void,
  outputOption: () => import('commander').Option,
): void {
  const allowlists = program.command('allowlists').alias('allowlist').description('manage allowlists');
  const send = async (request: Parameters<typeof sendAdminRequest>[1]) =>
    (await sendAdminRequest(await getConfig(), request)).result;

  allowlists
    .command('create')
    .argument('<name>', 'allowlist name')
    .option('-d, --description <description>', 'description of the allowlist', '')
    .description('create an allowlist')
    .action(async (name: string, opts: { description: string }) => {
      await send({ op: 'allowlists.create', name, description: opts.description });
      out(`allowlist '${name}' created successfully`);
    });

  allowlists
    .command('add')
    .argument('<name>', 'allowlist name')
    .argument('<values...>', 'IPs or CIDR ranges')
    .option('-e, --expiration <duration>', 'expiration duration (e.g. 1h, 7d); default: never', durationOption)
    .option('-d, --comment <comment>', 'comment for the values', '')
    .description('add IPs or ranges to an allowlist; deletes the active decisions they cover')
    .action(async (name: string, values: string[], opts: { expiration?: bigint; comment: string }) => {
      const expiresAt =
        opts.expiration === undefined
          ? null
          : new Date(Date.now() + Number(opts.expiration / NANOS_PER_MS)).toISOString();
      const { added, decisionsDeleted } = (await send({
        op: 'allowlists.add',
        name,
        items: values.map((value) => ({ value, description: opts.comment, expiresAt })),
      })) as { added: number; decisionsDeleted: number };
      out(added === 0 ? 'no new values for allowlist' : `added ${added} values to allowlist ${name}`);
      if (decisionsDeleted > 0) {
        out(`${decisionsDeleted} decisions deleted by allowlists`);
      }
    });

  const yesOption = () => new Option('-y, --yes', 'do not ask for confirmation');
  const confirmed = async (question: string, opts: { yes?: boolean }) =>
    (await import('./confirm')).confirm(question, opts);

  allowlists
    .command('remove')
    .argument('<name>', 'allowlist name')
    .argument('<values...>', 'values to remove')
    .addOption(yesOption())
    .description('remove values from an allowlist')
    .action(async (name: string, values: string[], opts: { yes?: boolean }) => {
      await confirmed(`Remove ${values.length} values from allowlist '${name}'?`, opts);
      const removed = (await send({ op: 'allowlists.remove', name, values })) as number;
      out(removed === 0 ? 'no value to remove from allowlist' : `removed ${removed} values from allowlist ${name}`);
    });

  allowlists
    .command('list')
    .description('list allowlists')
    .addOption(outputOption())
    .action(async (opts: { output: string }) => {
      const lists = (await send({ op: 'allowlists.list' })) as Allowlist[];
      const { allowlistJson, allowlistsCsv, allowlistsTable } = await import('./format');
      const now = new Date();
      out(
        opts.output === 'json'
          ? JSON.stringify(
              lists.map((l) => allowlistJson(l, now)),
              null,
              2,
            )
          : opts.output === 'raw'
            ? allowlistsCsv(lists, now)
            : allowlistsTable(lists, now, tableStyleOf(program)),
      );
    });

  allowlists
    .command('inspect')
    .argument('<name>', 'allowlist name')
    .description('show an allowlist and its items')
    .addOption(outputOption())
    .action(async (name: string, opts: { output: string }) => {
      const list = (await send({ op: 'allowlists.inspect', name })) as Allowlist;
      const { allowlistCsv, allowlistJson, allowlistInspection } = await import('./format');
      const now = new Date();
      out(
        opts.output === 'json'
          ? JSON.stringify(allowlistJson(list, now), null, 2)
          : opts.output === 'raw'
            ? allowlistCsv(list, now)
            : allowlistInspection(list, now, tableStyleOf(program)),
      );
    });

  allowlists
    .command('delete')
    .argument('<name>', 'allowlist name')
    .addOption(yesOption())
    .description('delete an allowlist and its items')
    .action(async (name: string, opts: { yes?: boolean }) => {
      await confirmed(`Delete allowlist '${name}' and its items?`, opts);
      await send({ op: 'allowlists.delete', name });
      out(`allowlist '${name}' deleted successfully`);
    });

  allowlists
    .command('check')
    .argument('<values...>', 'IPs or CIDR ranges')
    .description('tell whether values are allowlisted, and by which items')
    .addOption(outputOption())
    .action(async (values: string[], opts: { output: string }) => {
      const results = (await send({ op: 'allowlists.check', values })) as { value: string; reasons: string[] }[];
      if (opts.output !== 'human') {
        const { rawTable } = await import('./format');
        out(
          opts.output === 'json'
            ? JSON.stringify(results, null, 2)
            : rawTable(
                ['value', 'allowlisted', 'reasons'],
                results.map((r) => [r.value, String(r.reasons.length > 0), r.reasons.join(' ')]),
              ),
        );
        return;
      }
      for (const { value, reasons } of results) {
        out(
          reasons.length === 0
            ? `${value} is not allowlisted`
            : `${value} is allowlisted by item ${reasons.join(', ')}`,
        );
      }
    });
}
