/** Every Redis key of one deployment starts with its prefix (LAPI_REDIS_PREFIX), so its keys can be listed or wiped together. */
export const DEFAULT_REDIS_PREFIX = 'lapi:';

export const redisKeys = (prefix = DEFAULT_REDIS_PREFIX) => ({
  /** The decisions read model, generation 1 (see decisionKeys and DecisionGenerations). */
  decisions: `${prefix}decisions:`,
  /** Number of the live generation of the decisions read model (absent: 1). */
  decisionsGeneration: `${prefix}projection:decisions:generation`,
  /** Number of the generation `lapi projections rebuild` asked the projector to build. */
  decisionsRebuild: `${prefix}projection:decisions:rebuild`,
  /** Who runs the expiry sweep now (a sweep longer than its 10 s tick must not overlap the next). */
  expirySweepLease: `${prefix}lease:expiry-sweep`,
  /** Who runs the decisions projector. */
  decisionsProjectorLease: `${prefix}lease:projector:decisions`,
  /** bouncer name → "seq:pulledAtMs" of its last stream pull. */
  streamCursors: `${prefix}cursors`,
  /**
   * bouncer position key → epoch ms of its last decision lookup (GET /v1/decisions) or stream poll with nothing new
   * (which saves no position), written once a minute.
   */
  bouncerLookups: `${prefix}lookups`,
  /** Pub/sub channel: a listing asks the API replicas to write the pull times they noted (flushReplicasPullTimes). */
  pullTimesFlush: `${prefix}wake:flush-pull-times`,
  /** API replica id → JSON of its read-your-writes waits (RedisProjectionBarrier.publish). */
  barrierStats: `${prefix}stats:barrier`,
  /** Pub/sub channel: a write waits for the projection, wake the projector up rather than let it poll. */
  projectorWake: `${prefix}wake:projector`,
  /** Pub/sub channel: a machine or bouncer was deleted, every API replica drops what it cached of it. */
  credentialChanges: `${prefix}credentials:changed`,
  /** Held by the worker running a retention job, one key per job kind (append the job name). */
  retentionLease: `${prefix}lease:retention:`,
  /** The notification queues (see notificationKeys). */
  notifications: `${prefix}notify:`,
  /** Who feeds the notification queues from the log and dispatches them. */
  notificationsLease: `${prefix}lease:notifications`,
  /** The signed decisions webhook: its position in the change log. */
  webhook: `${prefix}webhook:`,
  webhookLease: `${prefix}lease:webhook`,
});
export type RedisKeys = ReturnType<typeof redisKeys>;
