import { z } from 'zod';

// The allowlist models of localapi_swagger.yaml. go-swagger generates their fields in alphabetical order, strings and
// booleans with `omitempty` (so "" and false are left out) and dates as strfmt.DateTime, which is never left out
// (zero: 0001-01-01T00:00:00.000Z): pkg/models/get_allowlist_response.go, allowlist_item.go.

export interface AllowlistItemResponse {
  created_at: string;
  description?: string;
  expiration: string;
  value?: string;
}

export interface GetAllowlistResponse {
  allowlist_id?: string;
  console_managed?: boolean;
  created_at: string;
  description?: string;
  items: AllowlistItemResponse[];
  name?: string;
  updated_at: string;
}

export interface CheckAllowlistResponse {
  allowlisted?: boolean;
  reason?: string;
}

// models.BulkCheckAllowlistRequest: gin's ShouldBindJSON only decodes; an absent list is the empty one.
export const bulkCheckAllowlistRequest = z.object({ targets: z.array(z.string()).nullish() });
export type BulkCheckAllowlistRequest = z.infer<typeof bulkCheckAllowlistRequest>;

export interface BulkCheckAllowlistResponse {
  results: { allowlists: string[]; target: string }[];
}
