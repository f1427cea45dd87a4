export * from './api';
export * from './clock';
export * from './database';
export * from './decider';
export * from './redis';
