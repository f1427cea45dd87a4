import { swaggerValidationMessage } from '@lapi/lapi-contract';
import type { PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { InvalidJsonBody, LapiHttpError } from './http-errors';

/**
 * Validates a JSON body against a lapi-contract schema. The reference answers 500 to a schema-invalid body;
 * that is the client's mistake, so we answer 422 with go-swagger's message (as ≥1.6.5 does for registration).
 */
export class LapiBodyPipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly schema: ZodType<T>,
    private readonly errors: {
      invalidJson: (reason: string) => Error;
      invalid: (message: string) => Error;
    } = {
      invalidJson: (reason) => new LapiHttpError(400, reason),
      invalid: (message) => new LapiHttpError(422, message),
    },
  ) {}

  transform(value: unknown): T {
    if (value instanceof InvalidJsonBody) {
      throw this.errors.invalidJson(value.reason);
    }
    if (value === undefined) {
      // Same text as Go's decoder on an empty body.
      throw this.errors.invalidJson('EOF');
    }
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) {
      throw this.errors.invalid(swaggerValidationMessage(parsed.error));
    }
    return parsed.data;
  }
}
