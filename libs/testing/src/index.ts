export * from './api';
export * from './builders';
export * from './clock';
export * from './database';
export * from './decider';
export * from './private-redis';
export * from './redis';
