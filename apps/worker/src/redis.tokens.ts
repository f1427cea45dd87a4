/** DI token of the worker's ioredis connection. */
export const REDIS = Symbol('REDIS');
