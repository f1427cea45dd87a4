export * from './alerts';
export * from './validation';
export * from './watchers';
