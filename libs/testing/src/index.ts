export * from './api';
export * from './database';
export * from './decider';
