import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This worker process in lease owners (`lapi projections status` shows it): host, pid, and a random tag. */
export const WORKER_ID = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
