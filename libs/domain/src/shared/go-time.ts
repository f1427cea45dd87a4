/** Go's Time.String() of a UTC time: `2026-11-28 19:25:54 +0000 UTC`, fraction appended when non-zero. */
export function goTimeString(date: Date, extraMicros = 0): string {
  const iso = date.toISOString(); // 2026-11-28T19:25:54.123Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const micros = date.getUTCMilliseconds() * 1000 + extraMicros;
  const fraction = micros === 0 ? '' : `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
  return `${base}${fraction} +0000 UTC`;
}

/** RFC 3339 in UTC with whole seconds, as Go prints `created_at` and `expire`. */
export const rfc3339Seconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

// Go's time.MarshalJSON fails outside the years 0–9999, and PostgreSQL reads no 5-digit ISO year: every time a
// client makes us store is kept within the years 1 to 9999.
export const MIN_STORABLE_TIME_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_STORABLE_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

export const isStorableTime = (ms: number): boolean => ms >= MIN_STORABLE_TIME_MS && ms <= MAX_STORABLE_TIME_MS;
