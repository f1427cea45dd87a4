/** Why a Go regexp could not be turned into a JavaScript one. */
export class Re2TranslationError extends Error {
  constructor(
    message: string,
    /** true: valid RE2 this translation does not handle; false: Go's regexp.Compile refuses it too. */
    readonly unsupported: boolean,
  ) {
    super(message);
  }
}

const unsupported = (what: string) => new Re2TranslationError(`unsupported regexp construct ${what}`, true);
const invalid = (what: string) => new Re2TranslationError(`error parsing regexp: ${what}`, false);

// RE2's \s is ASCII [\t\n\f\r ]: narrower than JavaScript's, which includes \v and Unicode spaces.
const SPACE = '\\t\\n\\f\\r ';
const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};
const CONTROL_ESCAPES: Record<string, string> = { a: '\\x07', f: '\\f', t: '\\t', n: '\\n', r: '\\r', v: '\\v' };
const MAX_REPEAT = 1000;

const cache = new Map<string, RegExp>();

/**
 * Compiles a Go (RE2) regular expression into an equivalent JavaScript RegExp, for expr-lang's `matches`.
 * Handles leading flags `(?i)(?m)(?s)`, `(?P<name>…)`, `\A`, `\z`, `\Q…\E`, POSIX classes, octal and `\x{…}` escapes
 * and RE2's ASCII `\s`; refuses (`unsupported`) Unicode classes `\p{…}`, inline flag groups and ungreedy mode, and
 * rejects what Go rejects: backreferences, lookarounds, repeat counts over 1000.
 */
export function compileRe2(pattern: string): RegExp {
  const cached = cache.get(pattern);
  if (cached) {
    return cached;
  }
  const { source, flags } = translateRe2(pattern);
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (e) {
    throw invalid(`${(e as Error).message} in \`${pattern}\``);
  }
  if (cache.size > 1000) {
    cache.clear();
  }
  cache.set(pattern, re);
  return re;
}

export function translateRe2(pattern: string): { source: string; flags: string } {
  let i = 0;
  const flags = new Set<string>();
  // Flags are global in JavaScript: accept them only where they apply to the whole pattern.
  for (let m = /^\(\?([a-zA-Z]+)\)/.exec(pattern); m; m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i))) {
    for (const f of m[1]) {
      if (f === 'U') {
        throw unsupported('(?U)');
      }
      if (!'ims'.includes(f)) {
        throw invalid(`invalid or unsupported Perl syntax: \`(?${m[1]}\``);
      }
      flags.add(f);
    }
    i += m[0].length;
  }
  const dotAll = flags.has('s');
  let out = '';
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const { text, next } = escape(pattern, i, false);
      out += text;
      i = next;
    } else if (c === '[') {
      const { text, next } = charClass(pattern, i);
      out += text;
      i = next;
    } else if (c === '(') {
      const { text, next } = group(pattern, i);
      out += text;
      i = next;
    } else if (c === '.') {
      out += dotAll ? '[\\s\\S]' : '[^\\n]';
      i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (m) {
        if (Number(m[1]) > MAX_REPEAT || (m[3] !== undefined && m[3] !== '' && Number(m[3]) > MAX_REPEAT)) {
          throw invalid(`invalid repeat count: \`${m[0]}\``);
        }
        out += m[0];
        i += m[0].length;
      } else {
        // RE2 reads a brace that starts no repetition as a literal.
        out += '\\{';
        i++;
      }
    } else if (c === '}') {
      out += '\\}';
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return { source: out, flags: [...flags].filter((f) => f !== 's').join('') };
}

function group(pattern: string, start: number): { text: string; next: number } {
  const rest = pattern.slice(start);
  if (!rest.startsWith('(?')) {
    return { text: '(', next: start + 1 };
  }
  if (rest.startsWith('(?:')) {
    return { text: '(?:', next: start + 3 };
  }
  const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(rest);
  if (named) {
    return { text: `(?<${named[1]}>`, next: start + named[0].length };
  }
  if (/^\(\?[a-zA-Z-]+[:)]/.test(rest)) {
    throw unsupported(`'${/^\(\?[a-zA-Z-]+[:)]/.exec(rest)?.[0]}' (flags inside the pattern)`);
  }
  throw invalid(`invalid or unsupported Perl syntax: \`${rest.slice(0, 3)}\``);
}

function charClass(pattern: string, start: number): { text: string; next: number } {
  let i = start + 1;
  let out = '[';
  if (pattern[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  for (;;) {
    if (i >= pattern.length) {
      throw invalid(`missing closing ]: \`${pattern.slice(start)}\``);
    }
    const c = pattern[i];
    if (c === ']' && !first) {
      return { text: `${out}]`, next: i + 1 };
    }
    first = false;
    if (c === '[' && pattern[i + 1] === ':') {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
      if (m) {
        if (m[1] === '^') {
          throw unsupported(`'${m[0]}'`);
        }
        const range = POSIX_CLASSES[m[2]];
        if (range === undefined) {
          throw invalid(`invalid character class range: \`${m[0]}\``);
        }
        out += range;
        i += m[0].length;
        continue;
      }
    }
    if (c === '\\') {
      const { text, next } = escape(pattern, i, true);
      out += text;
      i = next;
    } else if (c === '[' || c === ']') {
      out += `\\${c}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
}

function escape(pattern: string, start: number, inClass: boolean): { text: string; next: number } {
  const c = pattern[start + 1];
  if (c === undefined) {
    throw invalid('trailing backslash at end of expression');
  }
  const next = start + 2;
  if ('dDwW'.includes(c)) {
    return { text: `\\${c}`, next };
  }
  if (c === 's') {
    return { text: inClass ? SPACE : `[${SPACE}]`, next };
  }
  if (c === 'S') {
    if (inClass) {
      throw unsupported("'\\S' inside a character class");
    }
    return { text: `[^${SPACE}]`, next };
  }
  if (!inClass && (c === 'b' || c === 'B')) {
    return { text: `\\${c}`, next };
  }
  if (!inClass && c === 'A') {
    return { text: '(?<![\\s\\S])', next };
  }
  if (!inClass && c === 'z') {
    return { text: '(?![\\s\\S])', next };
  }
  if (!inClass && c === 'Q') {
    const end = pattern.indexOf('\\E', next);
    const literal = end < 0 ? pattern.slice(next) : pattern.slice(next, end);
    return { text: literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'), next: end < 0 ? pattern.length : end + 2 };
  }
  if (c === 'p' || c === 'P') {
    throw unsupported(`'\\${c}' (Unicode classes)`);
  }
  if (c === 'C') {
    throw unsupported("'\\C'");
  }
  if (c in CONTROL_ESCAPES) {
    return { text: CONTROL_ESCAPES[c], next };
  }
  if (c === 'x') {
    const braced = /^\{([0-9a-fA-F]+)\}/.exec(pattern.slice(next));
    const hex = braced ? braced[1] : pattern.slice(next, next + 2);
    if (!/^[0-9a-fA-F]+$/.test(hex) || (!braced && hex.length !== 2)) {
      throw invalid(`invalid escape sequence: \`\\x${hex}\``);
    }
    return { text: codeUnitEscape(parseInt(hex, 16)), next: next + (braced ? braced[0].length : 2) };
  }
  if (c >= '0' && c <= '7') {
    // A lone \1-\7 would be a backreference, which RE2 refuses; otherwise up to three octal digits.
    const m = /^[0-7]{1,3}/.exec(pattern.slice(start + 1)) as RegExpExecArray;
    if (c !== '0' && m[0].length === 1) {
      throw invalid(`invalid escape sequence: \`\\${c}\``);
    }
    return { text: codeUnitEscape(parseInt(m[0], 8)), next: start + 1 + m[0].length };
  }
  if (/[!-/:-@[-`{-~]/.test(c)) {
    return { text: `\\${c}`, next };
  }
  throw invalid(`invalid escape sequence: \`\\${c}\``);
}

function codeUnitEscape(cp: number): string {
  if (cp > 0x10ffff) {
    throw invalid(`invalid escape sequence: code point ${cp.toString(16)}`);
  }
  if (cp > 0xffff) {
    throw unsupported(`'\\x{${cp.toString(16)}}' (beyond the Basic Multilingual Plane)`);
  }
  return `\\u${cp.toString(16).padStart(4, '0')}`;
}
