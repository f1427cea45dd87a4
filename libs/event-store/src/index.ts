export * from './data-dir-lock';
export * from './database';
export type { DB } from './db';
export * from './event-store';
export * from './json-slices';
export * from './postgres-event-store';
export * from './private-data-dir';
export * from './storage-full';
