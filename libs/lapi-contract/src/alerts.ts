import { z } from 'zod';

// models.Alert and friends (localapi_swagger.yaml). "Required" means the key must be there: "", 0, false and []
// are fine (go-swagger validates pointer fields), so required strings may be empty here.

const metaItem = z.object({ key: z.string(), value: z.string() });
const meta = z.array(metaItem).nullish();

const int32 = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);

export const decisionSchema = z.object({
  duration: z.string(),
  origin: z.string(),
  scenario: z.string(),
  scope: z.string(),
  type: z.string(),
  value: z.string(),
  simulated: z.boolean().nullish(),
  until: z.string().nullish(),
  id: z.number().nullish(),
  uuid: z.string().nullish(),
});

export const eventSchema = z.object({
  timestamp: z.string(),
  meta: z.array(metaItem).nullable(),
});

export const sourceSchema = z.object({
  scope: z.string(),
  value: z.string(),
  ip: z.string().nullish(),
  range: z.string().nullish(),
  as_number: z.string().nullish(),
  as_name: z.string().nullish(),
  cn: z.string().nullish(),
  latitude: z.number().nullish(),
  longitude: z.number().nullish(),
});

export const alertSchema = z.object({
  scenario: z.string(),
  scenario_hash: z.string(),
  scenario_version: z.string(),
  message: z.string(),
  events_count: int32,
  start_at: z.string(),
  stop_at: z.string(),
  capacity: int32,
  leakspeed: z.string(),
  simulated: z.boolean(),
  events: z.array(eventSchema).nullable(),
  source: sourceSchema,
  remediation: z.boolean().nullish(),
  decisions: z.array(decisionSchema).nullish(),
  meta,
  labels: z.array(z.string()).nullish(),
  kind: z.string().nullish(),
  // Output-only fields clients may echo back; ignored.
  id: z.number().nullish(),
  uuid: z.string().nullish(),
  machine_id: z.string().nullish(),
  created_at: z.string().nullish(),
});

export const addAlertsRequest = z.array(alertSchema);
export type AlertRequest = z.infer<typeof alertSchema>;
export type AddAlertsRequest = z.infer<typeof addAlertsRequest>;

/** Decision as GET /v1/decisions and the stream answer it: all six strings always present (bouncers dereference them). */
export interface DecisionResponse {
  duration: string;
  id: number;
  origin: string;
  scenario: string;
  scope: string;
  type: string;
  value: string;
  uuid?: string;
}

/** Decision nested in an alert: `simulated` must be present, cscli 1.4.6 dereferences it. */
export interface AlertDecisionResponse extends DecisionResponse {
  simulated: boolean;
}

export interface AlertResponse {
  id: number;
  uuid: string;
  machine_id: string;
  created_at: string;
  scenario: string;
  scenario_hash: string;
  scenario_version: string;
  message: string;
  events_count: number;
  start_at: string;
  stop_at: string;
  capacity: number;
  leakspeed: string;
  simulated: boolean;
  remediation?: boolean;
  source: {
    scope: string;
    value: string;
    ip?: string;
    range?: string;
    as_number?: string;
    as_name?: string;
    cn?: string;
    latitude?: number;
    longitude?: number;
  };
  events: { timestamp: string; meta: { key: string; value: string }[] | null }[] | null;
  decisions: AlertDecisionResponse[] | null;
  meta?: { key: string; value: string }[];
  labels: null;
  kind?: string;
}

export interface StreamResponse {
  new: DecisionResponse[] | null;
  deleted: DecisionResponse[] | null;
}

export interface DeleteResponse {
  nbDeleted: string;
}
