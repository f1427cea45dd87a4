import { ExprCompileError, UnsupportedExpressionError } from './errors';

export type TokenKind = 'number' | 'string' | 'identifier' | 'operator' | 'bracket' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  readonly pos: number;
}

// Words the expr-lang lexer emits as operators (parser/lexer/state.go); the parser also takes them as property names.
export const WORD_OPERATORS = new Set([
  'not',
  'in',
  'or',
  'and',
  'matches',
  'contains',
  'startsWith',
  'endsWith',
  'let',
  'if',
  'else',
]);
const TWO_CHAR_OPERATORS = new Set(['&&', '||', '==', '!=', '<=', '>=', '**', '..', '?.', '??', '::']);
const ONE_CHAR_OPERATORS = new Set([
  '&',
  '|',
  '=',
  '!',
  '<',
  '>',
  '*',
  '+',
  '-',
  '%',
  '^',
  ',',
  ';',
  ':',
  '.',
  '?',
  '/',
  '#',
]);

const isDigit = (c: string) => c >= '0' && c <= '9';
// expr-lang identifiers: letters, digits, `_` and `$` (parser/utils/utils.go).
const isIdentStart = (c: string) => c === '_' || c === '$' || /\p{L}/u.test(c);
const isIdentPart = (c: string) => isIdentStart(c) || /\p{Nd}/u.test(c);

/** Splits an expression into tokens, unescaping string literals as expr-lang does. Positions are string offsets. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const at = (k: number) => source[k] ?? '';
  while (i < source.length) {
    const c = charAt(source, i);
    const start = i;
    if (/\s/u.test(c)) {
      i += c.length;
    } else if (c === '/' && at(i + 1) === '/') {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
    } else if (c === '/' && at(i + 1) === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) {
        throw new ExprCompileError('unclosed comment', start);
      }
      i = end + 2;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === '\n') {
          break;
        }
        i += source[i] === '\\' ? 2 : 1;
      }
      if (i >= source.length || source[i] !== c) {
        throw new ExprCompileError('literal not terminated', start);
      }
      i++;
      tokens.push({ kind: 'string', value: unescape(source.slice(start + 1, i - 1), start), pos: start });
    } else if (c === '`') {
      // Raw string: no escapes, a doubled backtick stands for one.
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) {
          throw new ExprCompileError('literal not terminated', start);
        }
        if (source[i] === '`' && at(i + 1) === '`') {
          value += '`';
          i += 2;
        } else if (source[i] === '`') {
          i++;
          break;
        } else {
          value += source[i];
          i++;
        }
      }
      tokens.push({ kind: 'string', value: value.replace(/\r\n?/g, '\n'), pos: start });
    } else if ((c === 'b' || c === 'B') && (at(i + 1) === '"' || at(i + 1) === "'")) {
      throw new UnsupportedExpressionError('unsupported bytes literal', start);
    } else if (isDigit(c) || (c === '.' && isDigit(at(i + 1)))) {
      i = scanNumber(source, i);
      tokens.push({ kind: 'number', value: source.slice(start, i), pos: start });
    } else if (isIdentStart(c)) {
      while (i < source.length && isIdentPart(charAt(source, i))) {
        i += charAt(source, i).length;
      }
      const word = source.slice(start, i);
      tokens.push({ kind: WORD_OPERATORS.has(word) ? 'operator' : 'identifier', value: word, pos: start });
    } else if ('([{)]}'.includes(c)) {
      i++;
      tokens.push({ kind: 'bracket', value: c, pos: start });
    } else if (TWO_CHAR_OPERATORS.has(c + at(i + 1))) {
      tokens.push({ kind: 'operator', value: source.slice(i, i + 2), pos: start });
      i += 2;
    } else if (ONE_CHAR_OPERATORS.has(c)) {
      i++;
      tokens.push({ kind: 'operator', value: c, pos: start });
    } else {
      throw new ExprCompileError(`unrecognized character: '${c}'`, start);
    }
  }
  tokens.push({ kind: 'eof', value: '', pos: source.length });
  return tokens;
}

/** The whole code point at `i` (one or two UTF-16 units). */
const charAt = (s: string, i: number) => String.fromCodePoint(s.codePointAt(i) ?? 0);

function scanNumber(chars: string, from: number): number {
  let i = from;
  let digits = /[0-9_]/;
  if (chars[i] === '0' && /[xXoObB]/.test(chars[i + 1] ?? '')) {
    const base = chars[i + 1].toLowerCase();
    digits = base === 'x' ? /[0-9a-fA-F_]/ : base === 'o' ? /[0-7_]/ : /[01_]/;
    i += 2;
  }
  while (i < chars.length && digits.test(chars[i])) {
    i++;
  }
  // `1..2` is a range, not a float: leave the dots alone.
  if (chars[i] === '.' && chars[i + 1] !== '.') {
    i++;
    while (i < chars.length && digits.test(chars[i])) {
      i++;
    }
  }
  if (chars[i] === 'e' || chars[i] === 'E') {
    i++;
    if (chars[i] === '+' || chars[i] === '-') {
      i++;
    }
    while (i < chars.length && digits.test(chars[i])) {
      i++;
    }
  }
  if (i < chars.length && isIdentPart(charAt(chars, i))) {
    throw new ExprCompileError(`bad number syntax: "${chars.slice(from, i + 1)}"`, from);
  }
  return i;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '`': '`',
  '?': '?',
};

/** The escapes of expr-lang string literals (parser/lexer/utils.go): Go's, plus `\u{…}`; anything else is an error. */
function unescape(raw: string, pos: number): string {
  const text = raw.replace(/\r\n?/g, '\n');
  let out = '';
  const bad = () => new ExprCompileError('unable to unescape string', pos);
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      out += text[i];
      continue;
    }
    const c = text[i + 1];
    if (c === undefined) {
      throw bad();
    }
    i++;
    if (c in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[c];
    } else if (c === 'u' && text[i + 1] === '{') {
      const close = text.indexOf('}', i + 2);
      const hex = close < 0 ? '' : text.slice(i + 2, close);
      if (!/^[0-9a-fA-F]{1,6}$/.test(hex) || parseInt(hex, 16) > 0x10ffff) {
        throw bad();
      }
      out += String.fromCodePoint(parseInt(hex, 16));
      i = close;
    } else if ('xXuU'.includes(c)) {
      const n = c === 'u' ? 4 : c === 'U' ? 8 : 2;
      const hex = text.slice(i + 1, i + 1 + n);
      if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) {
        throw bad();
      }
      out += String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else if (c >= '0' && c <= '3') {
      const oct = text.slice(i, i + 3);
      if (!/^[0-3][0-7]{2}$/.test(oct)) {
        throw new ExprCompileError('unable to unescape octal sequence in string', pos);
      }
      out += String.fromCodePoint(parseInt(oct, 8));
      i += 2;
    } else {
      throw bad();
    }
  }
  return out;
}
