// Admin CLI timings (issue #18): `lapi` next to `cscli` doing the same, each a fresh process as an operator's
// script runs it, median of N calls. Ours embedded goes through the running server's admin socket; ours cluster
// goes to PostgreSQL (and Redis for `bouncers list`); cscli 1.4.6 to its PostgreSQL database (and to its LAPI for
// `decisions add`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MACHINE } from './servers.mjs';

/** The commands timed: [label, args (with `i` the call's number), target ms for ours]. */
const COMMANDS = [
  ['--help', () => ['--help'], 150],
  ['--version', (_i, ref) => (ref ? ['version'] : ['--version']), 150],
  ['bouncers add NAME', (i, _ref, run) => ['bouncers', 'add', `cli-bench-${run}-${i}`], 300],
  ['bouncers list', () => ['bouncers', 'list'], 300],
  ['machines validate NAME', () => ['machines', 'validate', MACHINE.id], 300],
  ['decisions add -i IP', (i, _ref, run) => ['decisions', 'add', '-i', `10.77.${run}.${i + 1}`], 300],
];

/** How to run the CLI of a server started by servers.mjs: `lapi` with its env, or `cscli -c config`. */
export function cliOf(server, root) {
  if (server.kind === 'reference') {
    const env = { ...process.env, PGSSLMODE: 'disable' };
    return {
      name: server.name,
      reference: true,
      run: (args) => spawnSync('cscli', ['-c', server.config, ...args], { env, encoding: 'utf8' }),
    };
  }
  return {
    name: server.name,
    reference: false,
    run: (args, input) =>
      spawnSync(process.execPath, [join(root, 'bin', 'lapi.js'), ...args], {
        cwd: root,
        env: server.env,
        encoding: 'utf8',
        input,
      }),
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timed(cli, args, input) {
  const started = performance.now();
  const r = cli.run(args, input);
  const ms = performance.now() - started;
  if (r.status !== 0) {
    throw new Error(`${cli.name}: ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout || '').slice(0, 500)}`);
  }
  return ms;
}

let runs = 0;

/** Median (and min, max) ms of each command over `calls` calls; then the bulk commands (ours only). */
export function cliTimings(cli, { calls = 10, bulk = 1000, machines = 100, log = () => {} } = {}) {
  const run = ++runs % 250;
  const result = { name: cli.name, reference: cli.reference, commands: {}, bulk: {} };
  if (!cli.reference) {
    // The floor under any Node.js CLI on this machine, now: how far the load moves every figure below.
    const floor = { name: 'node', run: () => spawnSync(process.execPath, ['-e', '0']) };
    const samples = Array.from({ length: calls }, () => timed(floor, ['-e', '0']));
    result.nodeFloor = median(samples);
  }
  for (const [label, args] of COMMANDS) {
    timed(cli, args(calls, cli.reference, run)); // warm the page cache (and the server's first answer)
    const samples = [];
    for (let i = 0; i < calls; i++) samples.push(timed(cli, args(i, cli.reference, run)));
    result.commands[label] = { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
    log(`${cli.name}: ${label}: median ${result.commands[label].median.toFixed(0)} ms`);
  }
  if (!cli.reference) {
    const dir = mkdtempSync(join(tmpdir(), 'lapi-bench-cli-'));
    try {
      const names = Array.from({ length: bulk }, (_, i) => `cli-bulk-${run}-${i}`);
      const file = join(dir, 'bouncers.txt');
      writeFileSync(file, `${names.join('\n')}\n`);
      result.bulk[`bouncers add --from (${bulk})`] = timed(cli, ['bouncers', 'add', '--from', file]);
      result.bulk[`bouncers delete --from (${bulk})`] = timed(cli, ['bouncers', 'delete', '--from', file]);
      const machineFile = join(dir, 'machines.txt');
      writeFileSync(machineFile, `${Array.from({ length: machines }, (_, i) => `cli-bulk-${run}-m${i}`).join('\n')}\n`);
      result.bulk[`machines add --from (${machines})`] = timed(cli, ['machines', 'add', '--from', machineFile]);
      for (const [label, ms] of Object.entries(result.bulk)) log(`${cli.name}: ${label}: ${(ms / 1000).toFixed(2)} s`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return result;
}

const fmt = (ms) => (ms === undefined ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

/** A markdown table: each command's median per CLI, its target, and whether ours meet it and beat every cscli. */
export function formatCliReport(results, { calls = 10 } = {}) {
  const ours = results.filter((r) => !r.reference);
  const refs = results.filter((r) => r.reference);
  const refName = (r) => `cscli 1.4.6 (${r.name.replace(/^reference 1\.4\.6 \(?|\)$/g, '') || 'reference'})`;
  const head = ['command', ...ours.map((r) => r.name), ...refs.map(refName), 'target', 'met'];
  const lines = [
    `Admin CLI, median of ${calls} calls (each a new process; a shared machine makes these indicative):`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  lines.push(
    `| node -e 0 (floor of any Node CLI) | ${[...ours.map((r) => fmt(r.nodeFloor)), ...refs.map(() => '–'), '', ''].join(' | ')} |`,
  );
  for (const [label, , target] of COMMANDS) {
    const refMs = refs.map((r) => r.commands[label]?.median).filter((v) => v !== undefined);
    const fastest = refMs.length ? Math.min(...refMs) : undefined;
    const met = ours.every(
      (r) => r.commands[label]?.median <= target && (fastest === undefined || r.commands[label].median <= fastest),
    );
    lines.push(
      `| ${[label, ...ours.map((r) => fmt(r.commands[label]?.median)), ...refs.map((r) => fmt(r.commands[label]?.median)), `≤ ${target} ms${refs.length ? ', ≤ cscli' : ''}`, met ? 'yes' : '**no**'].join(' | ')} |`,
    );
  }
  const bulkLabels = [...new Set(ours.flatMap((r) => Object.keys(r.bulk)))];
  for (const label of bulkLabels) {
    const target = label.startsWith('bouncers add') ? 2000 : undefined;
    const met = target === undefined ? '' : ours.every((r) => r.bulk[label] <= target) ? 'yes' : '**no**';
    lines.push(
      `| ${[label, ...ours.map((r) => fmt(r.bulk[label])), ...refs.map(() => 'no bulk command'), target ? '≤ 2 s' : '', met].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
