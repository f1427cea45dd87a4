import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { LapiHttpError } from './http-errors';

/**
 * Query values end up in Postgres text (filters, events); a NUL character there fails in the database with a 500.
 * Refuse it as the client's mistake. A global pipe, so it runs after the guards: a bad credential still gets its
 * 401/403 first, as in the reference.
 */
export class StorableQueryPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'query' && value !== null && typeof value === 'object') {
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        const values: unknown[] = Array.isArray(v) ? v : [v];
        if ([key, ...values].some((s) => typeof s === 'string' && s.includes('\u0000'))) {
          throw new LapiHttpError(400, 'query parameters must not contain NUL characters');
        }
      }
    }
    return value;
  }
}
