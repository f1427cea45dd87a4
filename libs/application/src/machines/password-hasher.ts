import type { OnModuleDestroy } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// The reference hashes machine passwords with bcrypt cost 10 ($2a$10$…); cscli-made hashes must keep matching.
const BCRYPT_COST = 10;

/** bcrypt, slow on purpose: hashes and comparisons run off the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  matches(password: string, hash: string): Promise<boolean>;
}
export const PASSWORD_HASHER = Symbol('PASSWORD_HASHER');

/** Every bcrypt thread is busy and the queue is full: the caller should come back later (503 + Retry-After). */
export class PasswordHashingBusyError extends Error {
  constructor(readonly retryAfterS: number) {
    super(`too many password checks in progress, retry in ${retryAfterS}s`);
    this.name = 'PasswordHashingBusyError';
  }
}

export interface BcryptPoolOptions {
  /** Threads running bcrypt; each takes one core while it works. Default: one per core. */
  readonly threads?: number;
  /** Operations waiting for a thread beyond which new ones are refused at once. */
  readonly maxQueued: number;
}

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };

interface Pending {
  readonly job: Job;
  readonly resolve: (value: string | boolean) => void;
  readonly reject: (error: Error) => void;
}

// Plain CommonJS evaluated in the thread, so it runs the same from the TypeScript sources (tests) and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
try {
  // Linux: this thread's id, then a lower priority for it alone (nice 10, not 19: bcrypt must still progress on a busy host), so that the event loop serving requests
  // always comes first when the cores are all busy.
  const tid = Number(require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0]);
  require('node:os').setPriority(tid, 10);
} catch {
  // elsewhere, the same priority as the event loop
}
parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash);
    parentPort.postMessage({ result });
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});`;

/**
 * bcryptjs (pure JS) in worker threads: about 0.1 s of CPU per operation would otherwise stall every request the
 * event loop serves. At most `threads` run at once; `maxQueued` more wait; beyond that PasswordHashingBusyError,
 * so a storm of logins or registrations is answered quickly instead of queueing without bound.
 */
export class BcryptWorkerPool implements PasswordHasher, OnModuleDestroy {
  private readonly threads: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private started = 0;
  // A running mean of one operation's duration, for Retry-After.
  private meanMs = 100;
  private closed = false;

  constructor(private readonly options: BcryptPoolOptions) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
  }

  hash(password: string): Promise<string> {
    return this.run({ op: 'hash', password, cost: BCRYPT_COST }) as Promise<string>;
  }

  matches(password: string, hash: string): Promise<boolean> {
    return this.run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  /** Stops the threads; operations still waiting are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new Error('password hashing stopped'));
    }
    await Promise.all([...this.idle.splice(0), ...this.busy.keys()].map((w) => w.terminate()));
  }

  private run(job: Job): Promise<string | boolean> {
    if (this.closed) {
      return Promise.reject(new Error('password hashing stopped'));
    }
    const worker = this.idle.pop() ?? (this.started < this.threads ? this.spawn() : undefined);
    if (!worker && this.queue.length >= this.options.maxQueued) {
      const waitMs = (this.queue.length / this.threads + 1) * this.meanMs;
      return Promise.reject(new PasswordHashingBusyError(Math.max(1, Math.ceil(waitMs / 1000))));
    }
    return new Promise((resolve, reject) => {
      const pending = { job, resolve, reject };
      if (worker) {
        this.dispatch(worker, pending);
      } else {
        this.queue.push(pending);
      }
    });
  }

  private spawn(): Worker {
    this.started += 1;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptjs: require.resolve('bcryptjs') } });
    // Idle threads must not keep a CLI run or a test process alive.
    worker.unref();
    worker.on('error', (error) => this.lose(worker, error));
    worker.on('exit', (code) => this.lose(worker, new Error(`bcrypt thread exited with code ${code}`)));
    return worker;
  }

  private dispatch(worker: Worker, pending: Pending): void {
    const startedAt = performance.now();
    this.busy.set(worker, pending);
    worker.once('message', (reply: { result?: string | boolean; error?: string }) => {
      this.busy.delete(worker);
      this.meanMs = 0.8 * this.meanMs + 0.2 * (performance.now() - startedAt);
      if (reply.error !== undefined) {
        pending.reject(new Error(`bcrypt: ${reply.error}`));
      } else {
        pending.resolve(reply.result as string | boolean);
      }
      const next = this.queue.shift();
      if (next) {
        this.dispatch(worker, next);
      } else {
        this.idle.push(worker);
      }
    });
    worker.postMessage(pending.job);
  }

  /** A thread died: its operation fails, and a new thread is started when one is next needed. */
  private lose(worker: Worker, error: Error): void {
    const pending = this.busy.get(worker);
    const idleAt = this.idle.indexOf(worker);
    if (!pending && idleAt < 0) {
      return; // already accounted for (error then exit)
    }
    this.busy.delete(worker);
    if (idleAt >= 0) {
      this.idle.splice(idleAt, 1);
    }
    this.started -= 1;
    pending?.reject(error);
    const next = !this.closed && this.queue.shift();
    if (next) {
      this.dispatch(this.spawn(), next);
    }
  }
}
