import { goTypeOf, isFloat, isInt } from './runtime';
import { GoDuration, StructValue } from './types';

// Go's fmt package for the values expressions handle: the verbs %v %s %d %f %e %g %x %X %o %b %c %q %t %T %%,
// flags `+ - # 0 space`, width and precision (`*` included), and Go's error forms (%!d(string=x), %!d(MISSING),
// %!(EXTRA …), %!(NOVERB)). Argument indexes (%[1]d) are not handled.

interface Spec {
  readonly verb: string;
  readonly plus: boolean;
  readonly minus: boolean;
  readonly sharp: boolean;
  readonly zero: boolean;
  readonly space: boolean;
  readonly width?: number;
  readonly precision?: number;
  /** %#v: Go syntax, which here only changes strings (quoted). */
  readonly sharpV?: boolean;
}

/** fmt.Sprintf. */
export function goSprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argIndex = 0;
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    i = percent + 1;
    const flags = { plus: false, minus: false, sharp: false, zero: false, space: false };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '+') {
        flags.plus = true;
      } else if (f === '-') {
        flags.minus = true;
      } else if (f === '#') {
        flags.sharp = true;
      } else if (f === '0') {
        flags.zero = true;
      } else if (f === ' ') {
        flags.space = true;
      } else {
        break;
      }
    }
    let width: number | undefined;
    let precision: number | undefined;
    let bad = '';
    if (format[i] === '*') {
      i++;
      const w = args[argIndex++];
      if (isInt(w)) {
        width = Number(w);
        if (width < 0) {
          flags.minus = true;
          width = -width;
        }
      } else {
        bad += '%!(BADWIDTH)';
      }
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = args[argIndex++];
        if (isInt(p) && p >= 0n) {
          precision = Number(p);
        } else {
          bad += '%!(BADPREC)';
        }
      } else {
        const m = /^\d+/.exec(format.slice(i));
        precision = m ? Number(m[0]) : 0;
        i += m ? m[0].length : 0;
      }
    }
    out += bad;
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) ?? 0);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const spec: Spec = { verb, ...flags, zero: flags.zero && !flags.minus, width, precision };
    // %+v and %#v are Go's "plusV" and "sharpV" forms: the flags do not reach the value as + and #.
    const v = verb === 'v' ? { ...spec, plus: false, sharp: false, sharpV: flags.sharp } : spec;
    out += formatArg(args[argIndex++], v);
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args
      .slice(argIndex)
      .map((a) => (a === null ? '<nil>' : `${goTypeOf(a)}=${formatArg(a, plain('v'))}`))
      .join(', ')})`;
  }
  return out;
}

/** fmt.Sprint of one value (its %v form). */
export const goSprint = (value: unknown): string => formatArg(value, plain('v'));

const plain = (verb: string): Spec => ({ verb, plus: false, minus: false, sharp: false, zero: false, space: false });

function formatArg(arg: unknown, spec: Spec): string {
  const { verb } = spec;
  if (spec.sharpV === true && typeof arg === 'string') {
    return formatString(arg, { ...spec, verb: 'q' }) as string;
  }
  if (verb === 'T') {
    return arg === null || arg === undefined
      ? pad('<nil>', spec)
      : (formatString(goTypeOf(arg), { ...spec, verb: 's' }) as string);
  }
  if (arg === null || arg === undefined) {
    return verb === 'v' ? pad('<nil>', spec) : `%!${verb}(<nil>)`;
  }
  if (typeof arg === 'boolean') {
    return verb === 'v' || verb === 't' ? pad(String(arg), spec) : badVerb(arg, spec);
  }
  if (isInt(arg)) {
    return formatInt(arg, spec) ?? badVerb(arg, spec);
  }
  if (isFloat(arg)) {
    return formatFloat(arg, spec) ?? badVerb(arg, spec);
  }
  if (typeof arg === 'string') {
    return formatString(arg, spec) ?? badVerb(arg, spec);
  }
  if (arg instanceof GoDuration) {
    // A fmt.Stringer for %v %s %q %x %X (but %#v), an int64 for the other verbs.
    if ('vsqxX'.includes(verb) && spec.sharpV !== true) {
      return formatString(arg.toString(), spec) ?? badVerb(arg, spec);
    }
    return formatInt(arg.ns, spec) ?? `%!${verb}(time.Duration=${formatInt(arg.ns, { ...spec, verb: 'v' })})`;
  }
  if (Array.isArray(arg)) {
    return `[${arg.map((item) => formatArg(item, spec)).join(' ')}]`;
  }
  if (arg instanceof Map) {
    const keys = [...(arg as Map<string, unknown>).keys()].sort();
    const entries = keys.map((k) => `${formatArg(k, spec)}:${formatArg((arg as Map<string, unknown>).get(k), spec)}`);
    return `map[${entries.join(' ')}]`;
  }
  if (arg instanceof StructValue) {
    return `&{${Object.values(arg.fields)
      .map((v) => formatArg(v, plain(verb)))
      .join(' ')}}`;
  }
  return badVerb(arg, spec);
}

/** `%!d(string=x)`: Go prints the value with %v, keeping the flags, width and precision of the bad verb. */
function badVerb(arg: unknown, spec: Spec): string {
  return `%!${spec.verb}(${goTypeOf(arg)}=${formatArg(arg, { ...spec, verb: 'v' })})`;
}

/** Pads to the width with spaces (or zeros before the digits, for numbers with the `0` flag). */
function pad(text: string, spec: Spec, zeroAfterSign = false): string {
  const length = Array.from(text).length;
  if (spec.width === undefined || length >= spec.width) {
    return text;
  }
  const fill = spec.width - length;
  if (spec.minus) {
    return text + ' '.repeat(fill);
  }
  if (spec.zero && zeroAfterSign) {
    const sign = /^[+\- ]/.test(text) ? text[0] : '';
    return sign + '0'.repeat(fill) + text.slice(sign.length);
  }
  return (spec.zero ? '0' : ' ').repeat(fill) + text;
}

function sign(negative: boolean, spec: Spec): string {
  return negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
}

function formatInt(v: bigint, spec: Spec): string | undefined {
  const negative = v < 0n;
  const abs = negative ? -v : v;
  let digits: string;
  let prefix = '';
  switch (spec.verb) {
    case 'v':
    case 'd':
      digits = abs.toString();
      break;
    case 'b':
      digits = abs.toString(2);
      prefix = spec.sharp ? '0b' : '';
      break;
    case 'o':
    case 'O':
      digits = abs.toString(8);
      prefix = spec.verb === 'O' ? '0o' : spec.sharp ? '0' : '';
      break;
    case 'x':
      digits = abs.toString(16);
      prefix = spec.sharp ? '0x' : '';
      break;
    case 'X':
      digits = abs.toString(16).toUpperCase();
      prefix = spec.sharp ? '0X' : '';
      break;
    case 'c':
      return pad(codePoint(v), spec);
    case 'U':
      return pad(`U+${abs.toString(16).toUpperCase().padStart(4, '0')}`, spec);
    case 'q':
      return pad(`'${quoteRune(codePoint(v), "'", spec.plus)}'`, spec);
    default:
      return undefined;
  }
  if (spec.precision === 0 && v === 0n && 'vdbcoOxX'.includes(spec.verb)) {
    return pad('', { ...spec, zero: false }); // Go prints nothing, not even the sign
  }
  const signText = sign(negative, spec);
  if (spec.precision !== undefined) {
    digits = spec.precision === 0 && abs === 0n ? '' : digits.padStart(spec.precision, '0');
  } else if (spec.zero && spec.width !== undefined) {
    // Go zero-pads the digits to the width, then adds sign and prefix (%#08x of 255 is 0x000000ff).
    digits = digits.padStart(spec.width - signText.length, '0');
  }
  return pad(signText + prefix + digits, { ...spec, zero: false });
}

const codePoint = (v: bigint) => (v >= 0n && v <= 0x10ffffn ? String.fromCodePoint(Number(v)) : '\ufffd');

function formatFloat(v: number, spec: Spec): string | undefined {
  const verb = spec.verb;
  if (!'veEfFgGbxX'.includes(verb)) {
    return undefined;
  }
  if (!Number.isFinite(v)) {
    const text = Number.isNaN(v) ? `${spec.plus ? '+' : spec.space ? ' ' : ''}NaN` : v > 0 ? '+Inf' : '-Inf';
    return pad(text, { ...spec, zero: false });
  }
  const negative = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  let body: string;
  switch (verb) {
    case 'f':
    case 'F':
      body = withPoint(fixed(abs, spec.precision ?? 6), spec.sharp);
      break;
    case 'e':
    case 'E':
      body = withPoint(scientific(abs, spec.precision ?? 6, verb), spec.sharp);
      break;
    case 'b': {
      const { mantissa, exponent } = binary(abs);
      body = `${mantissa}p${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
      break;
    }
    case 'x':
    case 'X':
      body = hexFloat(abs, spec.precision, verb === 'X');
      break;
    default:
      body = withPoint(general(abs, spec.precision, verb === 'G' ? 'E' : 'e', spec.sharp), spec.sharp);
  }
  return pad(sign(negative, spec) + body, spec, true);
}

/** The `#` flag: a decimal point always, before any exponent. */
function withPoint(text: string, sharp: boolean): string {
  if (!sharp || text.includes('.')) {
    return text;
  }
  const e = text.search(/[eE]/);
  return e < 0 ? `${text}.` : `${text.slice(0, e)}.${text.slice(e)}`;
}

/** A finite non-negative double as `mantissa × 2^exponent`, the integer mantissa as Go's %b prints it. */
function binary(v: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return exponentBits === 0
    ? { mantissa: fraction, exponent: -1074 }
    : { mantissa: fraction | (1n << 52n), exponent: exponentBits - 1075 };
}

/** %x on a float: `0x1.8p+00`, the fraction in as few hex digits as exact (or rounded to the precision). */
function hexFloat(v: number, precision: number | undefined, upper: boolean): string {
  let { mantissa, exponent } = binary(v);
  if (mantissa === 0n) {
    const zeros = precision ? `.${'0'.repeat(precision)}` : '';
    const text = `0x0${zeros}p+00`;
    return upper ? text.toUpperCase() : text;
  }
  // Normalise to 1.fffffffffffff (53 significant bits), as strconv does for subnormals too.
  while (mantissa < 1n << 52n) {
    mantissa <<= 1n;
    exponent--;
  }
  exponent += 52;
  let fraction = mantissa & ((1n << 52n) - 1n);
  let digits = 13;
  if (precision !== undefined && precision < 13) {
    // Round half to even on what is kept, the leading 1 included.
    const drop = BigInt(4 * (13 - precision));
    const half = 1n << (drop - 1n);
    const rest = mantissa & ((1n << drop) - 1n);
    let kept = mantissa >> drop;
    if (rest > half || (rest === half && (kept & 1n) === 1n)) {
      kept++;
    }
    if (kept >> BigInt(4 * precision) === 2n) {
      kept >>= 1n;
      exponent++;
    }
    fraction = kept & ((1n << BigInt(4 * precision)) - 1n);
    digits = precision;
  }
  let hex = digits === 0 ? '' : fraction.toString(16).padStart(digits, '0');
  if (precision === undefined) {
    hex = hex.replace(/0+$/, '');
  } else if (precision > 13) {
    hex = hex.padEnd(precision, '0');
  }
  const exp = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const text = `0x1${hex === '' ? '' : `.${hex}`}p${exp}`;
  return upper ? text.toUpperCase() : text;
}

/** The exact decimal expansion of a finite double: its digits and where the decimal point goes. */
function exactDecimal(v: number): { digits: string; point: number } {
  if (v === 0) {
    return { digits: '0', point: 1 };
  }
  const { mantissa, exponent } = binary(v);
  if (exponent >= 0) {
    const digits = (mantissa << BigInt(exponent)).toString();
    return { digits, point: digits.length };
  }
  const digits = (mantissa * 5n ** BigInt(-exponent)).toString();
  return { digits, point: digits.length + exponent };
}

/** Rounds a digit string to `keep` digits, half to even as Go does on the exact value; may carry into a new digit. */
function roundDigits(digits: string, keep: number): { digits: string; carried: boolean } {
  if (keep >= digits.length) {
    return { digits: digits.padEnd(keep, '0'), carried: false };
  }
  if (keep < 0) {
    return { digits: '', carried: false };
  }
  const head = digits.slice(0, keep);
  const first = digits[keep];
  const rest = digits.slice(keep + 1);
  const last = keep > 0 ? Number(head[keep - 1]) : 0;
  const up = first > '5' || (first === '5' && (/[1-9]/.test(rest) || last % 2 === 1));
  if (!up) {
    return { digits: head, carried: false };
  }
  const bumped = (BigInt(head === '' ? '0' : head) + 1n).toString();
  const carried = bumped.length > keep || (keep === 0 && bumped === '1');
  return { digits: keep === 0 ? bumped : bumped.padStart(keep, '0'), carried };
}

function fixed(v: number, precision: number): string {
  const { digits, point } = exactDecimal(v);
  const keep = point + precision;
  let rounded: string;
  let intLength = point;
  if (keep < 0) {
    rounded = '';
  } else {
    const r = roundDigits(digits, keep);
    rounded = r.digits;
    if (r.carried) {
      intLength++;
    }
  }
  if (intLength <= 0) {
    rounded = '0'.repeat(-intLength) + rounded;
    intLength = 0;
  }
  const whole = rounded.slice(0, intLength).replace(/^0+(?=\d)/, '') || '0';
  const fraction = rounded.slice(intLength, intLength + precision).padEnd(precision, '0');
  return precision > 0 ? `${whole}.${fraction}` : whole;
}

function scientific(v: number, precision: number, e: string): string {
  const { digits, point } = v === 0 ? { digits: '0', point: 1 } : exactDecimal(v);
  const significant = digits.replace(/^0+/, '') || '0';
  let exponent = v === 0 ? 0 : point - (digits.length - significant.length) - 1;
  const r = roundDigits(significant, precision + 1);
  let mantissa = r.digits;
  if (r.carried) {
    exponent++;
    mantissa = mantissa.slice(0, precision + 1);
  }
  return withExponent(mantissa, precision, exponent, e);
}

function withExponent(mantissa: string, fractionDigits: number, exponent: number, e: string): string {
  const head = mantissa[0] ?? '0';
  const tail = mantissa.slice(1, 1 + fractionDigits);
  const exp = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  return `${head}${tail === '' ? '' : `.${tail}`}${e}${exp}`;
}

/** %g and %v: shortest digits when there is no precision; exponent form for exponents < -4 or ≥ the precision. */
function general(v: number, precision: number | undefined, e: string, sharp: boolean): string {
  let digits: string;
  let exponent: number;
  if (v === 0) {
    digits = '0';
    exponent = 0;
  } else if (precision === undefined) {
    const [mantissa, exp] = v.toExponential().split('e');
    digits = mantissa.replace('.', '');
    exponent = Number(exp);
  } else {
    const { digits: exact, point } = exactDecimal(v);
    const significant = exact.replace(/^0+/, '');
    exponent = point - (exact.length - significant.length) - 1;
    const r = roundDigits(significant, Math.max(precision, 1));
    digits = r.digits;
    if (r.carried) {
      exponent++;
      digits = digits.slice(0, Math.max(precision, 1));
    }
  }
  if (sharp) {
    // %#g keeps trailing zeros, up to the precision (6 for the shortest form).
    digits = digits.padEnd(precision === undefined ? 6 : Math.max(precision, 1), '0');
  } else {
    digits = digits.replace(/(?<=.)0+$/, '');
  }
  // strconv's %g: the shortest form decides with precision 6 (1e+06, 123456), an explicit one with itself.
  let eprec = precision === undefined ? 6 : Math.max(precision, 1);
  if (precision !== undefined && eprec > digits.length && digits.length >= exponent + 1) {
    eprec = digits.length;
  }
  if (exponent < -4 || exponent >= eprec) {
    return withExponent(digits, digits.length - 1, exponent, e);
  }
  if (exponent < 0) {
    return `0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

function formatString(s: string, spec: Spec): string | undefined {
  const truncated = spec.precision === undefined ? s : Array.from(s).slice(0, spec.precision).join('');
  switch (spec.verb) {
    case 'v':
    case 's':
      return pad(truncated, spec);
    case 'q':
      // %#q: backquoted when Go's strconv.CanBackquote allows it.
      if (spec.sharp && canBackquote(truncated)) {
        return pad(`\`${truncated}\``, spec);
      }
      return pad(`"${Array.from(truncated, (ch) => quoteRune(ch, '"', spec.plus)).join('')}"`, spec);
    case 'x':
    case 'X': {
      // The precision counts input bytes here; `#` adds 0x (before each byte with the space flag).
      const bytes = Array.from(utf8Bytes(s)).slice(0, spec.precision);
      const prefix = spec.sharp && bytes.length > 0 ? '0x' : '';
      const hex = bytes.map((b) => b.toString(16).padStart(2, '0'));
      const text = spec.space ? hex.map((h) => prefix + h).join(' ') : prefix + hex.join('');
      return pad(spec.verb === 'X' ? text.toUpperCase() : text, spec);
    }
    default:
      return undefined;
  }
}

/** strconv.CanBackquote: no backquote, and no control character but tab. */
const canBackquote = (s: string) =>
  Array.from(s).every((ch) => ch !== '`' && ch !== '\ufeff' && (ch === '\t' || (ch >= ' ' && ch !== '\x7f')));

function* utf8Bytes(s: string): Generator<number> {
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) {
      yield cp;
    } else if (cp < 0x800) {
      yield 0xc0 | (cp >> 6);
      yield 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      yield 0xe0 | (cp >> 12);
      yield 0x80 | ((cp >> 6) & 0x3f);
      yield 0x80 | (cp & 0x3f);
    } else {
      yield 0xf0 | (cp >> 18);
      yield 0x80 | ((cp >> 12) & 0x3f);
      yield 0x80 | ((cp >> 6) & 0x3f);
      yield 0x80 | (cp & 0x3f);
    }
  }
}

const QUOTE_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
};

/** One character as strconv.Quote writes it (QuoteToASCII with `+`): printable as is, the rest escaped. */
function quoteRune(ch: string, quote: string, asciiOnly: boolean): string {
  if (ch === quote) {
    return `\\${ch}`;
  }
  if (ch in QUOTE_ESCAPES) {
    return QUOTE_ESCAPES[ch];
  }
  if (/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch) && !(asciiOnly && ch > '\x7f')) {
    return ch;
  }
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x80) {
    return `\\x${cp.toString(16).padStart(2, '0')}`;
  }
  return cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
}
