// wrk (Debian's package) as the load generator for request/response workloads: C, so the client costs little
// of the 2 cores the servers share with it. The Lua scripts print one JSON summary line.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'wrk');

/** Runs wrk; resolves with req/s, p50/p99 in ms, and error counts. */
export function runWrk({ url, script, args = [], connections = 50, threads = 1, seconds = 10 }) {
  const argv = [
    '-t',
    String(threads),
    '-c',
    String(connections),
    '-d',
    `${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    join(SCRIPTS, script),
    url,
    ...(args.length ? ['--', ...args.map(String)] : []),
  ];
  return new Promise((resolve, reject) =>
    execFile('wrk', argv, { cwd: SCRIPTS, encoding: 'utf8', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const line = /^JSON (.*)$/m.exec(stdout ?? '');
      if (error || !line) return reject(new Error(`wrk ${argv.join(' ')}: ${stderr || error?.message}\n${stdout}`));
      const s = JSON.parse(line[1]);
      resolve({
        rps: s.requests / (s.duration_us / 1e6),
        requests: s.requests,
        seconds: s.duration_us / 1e6,
        p50: s.p50_us / 1000,
        p99: s.p99_us / 1000,
        max: s.max_us / 1000,
        non2xx: s.non2xx,
        errors: s.errors,
      });
    }),
  );
}
