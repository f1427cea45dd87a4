import { RE2JS, RE2JSSyntaxException } from 're2js';

/** A pattern Go's regexp.Compile refuses too (backreferences, lookarounds, repeat counts over 1000, bad syntax). */
export class Re2SyntaxError extends Error {}

const cache = new Map<string, RE2JS>();
const CACHE_MAX = 1000;

/**
 * Compiles a Go regular expression for expr-lang's `matches` with re2js, a port of RE2: the same syntax and
 * semantics as Go's regexp (flags, `(?P<name>…)`, `\pL`, ASCII `\s`, …), and matching in time linear in the input,
 * so no pattern in a profile can stall the server on a hostile alert field as a backtracking RegExp would.
 */
export function compileRe2(pattern: string): RE2JS {
  const cached = cache.get(pattern);
  if (cached) {
    return cached;
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    // re2js words its syntax errors as Go does: "error parsing regexp: …".
    throw e instanceof RE2JSSyntaxException ? new Re2SyntaxError(e.message) : e;
  }
  if (cache.size >= CACHE_MAX) {
    cache.clear();
  }
  cache.set(pattern, re);
  return re;
}
