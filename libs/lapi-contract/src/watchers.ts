import { z } from 'zod';

// models.WatcherRegistrationRequest (localapi_swagger.yaml).
// go-swagger's `required` refuses the empty string as well as a missing field.
const requiredString = z.string().min(1, { message: 'required' });

export const watcherRegistrationRequest = z.object({
  machine_id: requiredString,
  password: requiredString,
  registration_token: z.string().min(32).max(255).optional(),
});
export type WatcherRegistrationRequest = z.infer<typeof watcherRegistrationRequest>;

// models.WatcherAuthRequest: cscli sends "scenarios": null.
export const watcherAuthRequest = z.object({
  machine_id: requiredString,
  password: requiredString,
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
