import { float32AsFloat64, GoFloat32, GoInt, GoPtr, GoSlice, type GoValue } from './values';

// encoding/json's Marshal (and MarshalIndent) of the values templates handle, byte for byte: struct fields in
// declaration order with their tags and omitempty, nil pointers and nil slices as null, HTML-safe escaping of
// < > & U+2028 U+2029 unless asked otherwise, \b and \f as Go ≥ 1.22 writes them, floats in Go's shortest form.

/** json.Marshal's error for what JSON cannot hold (NaN, ±Inf). */
export class JsonMarshalError extends Error {}

export interface MarshalOptions {
  /** SetEscapeHTML(true), the default of json.Marshal; sprig's toRawJson turns it off. */
  readonly escapeHTML?: boolean;
  /** MarshalIndent's indent, with an empty prefix. */
  readonly indent?: string;
}

export function marshalJson(value: GoValue, options: MarshalOptions = {}): string {
  const escapeHTML = options.escapeHTML ?? true;
  const indent = options.indent;

  const encode = (v: GoValue, depth: number): string => {
    if (v === null) {
      return 'null';
    }
    switch (typeof v) {
      case 'string':
        return quoteJson(v, escapeHTML);
      case 'boolean':
      case 'bigint':
        return String(v);
      case 'number':
        return formatJsonFloat(v, false);
      default:
    }
    if (v instanceof GoInt) {
      return String(v.value);
    }
    if (v instanceof GoFloat32) {
      return formatJsonFloat(v.value, true);
    }
    if (v instanceof GoPtr) {
      return v.target === undefined ? 'null' : encode(v.target, depth);
    }
    if (v instanceof GoSlice) {
      if (v.items === null) {
        return 'null';
      }
      return wrap(
        '[',
        v.items.map((item) => encode(item, depth + 1)),
        ']',
        depth,
      );
    }
    const members = v.type.fields
      .filter((f) => !(f.omitempty && isEmptyValue(v.fields[f.name])))
      .map(
        (f) =>
          `${quoteJson(f.json, escapeHTML)}:${indent === undefined ? '' : ' '}${encode(v.fields[f.name], depth + 1)}`,
      );
    return wrap('{', members, '}', depth);
  };

  const wrap = (open: string, items: readonly string[], close: string, depth: number): string => {
    if (items.length === 0) {
      return open + close;
    }
    if (indent === undefined) {
      return open + items.join(',') + close;
    }
    const inner = `\n${indent.repeat(depth + 1)}`;
    return `${open}${inner}${items.join(`,${inner}`)}\n${indent.repeat(depth)}${close}`;
  };

  return encode(value, 0);
}

/** encoding/json's isEmptyValue, for omitempty. */
function isEmptyValue(v: GoValue): boolean {
  if (v === null) {
    return true;
  }
  switch (typeof v) {
    case 'string':
      return v === '';
    case 'boolean':
      return !v;
    case 'bigint':
      return v === 0n;
    case 'number':
      return v === 0;
    default:
  }
  if (v instanceof GoInt) {
    return v.value === 0n;
  }
  if (v instanceof GoFloat32) {
    return v.value === 0;
  }
  if (v instanceof GoPtr) {
    return v.target === undefined;
  }
  if (v instanceof GoSlice) {
    return v.length === 0;
  }
  return false; // structs are never empty
}

const HEX = '0123456789abcdef';

/** encoding/json's string encoding (Go ≥ 1.22: \b and \f short forms). */
export function quoteJson(s: string, escapeHTML = true): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp < 0xe000) {
      out += '\\ufffd'; // a lone surrogate: Go would have held invalid UTF-8, written as U+FFFD
      continue;
    }
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      default:
    }
    if (cp < 0x20 || (escapeHTML && (ch === '<' || ch === '>' || ch === '&'))) {
      out += `\\u00${HEX[cp >> 4]}${HEX[cp & 0xf]}`;
    } else if (cp === 0x2028 || cp === 0x2029) {
      out += `\\u${cp.toString(16)}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/** encoding/json's floatEncoder: shortest digits, exponent form outside [1e-6, 1e21), `e-7` not `e-07`. */
function formatJsonFloat(f: number, is32: boolean): string {
  if (!Number.isFinite(f)) {
    throw new JsonMarshalError(`json: unsupported value: ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`);
  }
  const v = is32 ? float32AsFloat64(f) : f;
  if (Object.is(v, -0)) {
    return '-0';
  }
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    // Go writes 1e-07 then trims it to 1e-7, which is JavaScript's exponent form.
    return v.toExponential();
  }
  // Shortest digits in plain notation; JavaScript switches to exponents at the same bounds.
  return String(v);
}
