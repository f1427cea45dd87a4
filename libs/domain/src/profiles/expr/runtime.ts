import { ExprRuntimeError } from './errors';
import { GoDuration, StructValue } from './types';

// Runtime semantics of expr-lang's VM (vm/runtime/runtime.go and helpers[generated].go). Ints are bigints (Go's
// int64, wrapping on overflow), floats are numbers, nil is null.

export const isInt = (v: unknown): v is bigint => typeof v === 'bigint';
export const isFloat = (v: unknown): v is number => typeof v === 'number';
export const isNumber = (v: unknown): v is bigint | number => isInt(v) || isFloat(v);
export const wrapInt = (v: bigint): bigint => BigInt.asIntN(64, v);

/** The Go type of a runtime value, as `%T` and expr-lang's runtime errors print it. */
export function goTypeOf(v: unknown): string {
  if (v === null || v === undefined) {
    return '<nil>';
  }
  if (isInt(v)) {
    return 'int';
  }
  if (isFloat(v)) {
    return 'float64';
  }
  if (typeof v === 'string') {
    return 'string';
  }
  if (typeof v === 'boolean') {
    return 'bool';
  }
  if (v instanceof GoDuration) {
    return 'time.Duration';
  }
  if (Array.isArray(v)) {
    return '[]interface {}';
  }
  if (v instanceof Map) {
    return 'map[string]interface {}';
  }
  if (v instanceof StructValue) {
    return v.schema.goType;
  }
  return typeof v;
}

const fail = (message: string) => new ExprRuntimeError(message);

/** A nil Go slice: empty, yet `== nil` (Alert.Labels of an agent's alert, Alert.Decisions before any decision). */
export const NIL_SLICE: readonly unknown[] = Object.freeze([]);

/** Go's `==` in expr: numbers compare by value across int and float, other values only with their own type. */
export function equal(a: unknown, b: unknown): boolean {
  if (isNumber(a) && isNumber(b)) {
    return isInt(a) && isInt(b) ? a === b : Number(a) === Number(b);
  }
  if (a === null || b === null) {
    return (a ?? NIL_SLICE) === (b ?? NIL_SLICE);
  }
  if (a instanceof GoDuration && b instanceof GoDuration) {
    return a.ns === b.ns;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  if (a instanceof Map && b instanceof Map) {
    return a.size === b.size && [...a].every(([k, v]) => b.has(k) && equal(v, b.get(k)));
  }
  return a === b;
}

/** -1, 0 or 1 for `<`-style operators; numbers, strings (by code point, as Go compares UTF-8 bytes) and durations. */
export function compare(op: string, a: unknown, b: unknown): number {
  if (isInt(a) && isInt(b)) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (isNumber(a) && isNumber(b)) {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    return compareCodePoints(a, b);
  }
  if (a instanceof GoDuration && b instanceof GoDuration) {
    return a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0;
  }
  throw fail(`invalid operation: ${goTypeOf(a)} ${op} ${goTypeOf(b)}`);
}

function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i].codePointAt(0) ?? 0) - (y[i].codePointAt(0) ?? 0);
    if (d !== 0) {
      return Math.sign(d);
    }
  }
  return Math.sign(x.length - y.length);
}

/** `+ - * / % **` with Go's promotions: int op int stays int (`/` always gives a float), any float gives a float. */
export function arithmetic(op: string, a: unknown, b: unknown): unknown {
  if (isInt(a) && isInt(b)) {
    switch (op) {
      case '+':
        return wrapInt(a + b);
      case '-':
        return wrapInt(a - b);
      case '*':
        return wrapInt(a * b);
      case '%':
        if (b === 0n) {
          throw fail('integer divide by zero');
        }
        return a % b;
    }
  }
  if (isNumber(a) && isNumber(b)) {
    const x = Number(a);
    const y = Number(b);
    switch (op) {
      case '+':
        return x + y;
      case '-':
        return x - y;
      case '*':
        return x * y;
      case '/':
        return x / y;
      case '**':
      case '^':
        return Math.pow(x, y);
    }
  }
  if (op === '+' && typeof a === 'string' && typeof b === 'string') {
    return a + b;
  }
  if (a instanceof GoDuration || b instanceof GoDuration) {
    const result = durationArithmetic(op, a, b);
    if (result !== undefined) {
      return result;
    }
  }
  throw fail(`invalid operation: ${goTypeOf(a)} ${op} ${goTypeOf(b)}`);
}

// time.Duration is an int64 to Go: it adds to durations, multiplies with ints (and with floats into a float).
function durationArithmetic(op: string, a: unknown, b: unknown): unknown {
  const ns = (v: unknown) => (v instanceof GoDuration ? v.ns : isInt(v) ? v : undefined);
  const both = a instanceof GoDuration && b instanceof GoDuration;
  if (both && (op === '+' || op === '-')) {
    return new GoDuration(wrapInt(op === '+' ? a.ns + b.ns : a.ns - b.ns));
  }
  if (op === '*') {
    const x = ns(a);
    const y = ns(b);
    if (x !== undefined && y !== undefined) {
      return new GoDuration(wrapInt(x * y));
    }
    if (isFloat(a) || isFloat(b)) {
      return Number(x ?? a) * Number(y ?? b);
    }
  }
  return undefined;
}

export function negate(v: unknown): unknown {
  if (isInt(v)) {
    return wrapInt(-v);
  }
  if (isFloat(v)) {
    return -v;
  }
  throw fail(`invalid operation: - ${goTypeOf(v)}`);
}

export function asBool(v: unknown, op: string): boolean {
  if (typeof v !== 'boolean') {
    throw fail(`invalid operation: ${op} on ${goTypeOf(v)} (a bool is required)`);
  }
  return v;
}

export function asString(v: unknown, what: string): string {
  if (typeof v !== 'string') {
    throw fail(`invalid operation: ${what} on ${goTypeOf(v)} (a string is required)`);
  }
  return v;
}

/** expr-lang's `in`: an element of an array, a key of a map, a field name of a struct; false on nil. */
export function contains(collection: unknown, needle: unknown): boolean {
  if (collection === null) {
    return false;
  }
  if (Array.isArray(collection)) {
    return collection.some((item) => equal(item, needle));
  }
  if (collection instanceof Map) {
    if (needle !== null && typeof needle !== 'string') {
      throw fail(`cannot use ${goTypeOf(needle)} as key of ${goTypeOf(collection)}`);
    }
    return collection.has(needle ?? '');
  }
  if (collection instanceof StructValue) {
    if (typeof needle !== 'string') {
      throw fail(`cannot use ${goTypeOf(needle)} as field name of ${collection.schema.goType}`);
    }
    return Object.hasOwn(collection.schema.fields, needle);
  }
  throw fail(`operator "in" not defined on ${goTypeOf(collection)}`);
}

/** `a.b` and `a[i]` at run time (runtime.Fetch): out-of-range indexes and fields of nil are errors. */
export function fetch(from: unknown, key: unknown): unknown {
  if (Array.isArray(from)) {
    if (!isNumber(key)) {
      throw fail(`cannot use ${goTypeOf(key)} as index of ${goTypeOf(from)}`);
    }
    const length = from.length;
    let index = isInt(key) ? Number(key) : Math.trunc(key);
    if (index < 0) {
      index += length;
    }
    if (index < 0 || index >= length) {
      throw fail(`index out of range: ${index} (array length is ${length})`);
    }
    return from[index] as unknown;
  }
  if (from instanceof Map && (typeof key === 'string' || key === null)) {
    return from.get(key ?? '') ?? null;
  }
  if (from instanceof StructValue && typeof key === 'string' && Object.hasOwn(from.fields, key)) {
    return from.fields[key];
  }
  throw fail(`cannot fetch ${String(key)} from ${goTypeOf(from)}`);
}

/** Number of elements (arrays, maps) or of characters (strings). */
export function length(v: unknown): bigint {
  if (Array.isArray(v)) {
    return BigInt(v.length);
  }
  if (v instanceof Map) {
    return BigInt(v.size);
  }
  if (typeof v === 'string') {
    return BigInt(Array.from(v).length); // expr's len counts runes, not bytes
  }
  throw fail(`invalid argument for len (type ${goTypeOf(v)})`);
}
