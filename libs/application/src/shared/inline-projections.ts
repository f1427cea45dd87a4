import { allowlistsProjection } from '@lapi/projections/allowlists.projection';
import { bouncersProjection } from '@lapi/projections/bouncers.projection';
import { alertsProjection } from '@lapi/projections/decisions.projection';
import { machinesProjection } from '@lapi/projections/machines.projection';
import { usageMetricsProjection } from '@lapi/projections/usage-metrics.projection';

/** Inline projections: read models that commit with the events they follow. */
export const inlineProjections = [
  machinesProjection,
  bouncersProjection,
  alertsProjection,
  allowlistsProjection,
  usageMetricsProjection,
];
