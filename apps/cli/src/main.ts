import type { AppConfig } from '@lapi/config';
import type { Bouncer, Machine } from '@lapi/domain';
import { clientNameProblem } from '@lapi/domain/machines/machine-credentials';
import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import { printable } from '@lapi/domain/shared/printable';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AdminError, adminSession, sendAdminRequest } from './admin-client';
import { addAlertsCommands } from './alerts-commands';
import { addAllowlistsCommands } from './allowlists-commands';
import { readEntries } from './bulk-file';
import { addDecisionsCommands } from './decisions-commands';
import { addImportCrowdsecCommand } from './import-crowdsec/command';
import { colorOption, outputOption, tableStyleOf, type OutputFormat } from './output';

// What every run loads is this file, commander and a few pure helpers: `lapi --help`, `--version` and argument
// errors answer before any database, driver or framework code is read. Each command imports what it needs when it
// runs (issue #18: the CLI answers in the time cscli does).

/** A name for a new machine or bouncer: the domain's rule. */
const newName = (value: string): string => {
  const problem = clientNameProblem(value);
  if (problem !== null) {
    throw new InvalidArgumentError(problem);
  }
  return value;
};

/** An existing machine or bouncer: any name, so that one taken before the rule can still be validated or deleted. */
const existingName = (value: string): string => {
  if (value.length === 0) {
    throw new InvalidArgumentError('the name must not be empty');
  }
  return value;
};

/** `-y, --yes`: destructive commands ask on a terminal before changing anything; this answers yes. */
const yesOption = () => new Option('-y, --yes', 'do not ask for confirmation');

let config: AppConfig | undefined;
/** The server's settings from the environment, `--data-dir` in place of LAPI_DATA_DIR when given. */
const getConfig = async (): Promise<AppConfig> => {
  const { dataDir } = program.opts<{ dataDir?: string }>();
  return (config ??= (await import('@lapi/config')).loadConfig(undefined, { requireSecret: false, dataDir }));
};
const out = (text: string) => process.stdout.write(`${text}\n`);
/** Tables in colour (`--color`): decided once, from the global option and stdout. */
const tableStyle = () => tableStyleOf(program);
/** Prints what the chosen `-o` format renders; each is built only when chosen. */
const print = (format: string, render: Record<OutputFormat, () => string>) => out(render[format as OutputFormat]());
const json = (value: unknown) => () => JSON.stringify(value, null, 2);
/** Asks before a destructive change (confirm.ts: only on a terminal, never with --yes). */
const confirmed = async (question: string, opts: { yes?: boolean }) =>
  (await import('./confirm')).confirm(question, opts);
const names = (list: readonly string[]) => list.map((n) => `'${printable(n)}'`).join(', ');

/** This package's version, from the package.json above this file (the build runs from dist/, tests from src/). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    const pkg = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }) : {};
    if (pkg.name === 'crowdsec-lapi-cluster' && pkg.version) {
      return pkg.version;
    }
  }
  return 'unknown';
}

const program = new Command('lapi')
  .description(
    'Administer the CrowdSec LAPI. Talks to the same database as the server: the embedded one in its data ' +
      'directory (--data-dir or LAPI_DATA_DIR, default ./data), or PostgreSQL (DATABASE_URL).',
  )
  .version(packageVersion())
  .option('--data-dir <dir>', "the server's data directory (its LAPI_DATA_DIR), for the embedded database")
  .addOption(colorOption())
  .configureHelp({ sortSubcommands: true })
  .showHelpAfterError();

const machines = program.command('machines').description('manage machines (agents, cscli)');

machines
  .command('add')
  .argument('[name]', 'machine id', newName)
  .option('--password <password>', 'password of the machine')
  .option('-a, --auto', 'generate a random password')
  .option('-f, --file <path>', 'write a cscli credentials file (url, login, password) there; "-" for stdout')
  .option('--url <url>', 'URL of this LAPI, written in the credentials file')
  .option('--from <file>', 'add the machines of a file instead, one "name [password]" a line ("-": stdin)')
  .addOption(outputOption())
  .description('add a validated machine, or all the machines of a file (all or none)')
  .action(
    async (
      machineId: string | undefined,
      opts: { password?: string; auto?: boolean; file?: string; url?: string; from?: string; output: string },
    ) => {
      if (opts.from !== undefined) {
        if (machineId !== undefined || opts.password !== undefined || opts.auto || opts.file !== undefined) {
          throw new AdminError('USAGE', 'give either --from <file> or a name with its options, not both');
        }
        const entries = readEntries(opts.from).map(([name, password]) => ({ name, password }));
        const { result } = await sendAdminRequest(await getConfig(), { op: 'machines.addMany', entries });
        const added = result as { name: string; password: string }[];
        const { rawTable } = await import('./format');
        print(opts.output, {
          human: () => added.map((m) => `${printable(m.name)} ${m.password}`).join('\n'),
          json: json(added),
          raw: () =>
            rawTable(
              ['machine_id', 'password'],
              added.map((m) => [m.name, m.password]),
            ),
        });
        return;
      }
      if (machineId === undefined) {
        throw new AdminError('USAGE', "missing required argument 'name' (or give --from <file>)");
      }
      if (opts.password !== undefined && opts.auto) {
        throw new AdminError('USAGE', 'give either --password or --auto, not both');
      }
      if (opts.password === undefined && !opts.auto) {
        throw new AdminError('USAGE', 'give --password <password> or --auto');
      }
      if (opts.password !== undefined && opts.password.length === 0) {
        throw new AdminError('USAGE', 'the password must not be empty');
      }
      const { generatePassword } = await import('@lapi/application/machines/password');
      const password = opts.password ?? generatePassword();
      const config = await getConfig();
      await sendAdminRequest(config, { op: 'machines.add', name: machineId, password });
      const url =
        opts.url ??
        `http://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`;
      const credentials = `url: ${url}\nlogin: ${machineId}\npassword: ${password}\n`;
      const toFile = opts.file !== undefined && opts.file !== '-';
      if (toFile) {
        writeFileSync(opts.file!, credentials, { mode: 0o600 });
      }
      print(opts.output, {
        human: () =>
          toFile
            ? `Machine '${machineId}' successfully added to the local API.\nAPI credentials written to '${opts.file}'.`
            : credentials.trimEnd(),
        json: json({ url, login: machineId, password }),
        raw: () => password,
      });
    },
  );

machines
  .command('list')
  .description('list machines')
  .addOption(outputOption())
  .action(async (opts: { output: string }) => {
    const { result } = await sendAdminRequest(await getConfig(), { op: 'machines.list' });
    const list = result as Machine[];
    const { machineJson, machinesCsv, machinesTable } = await import('./format');
    print(opts.output, {
      human: () => machinesTable(list, tableStyle()),
      json: json(list.map(machineJson)),
      raw: () => machinesCsv(list, new Date()),
    });
  });

machines
  .command('validate')
  .argument('<name>', 'machine id', existingName)
  .description('validate a machine that registered itself')
  .action(async (machineId: string) => {
    await sendAdminRequest(await getConfig(), { op: 'machines.validate', name: machineId });
    out(`machine '${printable(machineId)}' validated successfully`);
  });

machines
  .command('delete')
  .argument('<names...>', 'machine ids', (value: string, previous: string[] = []) => [...previous, existingName(value)])
  .addOption(yesOption())
  .description('delete machines: all of them, or none when one does not exist')
  .action(async (ids: string[], opts: { yes?: boolean }) => {
    await confirmed(`Delete ${ids.length === 1 ? 'machine' : `${ids.length} machines:`} ${names(ids)}?`, opts);
    await sendAdminRequest(
      await getConfig(),
      ids.length === 1 ? { op: 'machines.delete', name: ids[0] } : { op: 'machines.deleteMany', names: ids },
    );
    out(ids.map((id) => `machine '${printable(id)}' deleted successfully`).join('\n'));
  });

// `cscli machines prune` asks before going below this; a script cannot answer, so it is refused.
const MIN_PRUNE_MS = 2 * 60_000;
const notSeen = (value: string): number => {
  const ns = parseGoDuration(value.trim());
  const ms = ns === null ? NaN : Number(ns / NANOS_PER_MS);
  if (!(ms >= MIN_PRUNE_MS)) {
    throw new InvalidArgumentError('expected a duration of at least 2m, e.g. 10m, 1h or 7d');
  }
  return ms;
};

/** A duration of at least a second, e.g. 30s, 10m, 1h or 7d. */
const positiveDuration = (value: string): number => {
  const ns = parseGoDuration(value.trim());
  const ms = ns === null ? NaN : Number(ns / NANOS_PER_MS);
  if (!(ms >= 1000)) {
    throw new InvalidArgumentError('expected a duration of at least 1s, e.g. 30s, 10m, 1h or 7d');
  }
  return ms;
};

machines
  .command('prune')
  .option(
    '--not-seen <duration>',
    'prune machines not seen (heartbeat, login, registration) for this long',
    notSeen,
    600_000,
  )
  .option('--not-validated-only', 'only machines never validated')
  .option('--force', 'delete them (without it, only list them)')
  .addOption(yesOption())
  .addOption(outputOption())
  .description('delete machines not seen for a while (the local agent, last seen from loopback, is kept)')
  .action(
    async (opts: { notSeen: number; notValidatedOnly?: boolean; force?: boolean; yes?: boolean; output: string }) => {
      const prune = async (force: boolean) =>
        (
          await sendAdminRequest(await getConfig(), {
            op: 'machines.prune',
            notSeenMs: opts.notSeen,
            notValidatedOnly: opts.notValidatedOnly === true,
            force,
          })
        ).result as string[];
      let pruned = await prune(false);
      if (opts.force && pruned.length > 0) {
        await confirmed(`Delete ${pruned.length} machines: ${names(pruned)}?`, opts);
        pruned = await prune(true);
      }
      const { rawTable } = await import('./format');
      print(opts.output, {
        human: () =>
          pruned.length === 0
            ? 'No machines to prune.'
            : opts.force
              ? `successfully deleted ${pruned.length} machines: ${pruned.map(printable).join(', ')}`
              : `${pruned.length} machines to prune: ${pruned.map(printable).join(', ')}\nrun again with --force to delete them`,
        json: json(pruned),
        raw: () =>
          rawTable(
            ['machine_id'],
            pruned.map((id) => [id]),
          ),
      });
    },
  );

const bouncers = program.command('bouncers').description('manage bouncers');

bouncers
  .command('add')
  .argument('[name]', 'bouncer name', newName)
  .option('-k, --key <key>', 'API key to use instead of a generated one')
  .option('--from <file>', 'add the bouncers of a file instead, one "name [key]" a line ("-": stdin)')
  .addOption(outputOption())
  .description('add a bouncer and print its API key (shown only once), or all the bouncers of a file (all or none)')
  .action(async (bouncerName: string | undefined, opts: { key?: string; from?: string; output: string }) => {
    if (opts.from !== undefined) {
      if (bouncerName !== undefined || opts.key !== undefined) {
        throw new AdminError('USAGE', 'give either --from <file> or a name (and --key), not both');
      }
      const entries = readEntries(opts.from).map(([name, key]) => ({ name, key }));
      const { result } = await sendAdminRequest(await getConfig(), { op: 'bouncers.addMany', entries });
      const added = result as { name: string; key: string }[];
      const { rawTable } = await import('./format');
      print(opts.output, {
        human: () => added.map((b) => `${printable(b.name)} ${b.key}`).join('\n'),
        json: json(added),
        raw: () =>
          rawTable(
            ['name', 'key'],
            added.map((b) => [b.name, b.key]),
          ),
      });
      return;
    }
    if (bouncerName === undefined) {
      throw new AdminError('USAGE', "missing required argument 'name' (or give --from <file>)");
    }
    const { result } = await sendAdminRequest(await getConfig(), {
      op: 'bouncers.add',
      name: bouncerName,
      key: opts.key,
    });
    const { key } = result as { key: string };
    print(opts.output, {
      // Same layout as `cscli bouncers add`.
      human: () =>
        `API key for '${bouncerName}':\n\n   ${key}\n\nPlease keep this key since you will not be able to retrieve it!`,
      json: () => JSON.stringify(key),
      raw: () => key,
    });
  });

/** Every bouncer row `bouncers list` shows, with last pulls from where the servers keep them (bouncer-pulls.ts). */
async function listedBouncers() {
  const { result } = await sendAdminRequest(await getConfig(), { op: 'bouncers.list' });
  const list = result as Bouncer[];
  const [format, { lastPulls }] = await Promise.all([import('./format'), import('./bouncer-pulls')]);
  const pulls = await lastPulls(await getConfig(), format.listedPositionKeys(list));
  return { rows: format.bouncerRows(list, pulls), pulls, format };
}

bouncers
  .command('list')
  .description('list bouncers')
  .addOption(outputOption())
  .action(async (opts: { output: string }) => {
    const { rows, format } = await listedBouncers();
    print(opts.output, {
      human: () => format.bouncersTable(rows, tableStyle()),
      json: json(rows),
      raw: () => format.bouncersCsv(rows),
    });
  });

bouncers
  .command('delete')
  .argument('[names...]', 'bouncer names', (value: string, previous: string[] = []) => [
    ...previous,
    existingName(value),
  ])
  .option(
    '--from <file>',
    'delete the bouncers of a file instead, one name a line ("-": stdin; the rest of a line is ignored)',
  )
  .addOption(yesOption())
  .addOption(outputOption())
  .description('delete bouncers, named or of a file: all of them, or none when one does not exist')
  .action(async (given: string[] | undefined, opts: { from?: string; yes?: boolean; output: string }) => {
    if (opts.from !== undefined && given !== undefined && given.length > 0) {
      throw new AdminError('USAGE', 'give either --from <file> or names, not both');
    }
    const list = opts.from !== undefined ? readEntries(opts.from).map(([name]) => name) : (given ?? []);
    if (list.length === 0) {
      throw new AdminError('USAGE', "missing required argument 'names' (or give --from <file>)");
    }
    // A list read from stdin leaves no terminal to answer on: confirm() then goes on, as for any script.
    await confirmed(`Delete ${list.length === 1 ? 'bouncer' : `${list.length} bouncers:`} ${names(list)}?`, opts);
    await sendAdminRequest(
      await getConfig(),
      list.length === 1 && opts.from === undefined
        ? { op: 'bouncers.delete', name: list[0] }
        : { op: 'bouncers.deleteMany', names: list },
    );
    print(opts.output, {
      human: () => list.map((name) => `bouncer '${printable(name)}' deleted successfully`).join('\n'),
      json: json(list),
      raw: () => list.map(printable).join('\n'),
    });
  });

bouncers
  .command('prune')
  .option(
    '-d, --duration <duration>',
    'prune bouncers that pulled nothing for this long (under 2m: only with --yes)',
    positiveDuration,
    3_600_000,
  )
  .option('--force', 'delete them (without it, only list them)')
  .addOption(yesOption())
  .addOption(outputOption())
  .description("delete bouncers that pulled no decisions for a while (cscli's bouncers prune)")
  .action(async (opts: { duration: number; force?: boolean; yes?: boolean; output: string }) => {
    if (opts.duration < MIN_PRUNE_MS && !opts.yes) {
      // cscli asks here; a script must say it knows that bouncers pulling every few seconds may go too.
      throw new AdminError('USAGE', 'a duration under 2m may prune bouncers that are active: add --yes if you mean it');
    }
    const { pulls, format } = await listedBouncers();
    const prune = async (force: boolean) =>
      (
        await sendAdminRequest(await getConfig(), {
          op: 'bouncers.prune',
          notPulledMs: opts.duration,
          force,
          pulls: Object.fromEntries(pulls),
        })
      ).result as { name: string; lastPull: string | null }[];
    let pruned = await prune(false);
    if (opts.force && pruned.length > 0) {
      await confirmed(`Delete ${pruned.length} bouncers: ${names(pruned.map((b) => b.name))}?`, opts);
      pruned = await prune(true);
    }
    const cells = pruned.map((b) => [b.name, b.lastPull ?? 'never']);
    print(opts.output, {
      human: () =>
        pruned.length === 0
          ? 'No bouncers to prune.'
          : [
              format.table(['Name', 'Last API pull'], cells, tableStyle()),
              opts.force
                ? `Successfully deleted ${pruned.length} bouncers`
                : `${pruned.length} bouncers to prune: run again with --force to delete them`,
            ].join('\n'),
      json: json(pruned),
      raw: () =>
        format.rawTable(
          ['name', 'last_pull'],
          pruned.map((b) => [b.name, format.rfc3339(b.lastPull)]),
        ),
    });
  });

const projections = program.command('projections').description('the read models the cluster keeps in Redis');

projections
  .command('rebuild')
  .description('rebuild the decisions read model from the event log into a new generation, then switch to it')
  .option('--wait <seconds>', 'how long to wait for the switch (0: only ask)', (v) => Number.parseInt(v, 10), 600)
  .action(async (opts: { wait: number }) => {
    const { projectionsRebuild } = await import('./projections-rebuild');
    const result = await projectionsRebuild(await getConfig(), Math.max(0, opts.wait || 0) * 1000, (generation) =>
      out(`rebuilding decisions into generation ${generation} (a worker holding the projector lease does it)`),
    );
    if (!result.live) {
      out(`generation ${result.generation} is not live yet: see \`lapi projections status\``);
      process.exitCode = opts.wait > 0 ? 1 : 0;
      return;
    }
    out(`generation ${result.generation} is live`);
  });

projections
  .command('status')
  .description('position, lag behind the event log, and owner of each projection')
  .addOption(outputOption())
  .action(async (opts: { output: string }) => {
    const [{ projectionsStatus }, { rawTable, table }] = await Promise.all([
      import('./projections-status'),
      import('./format'),
    ]);
    const statuses = await projectionsStatus(await getConfig());
    const headers = ['Projection', 'Generation', 'Checkpoint (xid:position)', 'Lag (events)', 'Changes', 'Owner'];
    const rows = statuses.map((s) => [
      s.name,
      String(s.generation),
      s.checkpoint ?? '-',
      String(s.lag),
      String(s.changes),
      s.owner ?? '(none)',
      s.rebuilding ? `generation ${s.rebuilding.generation}: ${s.rebuilding.lag} events behind` : '-',
    ]);
    const waitHeaders = [
      'Replica',
      'Writes',
      'Mean ms',
      'p50 ≤ ms',
      'p99 ≤ ms',
      'Max ms',
      'Timeouts',
      'Redis down',
      'At',
    ];
    const waits = statuses.flatMap((s) =>
      s.readYourWrites.map((w) => [
        w.replica,
        String(w.waits),
        String(w.meanMs),
        String(w.p50Ms),
        String(w.p99Ms),
        String(w.maxMs),
        String(w.timeouts),
        String(w.unavailable),
        w.at,
      ]),
    );
    print(opts.output, {
      human: () =>
        [
          table([...headers, 'Rebuilding'], rows, tableStyle()),
          ...(waits.length > 0
            ? [
                'read-your-writes: how long writes waited for the projection, per API replica',
                table(waitHeaders, waits, tableStyle()),
              ]
            : []),
        ].join('\n'),
      json: json(statuses),
      // One table: the projections (the read-your-writes waits are in the JSON).
      raw: () => rawTable(['name', 'generation', 'checkpoint', 'lag', 'changes', 'owner', 'rebuilding'], rows),
    });
  });

/** Dead letters are kept up to 1,000: more cannot be shown. */
function deadLetterCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n <= 1_000)) {
    throw new InvalidArgumentError('expected a whole number from 0 to 1000');
  }
  return n;
}

program
  .command('metrics')
  .description('usage metrics of bouncers and agents (cscli metrics)')
  .addOption(outputOption())
  .action(async (opts: { output: string }) => {
    const [{ result }, { usageCsv, usageJson, usageTables }] = await Promise.all([
      getConfig().then((c) => sendAdminRequest(c, { op: 'metrics.usage' })),
      import('./usage-metrics'),
    ]);
    const reports = result as Parameters<typeof usageTables>[0];
    print(opts.output, {
      human: () => usageTables(reports, tableStyle()),
      json: json(usageJson(reports)),
      raw: () => usageCsv(reports),
    });
  });

program
  .command('notifications')
  .description('profile notifications: queues, deliveries, dead letters')
  .command('status')
  .description('queued alerts, deliveries, retries and dead letters of each notification plugin')
  .addOption(outputOption())
  .option('--dead <n>', 'dead letters to show (0 to 1000)', deadLetterCount, 20)
  .action(async (opts: { output: string; dead: number }) => {
    const [{ notificationsStatus }, { rawTable, table }] = await Promise.all([
      import('./notifications-status'),
      import('./format'),
    ]);
    const status = await notificationsStatus(await getConfig(), opts.dead);
    const headers = ['Plugin', 'Queued', 'Delivered', 'Failed attempts', 'Dead', 'Last status', 'Last delivery'];
    const rows = status.plugins.map((p) => [
      p.plugin,
      String(p.queued),
      String(p.delivered),
      String(p.failedAttempts),
      String(p.deadLettered),
      p.lastStatus ?? '-',
      p.lastDeliveredAt ?? '-',
      p.lastError ?? '-',
    ]);
    const human = () => {
      const style = tableStyle();
      const lines = [
        `owner: ${status.owner ?? '(none)'}   lag: ${status.lag ?? '-'} events   jobs: ${JSON.stringify(status.jobs)}`,
        table([...headers, 'Last error'], rows, style),
      ];
      if (status.webhook) {
        const w = status.webhook;
        lines.push(
          `webhook ${w.url}: delivered up to change ${w.delivered} of ${w.head}, owner ${w.owner ?? '(none)'}, ` +
            `${w.failures} failed attempts${w.lastError ? ` (last: ${w.lastError})` : ''}`,
        );
      }
      if (status.deadLetters.length > 0) {
        lines.push(
          'dead letters (newest first):',
          table(
            ['At', 'Plugin', 'Job', 'Alerts', 'Attempts', 'Reason'],
            status.deadLetters.map((d) => [d.at, d.plugin, d.job, String(d.alerts), String(d.attempts), d.reason]),
            style,
          ),
        );
      }
      return lines.join('\n');
    };
    print(opts.output, {
      human,
      json: json(status),
      // The plugins' table (owner, webhook and dead letters are in the JSON).
      raw: () =>
        rawTable(
          ['plugin', 'queued', 'delivered', 'failed_attempts', 'dead', 'last_status', 'last_delivery', 'last_error'],
          rows,
        ),
    });
  });

addDecisionsCommands(program, getConfig, out);
addAllowlistsCommands(program, getConfig, out, outputOption);
addImportCrowdsecCommand(program, getConfig, out);
addAlertsCommands(program, getConfig, out);

program
  .command('migrate')
  .description('create the database or bring its schema up to date')
  .action(async () => {
    const { result, via } = await sendAdminRequest(await getConfig(), { op: 'migrate' });
    const migrated = (result as { migrated: string[] }).migrated;
    out(
      via === 'server'
        ? 'the running server keeps the schema up to date: nothing to do'
        : migrated.length
          ? `applied: ${migrated.join(', ')}`
          : 'database schema is up to date',
    );
  });

program
  .command('completion')
  .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
  .description('print a shell completion script (bash, zsh)')
  .addHelpText('after', '\nIn ~/.bashrc: source <(lapi completion bash)   In ~/.zshrc: source <(lapi completion zsh)')
  .action(async (shell: string) => {
    const { bashCompletion, zshCompletion } = await import('./completion');
    process.stdout.write(shell === 'zsh' ? zshCompletion(program) : bashCompletion(program));
  });

// `lapi --help` lists each command group on one line of an 80-column terminal: a summary where a description is long.
const SUMMARIES: Record<string, string> = {
  'import-crowdsec': 'move in from CrowdSec: same passwords and keys',
  metrics: 'usage metrics of bouncers and agents',
  migrate: 'create the database or update its schema',
  notifications: 'notification queues, deliveries, dead letters',
};
for (const command of program.commands) {
  const summary = SUMMARIES[command.name()];
  if (summary !== undefined) {
    command.summary(summary);
  }
}

adminSession(() => program.parseAsync(process.argv)).catch((error: unknown) => {
  // ConfigError and AdminError are Errors: their message is for the user.
  const message = error instanceof Error ? error.message : String(error);
  // Line breaks kept (configuration errors list one problem a line); other controls, from names, escaped.
  process.stderr.write(`lapi: ${message.split('\n').map(printable).join('\n')}\n`);
  process.exitCode = 1;
});
