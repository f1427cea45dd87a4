/** DI token of the worker's ioredis connection. */
export const REDIS = Symbol('REDIS');

/** DI token of the deployment's Redis key names (redisKeys(prefix)). */
export const REDIS_KEYS = Symbol('REDIS_KEYS');

/** DI token of the decisions read model's generations (DecisionGenerations): one per worker process. */
export const DECISION_GENERATIONS = Symbol('DECISION_GENERATIONS');

/** DI token of the deployment's Redis key prefix (LAPI_REDIS_PREFIX). */
export const REDIS_PREFIX = Symbol('REDIS_PREFIX');

/** DI token of LAPI_PROJECTION_RETENTION (ms): how long the decisions read model keeps decisions that ended. */
export const PROJECTION_RETENTION_MS = Symbol('PROJECTION_RETENTION_MS');
