/** Every Redis key of the LAPI starts here, so one deployment's keys can be listed, or wiped, together. */
export const REDIS_PREFIX = 'lapi:';

export const redisKeys = {
  /** The decisions read model (see decisionKeys). */
  decisions: `${REDIS_PREFIX}decisions:`,
  /** Who runs the decisions projector. */
  decisionsProjectorLease: `${REDIS_PREFIX}lease:projector:decisions`,
};
