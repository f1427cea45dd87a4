import { NANOS_PER_MS, parseGoDuration, parseIpRange, type IpRange } from '@lapi/domain';
import { LapiHttpError } from './http-errors';

/** A parsed querystring: Fastify gives arrays for repeated keys; like Go's Query().Get, the first value wins. */
export type QueryParams = Record<string, string | string[] | undefined>;

export const first = (query: QueryParams, key: string): string | undefined => {
  const v = query[key];
  return Array.isArray(v) ? v[0] : v;
};

/** Go's strconv.ParseBool. */
export function parseGoBool(value: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) {
    return true;
  }
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) {
    return false;
  }
  return null;
}

// Reference texts (pkg/database): the reference answers them with 500; they are the client's mistake, so 400 here.
export const badFilter = (message: string): LapiHttpError => new LapiHttpError(400, message);

export function ipParam(value: string): IpRange {
  const range = parseIpRange(value);
  if (!range) {
    throw badFilter(`unable to convert '${value}' to int: invalid address: invalid ip address / range`);
  }
  return range;
}

export function containsParam(value: string | undefined): boolean {
  if (value === undefined) {
    return true;
  }
  const parsed = parseGoBool(value);
  if (parsed === null) {
    throw badFilter(`invalid contains value : strconv.ParseBool: parsing "${value}": invalid syntax: invalid filter`);
  }
  return parsed;
}

/** `2d` (1.4.6: whole days) or any Go duration, with the ≥1.6.9 days prefix; the time that long before now. */
export function agoParam(value: string, now: Date): Date {
  const ns = parseGoDuration(value);
  if (ns === null) {
    throw badFilter(`while parsing duration: time: invalid duration "${value}"`);
  }
  return new Date(now.getTime() - Number(ns / NANOS_PER_MS));
}

export const commaList = (value: string): string[] => value.split(',').filter((s) => s !== '');

/** Path ids: the reference's 400 for anything but a plain integer. */
export function idParam(value: string, name: 'alert_id' | 'decision_id'): number {
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new LapiHttpError(400, `${name} must be valid integer`);
  }
  return n;
}
