export * from './alerts';
export * from './usage-metrics';
export * from './validation';
export * from './watchers';
