import type { AppConfig } from '@lapi/config';
import type { Bouncer, Machine } from '@lapi/domain';
import { clientNameProblem } from '@lapi/domain/machines/machine-credentials';
import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import { printable } from '@lapi/domain/shared/printable';
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AdminError, adminSession, sendAdminRequest } from './admin-client';
import { addAlertsCommands } from './alerts-commands';
import { addAllowlistsCommands } from './allowlists-commands';
import { readEntries } from './bulk-file';
import { addDecisionsCommands } from './decisions-commands';
import { addImportCrowdsecCommand } from './import-crowdsec/command';

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

const outputOption = () =>
  new Option('-o, --output <format>', 'output format').choices(['human', 'json']).default('human');

let config: AppConfig | undefined;
const getConfig = async (): Promise<AppConfig> =>
  (config ??= (await import('@lapi/config')).loadConfig(undefined, { requireSecret: false }));
const out = (text: string) => process.stdout.write(`${text}\n`);

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
    'Administer the CrowdSec LAPI: machines, bouncers, migrations. Talks to the same database as the server.',
  )
  .version(packageVersion())
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
        out(
          opts.output === 'json'
            ? JSON.stringify(added, null, 2)
            : added.map((m) => `${printable(m.name)} ${m.password}`).join('\n'),
        );
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
      if (opts.file && opts.file !== '-') {
        writeFileSync(opts.file, credentials, { mode: 0o600 });
        out(`Machine '${machineId}' successfully added to the local API.`);
        out(`API credentials written to '${opts.file}'.`);
      } else {
        out(credentials.trimEnd());
      }
    },
  );

machines
  .command('list')
  .description('list machines')
  .addOption(outputOption())
  .action(async (opts: { output: string }) => {
    const { result } = await sendAdminRequest(await getConfig(), { op: 'machines.list' });
    const list = result as Machine[];
    const { machineJson, machinesTable } = await import('./format');
    out(opts.output === 'json' ? JSON.stringify(list.map(machineJson), null, 2) : machinesTable(list));
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
  .argument('<name>', 'machine id', existingName)
  .description('delete a machine')
  .action(async (machineId: string) => {
    await sendAdminRequest(await getConfig(), { op: 'machines.delete', name: machineId });
    out(`machine '${printable(machineId)}' deleted successfully`);
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
  .description('delete machines not seen for a while (the local agent, last seen from loopback, is kept)')
  .action(async (opts: { notSeen: number; notValidatedOnly?: boolean; force?: boolean }) => {
    const { result } = await sendAdminRequest(await getConfig(), {
      op: 'machines.prune',
      notSeenMs: opts.notSeen,
      notValidatedOnly: opts.notValidatedOnly === true,
      force: opts.force === true,
    });
    const pruned = result as string[];
    if (pruned.length === 0) {
      out('No machines to prune.');
    } else if (opts.force) {
      out(`successfully deleted ${pruned.length} machines: ${pruned.map(printable).join(', ')}`);
    } else {
      out(
        `${pruned.length} machines to prune: ${pruned.map(printable).join(', ')}\nrun again with --force to delete them`,
      );
    }
  });

const bouncers = program.command('bouncers').description('manage bouncers');

bouncers
  .command('add')
  .argument('[name]', 'bouncer name', newName)
  .option('-k, --key <key>', 'API key to use instead of a generated one')
  .option('--from <file>', 'add the bouncers of a file instead, one "name [key]" a line ("-": stdin)')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['human', 'raw', 'json']).default('human'))
  .description('add a bouncer and print its API key (shown only once), or all the bouncers of a file (all or none)')
  .action(async (bouncerName: string | undefined, opts: { key?: string; from?: string; output: string }) => {
    if (opts.from !== undefined) {
      if (bouncerName !== undefined || opts.key !== undefined) {
        throw new AdminError('USAGE', 'give either --from <file> or a name (and --key), not both');
      }
      const entries = readEntries(opts.from).map(([name, key]) => ({ name, key }));
      const { result } = await sendAdminRequest(await getConfig(), { op: 'bouncers.addMany', entries });
      const added = result as { name: string; key: string }[];
      out(
        opts.output === 'json'
          ? JSON.stringify(added, null, 2)
          : added.map((b) => `${printable(b.name)} ${b.key}`).join('\n'),
      );
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
    if (opts.output === 'raw') {
      out(key);
    } else if (opts.output === 'json') {
      out(JSON.stringify(key));
    } else {
      // Same layout as `cscli bouncers add`.
      out(
        `API key for '${bouncerName}':\n\n   ${key}\n\nPlease keep this key since you will not be able to retrieve it!`,
      );
    }
  });

bouncers
  .command('list')
  .description('list bouncers')
  .addOption(outputOption())
  .action(async (opts: { output: string }) => {
    const { result } = await sendAdminRequest(await getConfig(), { op: 'bouncers.list' });
    const list = result as Bouncer[];
    const [{ bouncerRows, bouncersTable, listedPositionKeys }, { lastPulls }] = await Promise.all([
      import('./format'),
      import('./bouncer-pulls'),
    ]);
    const rows = bouncerRows(list, await lastPulls(await getConfig(), listedPositionKeys(list)));
    out(opts.output === 'json' ? JSON.stringify(rows, null, 2) : bouncersTable(rows));
  });

bouncers
  .command('delete')
  .argument('[name]', 'bouncer name', existingName)
  .option(
    '--from <file>',
    'delete the bouncers of a file instead, one name a line ("-": stdin; the rest of a line is ignored)',
  )
  .description('delete a bouncer, or all the bouncers of a file (all or none)')
  .action(async (bouncerName: string | undefined, opts: { from?: string }) => {
    if (opts.from !== undefined) {
      if (bouncerName !== undefined) {
        throw new AdminError('USAGE', 'give either --from <file> or a name, not both');
      }
      const names = readEntries(opts.from).map(([name]) => name);
      await sendAdminRequest(await getConfig(), { op: 'bouncers.deleteMany', names });
      out(names.map((name) => `bouncer '${printable(name)}' deleted successfully`).join('\n'));
      return;
    }
    if (bouncerName === undefined) {
      throw new AdminError('USAGE', "missing required argument 'name' (or give --from <file>)");
    }
    await sendAdminRequest(await getConfig(), { op: 'bouncers.delete', name: bouncerName });
    out(`bouncer '${printable(bouncerName)}' deleted successfully`);
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
    const [{ projectionsStatus }, { table }] = await Promise.all([import('./projections-status'), import('./format')]);
    const statuses = await projectionsStatus(await getConfig());
    if (opts.output === 'json') {
      out(JSON.stringify(statuses, null, 2));
      return;
    }
    out(
      table(
        ['Projection', 'Generation', 'Checkpoint (xid:position)', 'Lag (events)', 'Changes', 'Owner', 'Rebuilding'],
        statuses.map((s) => [
          s.name,
          String(s.generation),
          s.checkpoint ?? '-',
          String(s.lag),
          String(s.changes),
          s.owner ?? '(none)',
          s.rebuilding ? `generation ${s.rebuilding.generation}: ${s.rebuilding.lag} events behind` : '-',
        ]),
      ),
    );
    const waits = statuses.flatMap((s) => s.readYourWrites);
    if (waits.length > 0) {
      out('read-your-writes: how long writes waited for the projection, per API replica');
      out(
        table(
          ['Replica', 'Writes', 'Mean ms', 'p50 ≤ ms', 'p99 ≤ ms', 'Max ms', 'Timeouts', 'Redis down', 'At'],
          waits.map((w) => [
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
        ),
      );
    }
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
  .description("usage metrics bouncers and agents sent (POST /v1/usage-metrics), as cscli metrics' bouncer tables")
  .addOption(outputOption())
  .action(async (opts: { output: string }) => {
    const [{ result }, { usageJson, usageTables }] = await Promise.all([
      getConfig().then((c) => sendAdminRequest(c, { op: 'metrics.usage' })),
      import('./usage-metrics'),
    ]);
    const reports = result as Parameters<typeof usageTables>[0];
    out(opts.output === 'json' ? JSON.stringify(usageJson(reports), null, 2) : usageTables(reports));
  });

program
  .command('notifications')
  .description('profile notifications: delivered by the workers in a cluster, by the API process otherwise')
  .command('status')
  .description('queued alerts, deliveries, retries and dead letters of each notification plugin')
  .addOption(outputOption())
  .option('--dead <n>', 'dead letters to show (0 to 1000)', deadLetterCount, 20)
  .action(async (opts: { output: string; dead: number }) => {
    const [{ notificationsStatus }, { table }] = await Promise.all([
      import('./notifications-status'),
      import('./format'),
    ]);
    const status = await notificationsStatus(await getConfig(), opts.dead);
    if (opts.output === 'json') {
      out(JSON.stringify(status, null, 2));
      return;
    }
    out(`owner: ${status.owner ?? '(none)'}   lag: ${status.lag ?? '-'} events   jobs: ${JSON.stringify(status.jobs)}`);
    out(
      table(
        ['Plugin', 'Queued', 'Delivered', 'Failed attempts', 'Dead', 'Last status', 'Last delivery', 'Last error'],
        status.plugins.map((p) => [
          p.plugin,
          String(p.queued),
          String(p.delivered),
          String(p.failedAttempts),
          String(p.deadLettered),
          p.lastStatus ?? '-',
          p.lastDeliveredAt ?? '-',
          p.lastError ?? '-',
        ]),
      ),
    );
    if (status.webhook) {
      const w = status.webhook;
      out(
        `webhook ${w.url}: delivered up to change ${w.delivered} of ${w.head}, owner ${w.owner ?? '(none)'}, ` +
          `${w.failures} failed attempts${w.lastError ? ` (last: ${w.lastError})` : ''}`,
      );
    }
    if (status.deadLetters.length > 0) {
      out('dead letters (newest first):');
      out(
        table(
          ['At', 'Plugin', 'Job', 'Alerts', 'Attempts', 'Reason'],
          status.deadLetters.map((d) => [d.at, d.plugin, d.job, String(d.alerts), String(d.attempts), d.reason]),
        ),
      );
    }
  });

addDecisionsCommands(program, getConfig, out);
addAllowlistsCommands(program, getConfig, out, outputOption);
addImportCrowdsecCommand(program, getConfig, out);
addAlertsCommands(program, getConfig, out);

program
  .command('migrate')
  .description('bring the database schema up to date (the server also does this at start)')
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

adminSession(() => program.parseAsync(process.argv)).catch((error: unknown) => {
  // ConfigError and AdminError are Errors: their message is for the user.
  const message = error instanceof Error ? error.message : String(error);
  // Line breaks kept (configuration errors list one problem a line); other controls, from names, escaped.
  process.stderr.write(`lapi: ${message.split('\n').map(printable).join('\n')}\n`);
  process.exitCode = 1;
});
