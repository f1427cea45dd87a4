export * from './config';
export * from './retention';
export * from './tls';
