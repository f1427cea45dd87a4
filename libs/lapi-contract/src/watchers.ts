import { z } from 'zod';

// models.WatcherRegistrationRequest (localapi_swagger.yaml).
export const watcherRegistrationRequest = z.object({
  machine_id: z.string(),
  password: z.string(),
  registration_token: z.string().min(32).max(255).optional(),
});
export type WatcherRegistrationRequest = z.infer<typeof watcherRegistrationRequest>;

// models.WatcherAuthRequest: cscli sends "scenarios": null.
export const watcherAuthRequest = z.object({
  machine_id: z.string(),
  password: z.string(),
  scenarios: z.array(z.string()).nullish(),
});
export type WatcherAuthRequest = z.infer<typeof watcherAuthRequest>;

export interface WatcherAuthResponse {
  code: number;
  /** RFC 3339, whole seconds. */
  expire: string;
  token: string;
}

export interface ErrorResponse {
  message: string;
  errors?: string;
}
