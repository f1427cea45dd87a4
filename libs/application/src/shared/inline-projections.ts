import { allowlistsProjection } from '@lapi/read-models/allowlists/allowlists.projection';
import { bouncersProjection } from '@lapi/read-models/bouncers/bouncers.projection';
import { alertsProjection } from '@lapi/read-models/decisions/sql/decisions.projection';
import { machinesProjection } from '@lapi/read-models/machines/machines.projection';
import { usageMetricsProjection } from '@lapi/read-models/usage-metrics/usage-metrics.projection';

/** Inline projections: read models that commit with the events they follow. */
export const inlineProjections = [
  machinesProjection,
  bouncersProjection,
  alertsProjection,
  allowlistsProjection,
  usageMetricsProjection,
];
