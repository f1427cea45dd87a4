export * from './alerts';
export * from './allowlists';
export * from './usage-metrics';
export * from './validation';
export * from './watchers';
