export * from './validation';
export * from './watchers';
