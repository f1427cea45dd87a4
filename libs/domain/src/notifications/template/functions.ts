import { goSprintf } from '../../profiles/expr/go-fmt';
import { JsonMarshalError, marshalJson } from './json';
import { decodeUtf8, encodeUtf8 } from './parse';
import {
  basicKind,
  floatValue,
  formatValue,
  GoInt,
  GoPtr,
  GoSlice,
  goSprintlnValues,
  goSprintValues,
  GoStruct,
  goType,
  indirect,
  intValue,
  isTrue,
  toFmtArg,
  type GoValue,
  type ParamType,
} from './values';

// The functions a CrowdSec notification template can call: text/template's builtins, the part of sprig
// (github.com/Masterminds/sprig/v3, registered by FormatAlerts in pkg/csplugin/broker.go) that notification
// templates use, and CrowdSec's own (pkg/csplugin/helpers.go: GetMeta, Hostname, HTMLEscape). Every other sprig
// function, and CrowdsecCTI, is refused when the template is parsed.

/** What the functions may read of the outside world: given by the caller, so that rendering stays pure. */
export interface FunctionContext {
  /** sprig's `env` (os.Getenv): undefined reads as "". */
  readonly env?: (name: string) => string | undefined;
  /** CrowdSec's `Hostname` (os.Hostname). */
  readonly hostname?: string;
}

/** A failure inside a function: the template fails with `error calling NAME: message`. */
export class FunctionError extends Error {}

export interface TemplateFunction {
  readonly params: readonly ParamType[];
  readonly variadic?: ParamType;
  readonly call: (args: readonly GoValue[], context: FunctionContext) => GoValue;
}

const fn = (params: readonly ParamType[], call: TemplateFunction['call'], variadic?: ParamType): TemplateFunction => ({
  params,
  call,
  variadic,
});

const str = (v: GoValue) => v as string;
const int = (v: GoValue) => intValue(v);
const int64 = (v: bigint) => new GoInt('int64', BigInt.asIntN(64, v));
const stringSlice = (items: readonly string[] | null) => new GoSlice('string', items);
const runtimeError = (message: string) => new FunctionError(`runtime error: ${message}`);

// ---------------------------------------------------------------------------------------------- text/template

function compare(op: 'eq' | 'lt', a: GoValue, b: GoValue): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb) {
    // Integers of either sign compare; anything else of different kinds is an error (nil excepted for eq).
    if (ka === 'int' && kb === 'uint') {
      return op === 'eq' ? intValue(a) === intValue(b) : intValue(a) < 0n || intValue(a) < intValue(b);
    }
    if (ka === 'uint' && kb === 'int') {
      return op === 'eq' ? intValue(a) === intValue(b) : intValue(b) >= 0n && intValue(a) < intValue(b);
    }
    if (op === 'eq' && (a === null || b === null)) {
      return false;
    }
    throw new FunctionError('incompatible types for comparison');
  }
  switch (ka) {
    case 'bool':
      if (op === 'lt') {
        throw new FunctionError('invalid type for comparison');
      }
      return a === b;
    case 'int':
    case 'uint':
      return op === 'eq' ? intValue(a) === intValue(b) : intValue(a) < intValue(b);
    case 'float':
      return op === 'eq' ? floatValue(a) === floatValue(b) : floatValue(a) < floatValue(b);
    case 'string':
      return op === 'eq' ? a === b : compareBytes(str(a), str(b)) < 0;
    default:
  }
  if (op === 'lt') {
    throw new FunctionError('invalid type for comparison');
  }
  // eq on other kinds: nil-ness, or identity of comparable values (pointers); slices and structs are refused.
  if (a instanceof GoSlice || b instanceof GoSlice || a instanceof GoStruct || b instanceof GoStruct) {
    throw new FunctionError(`non-comparable type ${goType(a)}`);
  }
  const aNil = a === null || (a instanceof GoPtr && a.target === undefined);
  const bNil = b === null || (b instanceof GoPtr && b.target === undefined);
  if (aNil || bNil) {
    return aNil === bNil;
  }
  return a === b;
}

/** Go compares strings by bytes, which for UTF-8 is by code point (not by UTF-16 unit as JavaScript does). */
function compareBytes(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) {
      return x[i] - y[i];
    }
  }
  return x.length - y.length;
}

const eq = (args: readonly GoValue[]): boolean => {
  if (args.length < 2) {
    throw new FunctionError('missing argument for comparison');
  }
  return args.slice(1).some((b) => compare('eq', args[0], b));
};
const lt = (a: GoValue, b: GoValue) => compare('lt', a, b);
const le = (a: GoValue, b: GoValue) => lt(a, b) || compare('eq', a, b);

function length(v: GoValue): GoValue {
  const { value, isNil } = indirect(v);
  if (isNil) {
    throw new FunctionError('len of nil pointer');
  }
  if (typeof value === 'string') {
    return BigInt(encodeUtf8(value).length);
  }
  if (value instanceof GoSlice) {
    return BigInt(value.length);
  }
  throw new FunctionError(`len of type ${goType(value)}`);
}

function index(item: GoValue, indexes: readonly GoValue[]): GoValue {
  if (item === null) {
    throw new FunctionError('index of untyped nil');
  }
  let current: GoValue = item;
  for (const i of indexes) {
    const { value, isNil } = indirect(current);
    if (isNil) {
      throw new FunctionError('index of nil pointer');
    }
    const kind = basicKind(i);
    if (i === null) {
      throw new FunctionError('cannot index slice/array with nil');
    }
    if (kind !== 'int' && kind !== 'uint') {
      throw new FunctionError(`cannot index slice/array with type ${goType(i)}`);
    }
    const x = intValue(i);
    if (typeof value === 'string') {
      const bytes = encodeUtf8(value);
      checkIndex(x, bytes.length);
      current = new GoInt('uint8', BigInt(bytes[Number(x)]));
    } else if (value instanceof GoSlice) {
      checkIndex(x, value.length);
      current = (value.items ?? [])[Number(x)];
    } else {
      throw new FunctionError(`can't index item of type ${goType(value)}`);
    }
  }
  return current;
}

function checkIndex(x: bigint, len: number): void {
  if (x < 0n || x > BigInt(len)) {
    throw new FunctionError(`index out of range: ${x}`);
  }
  if (x === BigInt(len)) {
    throw new FunctionError(`reflect: slice index out of range`);
  }
}

/**
 * fmt.Sprintf through the shared Go formatter, which knows one integer type: each %T is turned into %s of the
 * argument's own Go type name first, so `%T` of an int64 or a uint8 is right.
 */
function printf(format: string, args: readonly GoValue[]): string {
  const values: unknown[] = args.map((a) => (a instanceof GoPtr || a instanceof GoStruct ? a : toFmtArg(a)));
  let argIndex = 0;
  const rewritten = format.replace(
    /%([+\-# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.|$)/gsu,
    (spec, _flags, width, precision, verb) => {
      if (verb === '%') {
        return spec;
      }
      argIndex += (width === '*' ? 1 : 0) + (precision === '*' ? 1 : 0);
      const i = argIndex++;
      if (verb === 'T' && i < args.length) {
        values[i] = args[i] === null ? '<nil>' : goType(args[i]);
        return `${spec.slice(0, -1)}s`;
      }
      return spec;
    },
  );
  return goSprintf(
    rewritten,
    values.map((v) => (v instanceof GoPtr || v instanceof GoStruct ? toFmtArg(v) : v)),
  );
}

/** text/template's evalArgs: a single string as is, otherwise fmt.Sprint of the printable values. */
function evalArgs(args: readonly GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') {
    return args[0];
  }
  return goSprintValues(
    args.map((a) => (a instanceof GoPtr && a.target !== undefined && !(a.target instanceof GoStruct) ? a.target : a)),
  );
}

/** template.HTMLEscapeString. */
const htmlEscapeTemplate = (s: string) =>
  s.replace(
    /[\0"'&<>]/g,
    (c) => ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c,
  );

/** url.QueryEscape. */
const queryEscape = (s: string) =>
  encodeUtf8(s)
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c)) {
        return c;
      }
      return b === 0x20 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');

const BUILTINS: Record<string, TemplateFunction> = {
  // and, or: short-circuit, evaluated by the executor; listed for the parser.
  and: fn(['value'], () => null, 'value'),
  or: fn(['value'], () => null, 'value'),
  not: fn(['value'], ([a]) => !isTrue(a)),
  len: fn(['value'], ([a]) => length(a)),
  index: fn(['value'], ([item, ...indexes]) => index(item, indexes), 'value'),
  print: fn([], (args) => goSprintValues(args), 'any'),
  printf: fn(['string'], ([format, ...args]) => printf(str(format), args), 'any'),
  println: fn([], (args) => goSprintlnValues(args), 'any'),
  eq: fn(['value'], (args) => eq(args), 'value'),
  ne: fn(['value', 'value'], ([a, b]) => !compare('eq', a, b)),
  lt: fn(['value', 'value'], ([a, b]) => lt(a, b)),
  le: fn(['value', 'value'], ([a, b]) => le(a, b)),
  gt: fn(['value', 'value'], ([a, b]) => !le(a, b)),
  ge: fn(['value', 'value'], ([a, b]) => !lt(a, b)),
  html: fn([], (args) => htmlEscapeTemplate(evalArgs(args)), 'any'),
  urlquery: fn([], (args) => queryEscape(evalArgs(args)), 'any'),
};

// ---------------------------------------------------------------------------------------------- sprig

/** spf13/cast's indirect: follows pointers (not interfaces) down to a value. */
const castIndirect = (v: GoValue): GoValue => {
  const { value, isNil } = indirect(v);
  return isNil ? null : value;
};

/** cast.ToInt64: numbers truncated, strings parsed as Go literals (`0x1f`, `1.0`), anything else 0. */
export function castToInt64(v: GoValue): bigint {
  const value = castIndirect(v);
  if (value === null) {
    return 0n;
  }
  if (typeof value === 'boolean') {
    return value ? 1n : 0n;
  }
  switch (basicKind(value)) {
    case 'int':
    case 'uint':
      return BigInt.asIntN(64, intValue(value));
    case 'float': {
      const f = floatValue(value);
      return Number.isFinite(f) ? BigInt.asIntN(64, BigInt(Math.trunc(f))) : -(2n ** 63n);
    }
    case 'string':
      return parseGoInt(str(value).replace(/^([+-]?\d+)\.0*$/, '$1')) ?? 0n;
    default:
      return 0n;
  }
}

/** strconv.ParseInt(s, 0, 64). */
function parseGoInt(s: string): bigint | undefined {
  const m =
    /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/.exec(s);
  if (!m) {
    return undefined;
  }
  const digits = m[2].replaceAll('_', '');
  const value = (m[1] === '-' ? -1n : 1n) * BigInt(/^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits);
  return value >= -(2n ** 63n) && value < 2n ** 63n ? value : undefined;
}

/** cast.ToFloat64: numbers widened, strings parsed (strconv.ParseFloat), anything else 0. */
export function castToFloat64(v: GoValue): number {
  const value = castIndirect(v);
  if (value === null) {
    return 0;
  }
  if (typeof value === 'boolean') {
    return value ? 1 : 0;
  }
  switch (basicKind(value)) {
    case 'int':
    case 'uint':
      return Number(intValue(value));
    case 'float':
      return floatValue(value);
    case 'string': {
      const s = str(value).replaceAll('_', '');
      if (!/^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i.test(s)) {
        return 0;
      }
      const lower = s.toLowerCase().replace(/^\+/, '');
      return lower.endsWith('nan')
        ? NaN
        : lower.endsWith('inf') || lower.endsWith('infinity')
          ? lower.startsWith('-')
            ? -Infinity
            : Infinity
          : Number.isFinite(Number(s))
            ? Number(s)
            : 0; // out of range: ParseFloat's error, and cast's 0
    }
    default:
      return 0;
  }
}

/** sprig's strval: strings as they are, Stringers through String, the rest with %v. */
function strval(v: GoValue): string {
  if (typeof v === 'string') {
    return v;
  }
  if (v instanceof GoPtr && v.target instanceof GoStruct && v.target.type.stringer) {
    return v.target.type.stringer(v.target);
  }
  return formatValue(v, false);
}

/** sprig's strslice: the string forms of a slice's non-nil items; a lone value as a one-item list. */
function strslice(v: GoValue): string[] {
  if (v instanceof GoSlice) {
    return (v.items ?? []).filter((item) => item !== null).map(strval);
  }
  return v === null ? [] : [strval(v)];
}

/** sprig's empty: zero values, nil, and empty strings and slices (structs never). */
export function isEmpty(v: GoValue): boolean {
  if (v === null) {
    return true;
  }
  if (v instanceof GoPtr) {
    return v.target === undefined;
  }
  if (v instanceof GoStruct) {
    return false;
  }
  return !isTrue(v);
}

const GO_SPACE =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** strings.Trim with a cutset (trimAll). */
function trimCutset(s: string, cutset: string): string {
  const cut = new Set(Array.from(cutset));
  const chars = Array.from(s);
  let start = 0;
  let end = chars.length;
  while (start < end && cut.has(chars[start])) {
    start++;
  }
  while (end > start && cut.has(chars[end - 1])) {
    end--;
  }
  return chars.slice(start, end).join('');
}

/** unicode.ToUpper/ToLower rune by rune: special casings that change the length (ß → SS) are not Go's. */
const mapRunes = (s: string, f: (c: string) => string) =>
  Array.from(s, (c) => {
    const mapped = f(c);
    return Array.from(mapped).length === 1 ? mapped : c;
  }).join('');

/** Go's s[start:end] on the UTF-8 bytes, with the runtime's panic messages. */
function sliceBytes(s: string, start: bigint | undefined, end: bigint | undefined): string {
  const bytes = encodeUtf8(s);
  const len = BigInt(bytes.length);
  const from = start ?? 0n;
  const to = end ?? len;
  if (end !== undefined && (to < 0n || to > len)) {
    throw runtimeError(`slice bounds out of range [:${to}] with length ${len}`);
  }
  if (from < 0n || from > to) {
    throw runtimeError(`slice bounds out of range [${from}:${to}]`);
  }
  return decodeUtf8(bytes.slice(Number(from), Number(to)));
}

/** strings.Split: an empty separator splits between UTF-8 sequences. */
const goSplit = (s: string, sep: string) => (sep === '' ? Array.from(s) : s.split(sep));

/** strings.Replace(s, old, new, -1): an empty `old` matches before every rune and at the end. */
const goReplaceAll = (s: string, old: string, replacement: string) =>
  old === ''
    ? replacement +
      Array.from(s)
        .map((c) => c + replacement)
        .join('')
    : s.split(old).join(replacement);

/** strconv.Atoi, 0 on error as sprig ignores it. */
function atoi(s: string): bigint {
  if (!/^[+-]?\d+$/.test(s)) {
    return 0n;
  }
  // Out of range, Atoi returns the nearest bound along with its error, which sprig drops.
  const v = BigInt(s);
  return v < -(2n ** 63n) ? -(2n ** 63n) : v > 2n ** 63n - 1n ? 2n ** 63n - 1n : v;
}

// ------- shopspring/decimal, for addf subf mulf divf: exact decimal arithmetic on each float's shortest digits.

interface Decimal {
  readonly coefficient: bigint;
  readonly exponent: number;
}

function decimalFromFloat(f: number): Decimal {
  if (f === 0 || !Number.isFinite(f)) {
    return { coefficient: 0n, exponent: 0 };
  }
  const [mantissa, exp] = f.toExponential().split('e');
  const digits = mantissa.replace('.', '').replace('-', '');
  const fraction = (mantissa.split('.')[1] ?? '').length;
  return { coefficient: (f < 0 ? -1n : 1n) * BigInt(digits), exponent: Number(exp) - fraction };
}

const align = (a: Decimal, b: Decimal): [bigint, bigint, number] => {
  const e = Math.min(a.exponent, b.exponent);
  return [a.coefficient * 10n ** BigInt(a.exponent - e), b.coefficient * 10n ** BigInt(b.exponent - e), e];
};

const DECIMAL_OPS: Record<'add' | 'sub' | 'mul' | 'div', (a: Decimal, b: Decimal) => Decimal> = {
  add: (a, b) => {
    const [x, y, e] = align(a, b);
    return { coefficient: x + y, exponent: e };
  },
  sub: (a, b) => {
    const [x, y, e] = align(a, b);
    return { coefficient: x - y, exponent: e };
  },
  mul: (a, b) => ({ coefficient: a.coefficient * b.coefficient, exponent: a.exponent + b.exponent }),
  div: (a, b) => {
    // Decimal.Div is DivRound(d2, 16): 16 decimal places, half away from zero.
    if (b.coefficient === 0n) {
      throw new FunctionError('decimal division by 0');
    }
    const scale = 16;
    // a/b × 10^scale as an integer, rounded half away from zero.
    const shift = scale + a.exponent - b.exponent;
    let num = a.coefficient * 2n;
    let den = b.coefficient;
    if (shift >= 0) {
      num *= 10n ** BigInt(shift);
    } else {
      den *= 10n ** BigInt(-shift);
    }
    const negative = num < 0n !== den < 0n;
    const q = (num < 0n ? -num : num) / (den < 0n ? -den : den);
    const rounded = (q + 1n) / 2n;
    return { coefficient: negative ? -rounded : rounded, exponent: -scale };
  },
};

function decimalOp(op: keyof typeof DECIMAL_OPS, first: GoValue, rest: readonly GoValue[]): number {
  let acc = decimalFromFloat(castToFloat64(first));
  for (const x of rest) {
    acc = DECIMAL_OPS[op](acc, decimalFromFloat(castToFloat64(x)));
  }
  return Number(`${acc.coefficient}e${acc.exponent}`);
}

function toJsonWith(v: GoValue, options: Parameters<typeof marshalJson>[1], must: boolean): string {
  try {
    return marshalJson(v, options);
  } catch (e) {
    if (e instanceof JsonMarshalError && !must) {
      return ''; // sprig's toJson and toPrettyJson ignore the error
    }
    throw e instanceof JsonMarshalError ? new FunctionError(e.message) : e;
  }
}

function firstOrLast(v: GoValue, which: 'first' | 'last'): GoValue {
  if (!(v instanceof GoSlice)) {
    throw new FunctionError(`Cannot find ${which} on type ${kindName(v)}`);
  }
  const items = v.items ?? [];
  return items.length === 0 ? null : items[which === 'first' ? 0 : items.length - 1];
}

/** reflect.Kind's name, as sprig's errors print it. */
function kindName(v: GoValue): string {
  if (v === null) {
    return 'invalid';
  }
  if (v instanceof GoPtr) {
    return 'ptr';
  }
  if (v instanceof GoStruct) {
    return 'struct';
  }
  return goType(v);
}

function divide(a: bigint, b: bigint, op: 'div' | 'mod'): GoValue {
  if (b === 0n) {
    throw runtimeError('integer divide by zero');
  }
  return int64(op === 'div' ? a / b : a % b);
}

const SPRIG: Record<string, TemplateFunction> = {
  // strings
  trim: fn(['string'], ([s]) => str(s).replace(GO_SPACE, '')),
  upper: fn(['string'], ([s]) => mapRunes(str(s), (c) => c.toUpperCase())),
  lower: fn(['string'], ([s]) => mapRunes(str(s), (c) => c.toLowerCase())),
  substr: fn(['int', 'int', 'string'], ([start, end, s]) => {
    // sprig's substring: start < 0 → s[:end]; end < 0 or past the end → s[start:].
    const len = BigInt(encodeUtf8(str(s)).length);
    if (int(start) < 0n) {
      return sliceBytes(str(s), undefined, int(end));
    }
    if (int(end) < 0n || int(end) > len) {
      return sliceBytes(str(s), int(start), undefined);
    }
    return sliceBytes(str(s), int(start), int(end));
  }),
  repeat: fn(['int', 'string'], ([count, s]) => {
    if (int(count) < 0n) {
      throw new FunctionError('strings: negative Repeat count');
    }
    return str(s).repeat(Number(int(count)));
  }),
  trimAll: fn(['string', 'string'], ([cutset, s]) => trimCutset(str(s), str(cutset))),
  trimall: fn(['string', 'string'], ([cutset, s]) => trimCutset(str(s), str(cutset))),
  trimSuffix: fn(['string', 'string'], ([suffix, s]) =>
    str(suffix) !== '' && str(s).endsWith(str(suffix)) ? str(s).slice(0, -str(suffix).length) : str(s),
  ),
  trimPrefix: fn(['string', 'string'], ([prefix, s]) =>
    str(s).startsWith(str(prefix)) ? str(s).slice(str(prefix).length) : str(s),
  ),
  contains: fn(['string', 'string'], ([sub, s]) => str(s).includes(str(sub))),
  hasPrefix: fn(['string', 'string'], ([prefix, s]) => str(s).startsWith(str(prefix))),
  hasSuffix: fn(['string', 'string'], ([suffix, s]) => str(s).endsWith(str(suffix))),
  quote: fn(
    [],
    (args) =>
      args
        .filter((a) => a !== null)
        .map((a) => goSprintf('%q', [strval(a)]))
        .join(' '),
    'any',
  ),
  squote: fn(
    [],
    (args) =>
      args
        .filter((a) => a !== null)
        .map((a) => `'${formatValue(a, false)}'`)
        .join(' '),
    'any',
  ),
  cat: fn(
    [],
    (args) =>
      args
        .filter((a) => a !== null)
        .map((a) => formatValue(a, false))
        .join(' '),
    'any',
  ),
  indent: fn(['int', 'string'], ([n, s]) => indent(int(n), str(s))),
  nindent: fn(['int', 'string'], ([n, s]) => `\n${indent(int(n), str(s))}`),
  replace: fn(['string', 'string', 'string'], ([old, replacement, s]) =>
    goReplaceAll(str(s), str(old), str(replacement)),
  ),
  toString: fn(['any'], ([v]) => strval(v)),
  trunc: fn(['int', 'string'], ([c, s]) => {
    const len = BigInt(encodeUtf8(str(s)).length);
    if (int(c) < 0n && len + int(c) > 0n) {
      return sliceBytes(str(s), len + int(c), undefined);
    }
    if (int(c) >= 0n && len > int(c)) {
      return sliceBytes(str(s), undefined, int(c));
    }
    return str(s);
  }),
  // conversions
  atoi: fn(['string'], ([s]) => atoi(str(s))),
  int: fn(['any'], ([v]) => castToInt64(v)),
  int64: fn(['any'], ([v]) => int64(castToInt64(v))),
  float64: fn(['any'], ([v]) => castToFloat64(v)),
  // lists
  splitList: fn(['string', 'string'], ([sep, s]) => stringSlice(goSplit(str(s), str(sep)))),
  join: fn(['string', 'any'], ([sep, v]) => strslice(v).join(str(sep))),
  list: fn([], (args) => new GoSlice('interface {}', [...args]), 'any'),
  first: fn(['any'], ([v]) => firstOrLast(v, 'first')),
  last: fn(['any'], ([v]) => firstOrLast(v, 'last')),
  // integer math (int64 results, arguments through cast.ToInt64)
  add: fn([], (args) => int64(args.reduce<bigint>((acc, a) => acc + castToInt64(a), 0n)), 'any'),
  add1: fn(['any'], ([a]) => int64(castToInt64(a) + 1n)),
  sub: fn(['any', 'any'], ([a, b]) => int64(castToInt64(a) - castToInt64(b))),
  mul: fn(
    ['any'],
    ([a, ...rest]) => int64(rest.reduce<bigint>((acc, b) => acc * castToInt64(b), castToInt64(a))),
    'any',
  ),
  div: fn(['any', 'any'], ([a, b]) => divide(castToInt64(a), castToInt64(b), 'div')),
  mod: fn(['any', 'any'], ([a, b]) => divide(castToInt64(a), castToInt64(b), 'mod')),
  max: fn(
    ['any'],
    ([a, ...rest]) => int64(rest.reduce<bigint>((m, b) => (castToInt64(b) > m ? castToInt64(b) : m), castToInt64(a))),
    'any',
  ),
  biggest: fn(
    ['any'],
    ([a, ...rest]) => int64(rest.reduce<bigint>((m, b) => (castToInt64(b) > m ? castToInt64(b) : m), castToInt64(a))),
    'any',
  ),
  min: fn(
    ['any'],
    ([a, ...rest]) => int64(rest.reduce<bigint>((m, b) => (castToInt64(b) < m ? castToInt64(b) : m), castToInt64(a))),
    'any',
  ),
  // float math
  floor: fn(['any'], ([a]) => Math.floor(castToFloat64(a))),
  ceil: fn(['any'], ([a]) => Math.ceil(castToFloat64(a))),
  addf: fn([], (args) => decimalOp('add', 0, args), 'any'),
  subf: fn(['any'], ([a, ...rest]) => decimalOp('sub', a, rest), 'any'),
  mulf: fn(['any'], ([a, ...rest]) => decimalOp('mul', a, rest), 'any'),
  divf: fn(['any'], ([a, ...rest]) => decimalOp('div', a, rest), 'any'),
  // defaults and JSON
  default: fn(['any'], ([d, ...given]) => (given.length === 0 || isEmpty(given[0]) ? d : given[0]), 'any'),
  empty: fn(['any'], ([v]) => isEmpty(v)),
  coalesce: fn([], (args) => args.find((a) => !isEmpty(a)) ?? null, 'any'),
  ternary: fn(['any', 'any', 'bool'], ([whenTrue, whenFalse, condition]) => (condition ? whenTrue : whenFalse)),
  toJson: fn(['any'], ([v]) => toJsonWith(v, {}, false)),
  toPrettyJson: fn(['any'], ([v]) => toJsonWith(v, { indent: '  ' }, false)),
  toRawJson: fn(['any'], ([v]) => toJsonWith(v, { escapeHTML: false }, true)),
  mustToJson: fn(['any'], ([v]) => toJsonWith(v, {}, true)),
  mustToPrettyJson: fn(['any'], ([v]) => toJsonWith(v, { indent: '  ' }, true)),
  mustToRawJson: fn(['any'], ([v]) => toJsonWith(v, { escapeHTML: false }, true)),
  // encoding, environment
  b64enc: fn(['string'], ([s]) => base64(encodeUtf8(str(s)))),
  env: fn(['string'], ([name], context) => context.env?.(str(name)) ?? ''),
};

function indent(spaces: bigint, s: string): string {
  const pad = ' '.repeat(Math.max(0, Number(spaces)));
  return pad + s.replaceAll('\n', `\n${pad}`);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += BASE64[(n >> 18) & 63] + BASE64[(n >> 12) & 63];
    out += b === undefined ? '=' : BASE64[(n >> 6) & 63];
    out += c === undefined ? '=' : BASE64[n & 63];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- CrowdSec

/** html.EscapeString. */
const htmlEscape = (s: string) =>
  s.replace(/[&'<>"]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;' })[c] ?? c);

const CROWDSEC: Record<string, TemplateFunction> = {
  GetMeta: fn(['*models.Alert', 'string'], ([alert, key]) => {
    // GetMeta(a *models.Alert, metaName string) []string: every event's values for that key, nil when none.
    const target = (alert as GoPtr).target;
    if (!(target instanceof GoStruct)) {
      throw runtimeError('invalid memory address or nil pointer dereference');
    }
    const values: string[] = [];
    for (const event of metaItems(target.fields.Events)) {
      for (const meta of metaItems(event instanceof GoStruct ? event.fields.Meta : null)) {
        if (meta instanceof GoStruct && meta.fields.Key === str(key)) {
          values.push(str(meta.fields.Value));
        }
      }
    }
    return stringSlice(values.length === 0 ? null : values);
  }),
  HTMLEscape: fn(['string'], ([s]) => htmlEscape(str(s))),
  Hostname: fn([], (_args, context) => {
    if (context.hostname === undefined) {
      throw new FunctionError('the hostname is not known');
    }
    return context.hostname;
  }),
};

/** The structs of a slice of pointers to structs. */
const metaItems = (v: GoValue | undefined): GoValue[] =>
  v instanceof GoSlice ? (v.items ?? []).map((item) => (item instanceof GoPtr ? (item.target ?? null) : item)) : [];

/** Later maps override earlier ones, as template.Funcs calls do (builtins, then sprig, then CrowdSec's). */
export const TEMPLATE_FUNCTIONS: Readonly<Record<string, TemplateFunction>> = { ...BUILTINS, ...SPRIG, ...CROWDSEC };

const SPRIG_NAMES =
  'abbrev abbrevboth add add1 add1f addf adler32sum ago all any append atoi b32dec b32enc b64dec b64enc base bcrypt ' +
  'biggest buildCustomCert camelcase cat ceil chunk clean coalesce compact concat contains date dateInZone ' +
  'dateModify date_in_zone date_modify decryptAES deepCopy deepEqual default derivePassword dict dig dir div divf ' +
  'duration durationRound empty encryptAES env expandenv ext fail first float64 floor fromJson genCA genCAWithKey ' +
  'genPrivateKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert genSignedCertWithKey get getHostByName ' +
  'has hasKey hasPrefix hasSuffix hello htmlDate htmlDateInZone htpasswd indent initial initials int int64 isAbs ' +
  'join kebabcase keys kindIs kindOf last list lower max maxf merge mergeOverwrite min minf mod mul mulf ' +
  'mustAppend mustChunk mustCompact mustDateModify mustDeepCopy mustFirst mustFromJson mustHas mustInitial ' +
  'mustLast mustMerge mustMergeOverwrite mustPrepend mustRegexFind mustRegexFindAll mustRegexMatch ' +
  'mustRegexReplaceAll mustRegexReplaceAllLiteral mustRegexSplit mustRest mustReverse mustSlice mustToDate ' +
  'mustToJson mustToPrettyJson mustToRawJson mustUniq mustWithout must_date_modify nindent nospace now omit ' +
  'osBase osClean osDir osExt osIsAbs pick pluck plural prepend quote randAlpha randAlphaNum randAscii randBytes ' +
  'randInt randNumeric regexFind regexFindAll regexMatch regexQuoteMeta regexReplaceAll regexReplaceAllLiteral ' +
  'regexSplit repeat replace rest reverse round semver semverCompare seq set sha1sum sha256sum sha512sum shuffle ' +
  'slice snakecase sortAlpha split splitList splitn squote sub subf substr swapcase ternary title toDate ' +
  'toDecimal toJson toPrettyJson toRawJson toString toStrings trim trimAll trimPrefix trimSuffix trimall trunc ' +
  'tuple typeIs typeIsLike typeOf uniq unixEpoch unset until untilStep untitle upper urlJoin urlParse uuidv4 ' +
  'values without wrap wrapWith';
const KNOWN_ELSEWHERE = new Set([...SPRIG_NAMES.split(' '), 'call', 'js', 'slice', 'CrowdsecCTI']);

/** The parser's function check: undefined for a function this implementation provides, else the complaint. */
export function checkFunction(name: string): string | undefined {
  if (Object.hasOwn(TEMPLATE_FUNCTIONS, name)) {
    return undefined;
  }
  if (KNOWN_ELSEWHERE.has(name)) {
    return `function "${name}" is not supported in notification formats`;
  }
  return `function "${name}" not defined`;
}
