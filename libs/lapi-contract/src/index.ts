export * from './alerts';
export * from './allowlists';
export * from './validation';
export * from './watchers';
