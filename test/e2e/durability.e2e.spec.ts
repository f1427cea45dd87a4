// End-to-end: in embedded mode a 201 means the commit is on disk. The built server runs under strace, which shows
// the fsync() of the WAL file made for the request. Needs `npm run build` and strace (`apt-get install -y strace`).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, embeddedEnv, freePort, httpGet, REPO_ROOT, SERVER_ENTRY } from './server';

const straceAvailable = spawnSync('strace', ['-V']).status === 0;
if (!straceAvailable) {
  process.stderr.write('durability.e2e.spec.ts: strace is not installed (apt-get install -y strace): skipped\n');
}

/** fsync() calls on a WAL segment in the strace log (-y prints the file behind each descriptor). */
const walFsyncs = (log: string): number =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => /\bfsync\(\d+<[^>]*\/pg_wal\/[0-9A-F]{24}>\)\s+=\s+0/.test(line)).length;

(straceAvailable ? describe : describe.skip)('embedded commits are flushed to disk (strace)', () => {
  let tmp: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-durability-e2e-'));
  });
  afterAll(async () => {
    // strace and the server share a process group: SIGTERM reaches the server too (strace alone would detach).
    for (const child of children) {
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(-child.pid, 'SIGTERM');
        await exited;
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The built server under strace; resolves once GET /health answers 200. */
  async function startTraced(name: string, env: Record<string, string>) {
    const port = await freePort();
    const log = join(tmp, `${name}.strace`);
    const child = spawn(
      'strace',
      ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync', '-o', log, process.execPath, SERVER_ENTRY],
      {
        cwd: REPO_ROOT,
        env: childEnv({ ...embeddedEnv(join(tmp, name)), ...env, LAPI_LISTEN_URI: `127.0.0.1:${port}` }),
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      },
    );
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 120_000;
    while ((await httpGet(`${url}/health`))?.status !== 200) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the server under strace did not start:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return { url, log };
  }

  const register = (url: string, machineId: string) =>
    fetch(`${url}/v1/watchers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ machine_id: machineId, password: `${machineId}-password` }),
    });

  it('fsyncs the WAL for each commit before answering 201 (the default)', async () => {
    const { url, log } = await startTraced('durable', {});
    for (const machineId of ['agent-one', 'agent-two', 'agent-three']) {
      const before = walFsyncs(log);
      expect((await register(url, machineId)).status).toBe(201);
      expect(walFsyncs(log)).toBeGreaterThan(before);
    }
  }, 180_000);

  it('leaves commits in the page cache with LAPI_EMBEDDED_FSYNC=false', async () => {
    const { url, log } = await startTraced('page-cache', { LAPI_EMBEDDED_FSYNC: 'false' });
    expect((await register(url, 'agent-fast')).status).toBe(201);
    expect(walFsyncs(log)).toBe(0);
  }, 180_000);
});
