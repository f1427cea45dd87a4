import { TemplateParseError } from '../notification.errors';
import type { ArgNode, CommandNode, ListNode, NumberValue, PipeNode, TemplateNode } from './ast';

// Go's text/template lexer and parser (text/template/parse/lex.go, parse.go), for templates named "" as CrowdSec's
// FormatAlerts creates them. Refused at parse time, with the construct named: {{template}}, {{define}}, {{block}},
// complex numbers, and functions this implementation does not provide. {{else with}} (Go ≥ 1.23) is accepted, as
// the reference's current builds use it; {{break}} and {{continue}} (Go ≥ 1.18) too.

type TokenType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'assign'
  | 'declare'
  | 'pipe'
  | 'char'
  | 'string'
  | 'rawString'
  | 'charConstant'
  | 'number'
  | 'bool'
  | 'dot'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'leftParen'
  | 'rightParen'
  | 'eof';

interface Token {
  readonly type: TokenType;
  readonly value: string;
  readonly pos: number;
}

const KEYWORDS = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'nil',
  'template',
  'with',
]);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlphaNumeric = (c: string | undefined) => c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);

/** What the parser needs to know of the functions: whether a name is one, and why not when it is not. */
export interface FunctionCheck {
  /** undefined: defined; otherwise Go's complaint, or why this implementation refuses the name. */
  (name: string): string | undefined;
}

export function parseTemplate(text: string, checkFunction: FunctionCheck): ListNode {
  return new Parser(text, lex(text), checkFunction).parse();
}

const lineOf = (text: string, pos: number) => text.slice(0, pos).split('\n').length;

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  const fail = (pos: number, message: string): never => {
    throw new TemplateParseError(`template: :${lineOf(input, pos)}: ${message}`);
  };
  let pos = 0;
  let trimNextText = false;
  while (pos <= input.length) {
    // Text up to the next action.
    const open = input.indexOf('{{', pos);
    const end = open < 0 ? input.length : open;
    const leftTrim = open >= 0 && input[open + 2] === '-' && isSpace(input[open + 3]);
    let start = pos;
    if (trimNextText) {
      while (start < end && isSpace(input[start])) {
        start++;
      }
    }
    let textEnd = end;
    if (leftTrim) {
      while (textEnd > start && isSpace(input[textEnd - 1])) {
        textEnd--;
      }
    }
    if (textEnd > start) {
      tokens.push({ type: 'text', value: input.slice(start, textEnd), pos: start });
    }
    if (open < 0) {
      break;
    }
    pos = open + 2 + (leftTrim ? 2 : 0);
    if (input.startsWith('/*', pos)) {
      const close = input.indexOf('*/', pos + 2);
      if (close < 0) {
        fail(pos, 'unclosed comment');
      }
      pos = close + 2;
      const trim = isSpace(input[pos]) && input[pos + 1] === '-' && input.startsWith('}}', pos + 2);
      if (!trim && !input.startsWith('}}', pos)) {
        fail(pos, 'comment ends before closing delimiter');
      }
      pos += trim ? 4 : 2;
      trimNextText = trim;
      continue;
    }
    tokens.push({ type: 'leftDelim', value: '{{', pos: open });
    pos = lexAction();
  }
  tokens.push({ type: 'eof', value: '', pos: input.length });
  return tokens;

  /** Lexes from `pos` to the right delimiter, included; returns the offset after it. */
  function lexAction(): number {
    let depth = 0;
    for (;;) {
      const trimmed = isSpace(input[pos]) && input[pos + 1] === '-' && input.startsWith('}}', pos + 2);
      if (trimmed || input.startsWith('}}', pos)) {
        if (depth > 0) {
          fail(pos, 'unclosed left paren');
        }
        tokens.push({ type: 'rightDelim', value: '}}', pos: pos + (trimmed ? 2 : 0) });
        trimNextText = trimmed;
        return pos + (trimmed ? 4 : 2);
      }
      const start = pos;
      const c = input[pos];
      if (c === undefined) {
        return fail(pos, 'unclosed action');
      }
      if (isSpace(c)) {
        while (isSpace(input[pos])) {
          pos++;
        }
        // A space that starts ` -}}` belongs to the delimiter.
        if (input[pos] === '-' && input.startsWith('}}', pos + 1)) {
          pos--;
          if (pos === start) {
            continue;
          }
        }
        tokens.push({ type: 'space', value: input.slice(start, pos), pos: start });
        continue;
      }
      pos++;
      switch (c) {
        case '=':
          tokens.push({ type: 'assign', value: '=', pos: start });
          continue;
        case ':':
          if (input[pos] !== '=') {
            fail(start, 'expected :=');
          }
          pos++;
          tokens.push({ type: 'declare', value: ':=', pos: start });
          continue;
        case '|':
          tokens.push({ type: 'pipe', value: '|', pos: start });
          continue;
        case '"':
          lexQuoted('"', 'unterminated quoted string');
          tokens.push({ type: 'string', value: input.slice(start, pos), pos: start });
          continue;
        case "'":
          lexQuoted("'", 'unterminated character constant');
          tokens.push({ type: 'charConstant', value: input.slice(start, pos), pos: start });
          continue;
        case '`': {
          const close = input.indexOf('`', pos);
          if (close < 0) {
            fail(start, 'unterminated raw quoted string');
          }
          pos = close + 1;
          tokens.push({ type: 'rawString', value: input.slice(start, pos), pos: start });
          continue;
        }
        case '$':
          lexWord(start, 'variable');
          continue;
        case '(':
          depth++;
          tokens.push({ type: 'leftParen', value: '(', pos: start });
          continue;
        case ')':
          depth--;
          if (depth < 0) {
            fail(start, "unexpected right paren U+0029 ')'");
          }
          tokens.push({ type: 'rightParen', value: ')', pos: start });
          continue;
        default:
      }
      if (c === '.' && input[pos] !== undefined && !/[0-9]/.test(input[pos])) {
        lexWord(start, 'field');
        continue;
      }
      if (c === '.' || c === '+' || c === '-' || /[0-9]/.test(c)) {
        pos = start;
        lexNumber();
        continue;
      }
      if (isAlphaNumeric(c)) {
        pos = start;
        while (isAlphaNumeric(input[pos])) {
          pos++;
        }
        checkTerminator();
        const word = input.slice(start, pos);
        const type: TokenType =
          word === 'true' || word === 'false' ? 'bool' : KEYWORDS.has(word) ? 'keyword' : 'identifier';
        tokens.push({ type, value: word, pos: start });
        continue;
      }
      if (c.charCodeAt(0) < 0x7f && c >= ' ') {
        tokens.push({ type: 'char', value: c, pos: start });
        continue;
      }
      fail(start, `unrecognized character in action: ${unicodeName(c)}`);
    }
  }

  function lexQuoted(quote: string, unterminated: string): void {
    for (;;) {
      const c = input[pos++];
      if (c === '\\') {
        const next = input[pos++];
        if (next !== undefined && next !== '\n') {
          continue;
        }
        fail(pos, unterminated);
      }
      if (c === undefined || c === '\n') {
        fail(pos, unterminated);
      }
      if (c === quote) {
        return;
      }
    }
  }

  /** `.Name` or `$name`; a lone `.` or `$` when nothing follows. */
  function lexWord(start: number, type: 'field' | 'variable'): void {
    if (atTerminator()) {
      tokens.push({ type: type === 'field' ? 'dot' : 'variable', value: input.slice(start, pos), pos: start });
      return;
    }
    while (isAlphaNumeric(input[pos])) {
      pos++;
    }
    checkTerminator();
    tokens.push({ type, value: input.slice(start, pos), pos: start });
  }

  function atTerminator(): boolean {
    const c = input[pos];
    return c === undefined || isSpace(c) || '.,|:()'.includes(c) || input.startsWith('}}', pos);
  }

  function checkTerminator(): void {
    if (!atTerminator()) {
      fail(pos, `bad character ${unicodeName(input[pos])}`);
    }
  }

  function lexNumber(): void {
    const start = pos;
    const m =
      /^[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]*)?|0[oO][0-7_]*|0[bB][01_]*|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]*)?)i?/.exec(
        input.slice(pos),
      );
    pos += m ? m[0].length : 0;
    if (isAlphaNumeric(input[pos]) || input[pos] === '+' || input[pos] === '-' || m?.[0].endsWith('i')) {
      if (input[pos] === '+' || input[pos] === '-' || m?.[0].endsWith('i')) {
        fail(start, `complex number constants are not supported: ${input.slice(start, pos + 1)}`);
      }
      fail(start, `bad number syntax: "${input.slice(start, pos + 1)}"`);
    }
    tokens.push({ type: 'number', value: input.slice(start, pos), pos: start });
  }
}

const unicodeName = (c: string | undefined) => {
  const cp = c?.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c ?? ''}'`;
};

class Parser {
  private index = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly checkFunction: FunctionCheck,
  ) {}

  parse(): ListNode {
    const nodes: TemplateNode[] = [];
    for (;;) {
      const token = this.peek();
      if (token.type === 'eof') {
        return nodes;
      }
      const node = this.textOrAction();
      if (node.kind === 'end' || node.kind === 'else') {
        this.fail(`unexpected {{${node.kind}}}`, node.pos);
      }
      nodes.push(node);
    }
  }

  private fail(message: string, pos = this.peek().pos): never {
    throw new TemplateParseError(`template: :${lineOf(this.text, pos)}: ${message}`);
  }

  private next(): Token {
    return this.tokens[this.index++] ?? this.tokens[this.tokens.length - 1];
  }

  private peek(): Token {
    return this.tokens[this.index] ?? this.tokens[this.tokens.length - 1];
  }

  private nextNonSpace(): Token {
    let token = this.next();
    while (token.type === 'space') {
      token = this.next();
    }
    return token;
  }

  private peekNonSpace(): Token {
    const token = this.nextNonSpace();
    this.index--;
    return token;
  }

  private unexpected(token: Token, context: string): never {
    const shown = token.type === 'eof' ? 'EOF' : tokenText(token);
    return this.fail(`unexpected ${shown} in ${context}`, token.pos);
  }

  private expectRightDelim(context: string): Token {
    const token = this.nextNonSpace();
    if (token.type !== 'rightDelim') {
      this.unexpected(token, context);
    }
    return token;
  }

  /** One text or action; `end`/`else` markers are returned for the enclosing list to handle. */
  private textOrAction():
    TemplateNode | { kind: 'end'; pos: number } | { kind: 'else'; pos: number; elseIf?: 'if' | 'with' } {
    const token = this.nextNonSpace();
    if (token.type === 'text') {
      return { kind: 'text', text: token.value, pos: token.pos, source: token.value };
    }
    if (token.type !== 'leftDelim') {
      return this.unexpected(token, 'input');
    }
    return this.action(token);
  }

  private action(
    open: Token,
  ): TemplateNode | { kind: 'end'; pos: number } | { kind: 'else'; pos: number; elseIf?: 'if' | 'with' } {
    const token = this.nextNonSpace();
    if (token.type === 'keyword') {
      switch (token.value) {
        case 'if':
        case 'with':
        case 'range':
          return this.control(token.value, open.pos);
        case 'end':
          this.expectRightDelim('end');
          return { kind: 'end', pos: token.pos };
        case 'else': {
          const peek = this.peekNonSpace();
          if (peek.type === 'keyword' && (peek.value === 'if' || peek.value === 'with')) {
            // {{else if …}} is {{else}}{{if …}}…{{end}}{{end}}, as Go rewrites it.
            this.nextNonSpace();
            return { kind: 'else', pos: token.pos, elseIf: peek.value };
          }
          this.expectRightDelim('else');
          return { kind: 'else', pos: token.pos };
        }
        case 'break':
        case 'continue': {
          this.expectRightDelim(`{{${token.value}}}`);
          if (this.rangeDepth === 0) {
            this.fail(`{{${token.value}}} outside {{range}}`, token.pos);
          }
          return { kind: token.value, pos: token.pos, source: token.value };
        }
        case 'template':
        case 'define':
        case 'block':
          return this.fail(`{{${token.value}}} is not supported in notification formats`, token.pos);
        default: // nil: an operand
      }
    }
    this.index--;
    const pipe = this.pipeline('command', 'rightDelim');
    return { kind: 'action', pipe, pos: pipe.pos, source: this.sourceOf(open.pos) };
  }

  private sourceOf(from: number): string {
    const to = this.tokens[this.index - 1].pos;
    return this.text.slice(from + 2, to).trim();
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): TemplateNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(kind, 'rightDelim');
      if (kind === 'range') {
        this.rangeDepth++;
      }
      const { list, end } = this.itemList();
      if (kind === 'range') {
        this.rangeDepth--;
      }
      let elseList: ListNode | undefined;
      if (end.kind === 'else') {
        if (end.elseIf === 'if' && kind === 'if') {
          elseList = [this.control('if', end.pos)];
        } else if (end.elseIf === 'with' && kind === 'with') {
          elseList = [this.control('with', end.pos)];
        } else if (end.elseIf !== undefined) {
          this.fail(`unexpected {{else ${end.elseIf}}} in {{${kind}}}`, end.pos);
        } else {
          const rest = this.itemList();
          if (rest.end.kind !== 'end') {
            this.fail('expected end; found {{else}}', rest.end.pos);
          }
          elseList = rest.list;
        }
      }
      return { kind, pipe, list, elseList, pos, source: pipe.source };
    } finally {
      this.vars.length = mark;
    }
  }

  private itemList(): {
    list: TemplateNode[];
    end: { kind: 'end'; pos: number } | { kind: 'else'; pos: number; elseIf?: 'if' | 'with' };
  } {
    const list: TemplateNode[] = [];
    for (;;) {
      if (this.peekNonSpace().type === 'eof') {
        this.fail('unexpected EOF');
      }
      const node = this.textOrAction();
      if (node.kind === 'end' || node.kind === 'else') {
        return { list, end: node };
      }
      list.push(node);
    }
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const first = this.peekNonSpace();
    const decl: string[] = [];
    let isAssign = false;
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') {
        break;
      }
      this.nextNonSpace();
      const after = this.peek();
      const next = this.peekNonSpace();
      if (next.type === 'assign' || next.type === 'declare') {
        isAssign = next.type === 'assign';
        this.nextNonSpace();
        decl.push(v.value);
        this.vars.push(v.value);
        break;
      }
      if (next.type === 'char' && next.value === ',') {
        this.nextNonSpace();
        decl.push(v.value);
        this.vars.push(v.value);
        if (context === 'range' && decl.length < 2) {
          const peek = this.peekNonSpace();
          if (peek.type === 'variable' || peek.type === 'rightDelim' || peek.type === 'rightParen') {
            continue;
          }
          this.fail('range can only initialize variables');
        }
        this.fail(`too many declarations in ${context}`);
      }
      // Not a declaration: the variable is the first operand.
      this.index -= after.type === 'space' ? 2 : 1;
      break;
    }
    const cmds: CommandNode[] = [];
    for (;;) {
      const token = this.nextNonSpace();
      if (token.type === end) {
        if (cmds.length === 0) {
          this.fail(`missing value for ${context}`, token.pos);
        }
        cmds.slice(1).forEach((c, i) => {
          if (['bool', 'dot', 'nil', 'number', 'string'].includes(c.args[0].kind)) {
            this.fail(`non executable command in pipeline stage ${i + 2}`, c.pos);
          }
        });
        return {
          kind: 'pipe',
          decl,
          isAssign,
          cmds,
          pos: first.pos,
          source: this.text.slice(first.pos, token.pos).trim(),
        };
      }
      switch (token.type) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.index--;
          cmds.push(this.command());
          break;
        case 'keyword':
          if (token.value === 'nil') {
            this.index--;
            cmds.push(this.command());
            break;
          }
          this.unexpected(token, context);
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  private command(): CommandNode {
    const start = this.peekNonSpace().pos;
    const args: ArgNode[] = [];
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== undefined) {
        args.push(operand);
      }
      const token = this.next();
      if (token.type === 'space') {
        continue;
      }
      if (token.type === 'rightDelim' || token.type === 'rightParen') {
        this.index--;
      } else if (token.type !== 'pipe') {
        this.unexpected(token, 'operand');
      }
      break;
    }
    if (args.length === 0) {
      this.fail('empty command');
    }
    const last = args[args.length - 1];
    return { args, pos: start, source: this.text.slice(start, last.pos + last.source.length) };
  }

  private operand(): ArgNode | undefined {
    const node = this.term();
    if (node === undefined || this.peek().type !== 'field') {
      return node;
    }
    const fields: string[] = [];
    // Go positions a chain at its first trailing field: errors about `$a.Nope` point at `.Nope`.
    const chainPos = this.peek().pos;
    let endPos = node.pos + node.source.length;
    while (this.peek().type === 'field') {
      const field = this.next();
      fields.push(field.value.slice(1));
      endPos = field.pos + field.value.length;
    }
    const source = this.text.slice(node.pos, endPos);
    switch (node.kind) {
      case 'field':
        return { kind: 'field', fields: [...node.fields, ...fields], pos: chainPos, source };
      case 'variable':
        return { kind: 'variable', name: node.name, fields: [...node.fields, ...fields], pos: chainPos, source };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.fail(`unexpected . after term "${node.source}"`, node.pos);
      default:
        return { kind: 'chain', node, fields, pos: chainPos, source };
    }
  }

  private term(): ArgNode | undefined {
    const token = this.nextNonSpace();
    const at = { pos: token.pos, source: token.value };
    switch (token.type) {
      case 'identifier': {
        const problem = this.checkFunction(token.value);
        if (problem !== undefined) {
          this.fail(problem, token.pos);
        }
        return { kind: 'identifier', name: token.value, ...at };
      }
      case 'dot':
        return { kind: 'dot', ...at };
      case 'variable':
        if (!this.vars.includes(token.value)) {
          this.fail(`undefined variable "${token.value}"`, token.pos);
        }
        return { kind: 'variable', name: token.value, fields: [], ...at };
      case 'field':
        return { kind: 'field', fields: [token.value.slice(1)], ...at };
      case 'bool':
        return { kind: 'bool', value: token.value === 'true', ...at };
      case 'charConstant':
      case 'number':
        return { kind: 'number', ...this.number(token), ...at };
      case 'leftParen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rightParen');
        const close = this.tokens[this.index - 1];
        return { ...pipe, pos: token.pos, source: this.text.slice(token.pos, close.pos + 1) };
      }
      case 'string':
      case 'rawString':
        return { kind: 'string', text: this.unquote(token), ...at };
      case 'keyword':
        if (token.value === 'nil') {
          return { kind: 'nil', ...at };
        }
        break;
      default:
    }
    this.index--;
    return undefined;
  }

  private unquote(token: Token): string {
    const raw = token.value;
    if (raw.startsWith('`')) {
      return raw.slice(1, -1).replaceAll('\r', '');
    }
    const value = unquoteGo(raw.slice(1, -1), '"');
    return value ?? this.fail('invalid syntax', token.pos);
  }

  private number(token: Token): NumberValue {
    if (token.type === 'charConstant') {
      const ch = unquoteGo(token.value.slice(1, -1), "'");
      if (ch === undefined || Array.from(ch).length !== 1) {
        return this.fail(`malformed character constant: ${token.value}`, token.pos);
      }
      const cp = BigInt(ch.codePointAt(0) ?? 0);
      return { text: token.value, int: cp, float: Number(cp), isChar: true };
    }
    const parsed = parseGoNumber(token.value);
    if (parsed?.int === undefined && parsed?.float !== undefined && !/[.eEpP]/.test(token.value)) {
      const big = BigInt(parsed.float);
      if (big < INT64_MIN || big > UINT64_MAX) {
        return this.fail(`integer overflow: "${token.value}"`, token.pos);
      }
    }
    if (parsed === undefined) {
      return this.fail(`illegal number syntax: "${token.value}"`, token.pos);
    }
    return { ...parsed, text: token.value, isChar: false };
  }
}

const tokenText = (token: Token) =>
  token.type === 'keyword'
    ? `<${token.value}>`
    : token.value.length > 10
      ? `"${token.value.slice(0, 10)}"...`
      : `"${token.value}"`;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** strconv's readings of a Go number literal, as parse.NumberNode keeps them (ints that fit int64, finite floats). */
function parseGoNumber(text: string): { int?: bigint; float?: number } | undefined {
  const clean = text.replaceAll('_', '');
  const sign = clean.startsWith('-') ? -1n : 1n;
  const body = clean.replace(/^[+-]/, '');
  let int: bigint | undefined;
  let float: number | undefined;
  const intMatch = /^(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(body);
  if (intMatch) {
    const digits = /^0[0-7]+$/.test(body) ? `0o${body.slice(1)}` : body;
    const value = sign * BigInt(digits);
    if (value >= INT64_MIN && value <= INT64_MAX) {
      int = value;
    }
    float = Number(value);
  } else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) {
    float = Number(sign) * Number(body);
    if (!Number.isFinite(float)) {
      return undefined;
    }
    if (Number.isInteger(float) && Math.abs(float) < 2 ** 63) {
      int = BigInt(float);
    }
  } else if (/^0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+$/.test(body)) {
    const m = /^0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(body);
    if (!m) {
      return undefined;
    }
    const mantissa = parseInt(`${m[1]}${m[2]}` || '0', 16) / 16 ** m[2].length;
    float = Number(sign) * mantissa * 2 ** Number(m[3]);
    if (Number.isInteger(float) && Math.abs(float) < 2 ** 63) {
      int = BigInt(float);
    }
  } else {
    return undefined;
  }
  return { int, float };
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
};

/** strconv.Unquote's escapes inside a `"…"` or `'…'` literal (without the quotes); undefined when Go refuses it. */
export function unquoteGo(body: string, quote: '"' | "'"): string | undefined {
  let out = '';
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) {
      out += decodeUtf8(bytes);
      bytes.length = 0;
    }
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === quote) {
      return undefined;
    }
    if (c !== '\\') {
      flush();
      out += c;
      continue;
    }
    const e = body[++i];
    if (e in SIMPLE_ESCAPES) {
      flush();
      out += SIMPLE_ESCAPES[e];
    } else if (e === quote) {
      flush();
      out += e;
    } else if (e === 'x' || /[0-7]/.test(e ?? '')) {
      const digits = e === 'x' ? body.slice(i + 1, i + 3) : body.slice(i, i + 3);
      if (!(e === 'x' ? /^[0-9a-fA-F]{2}$/ : /^[0-7]{3}$/).test(digits)) {
        return undefined;
      }
      const value = parseInt(digits, e === 'x' ? 16 : 8);
      if (value > 255) {
        return undefined;
      }
      bytes.push(value);
      i += 2;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const digits = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) {
        return undefined;
      }
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
        return undefined;
      }
      flush();
      out += String.fromCodePoint(cp);
      i += n;
    } else {
      return undefined;
    }
  }
  flush();
  return out;
}

/** UTF-8 bytes to a string, invalid sequences as U+FFFD (what Go prints them as once they reach JSON). */
export function decodeUtf8(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const need = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (need < 0) {
      out += '\ufffd';
      i++;
      continue;
    }
    let cp = need === 0 ? b : b & (0x3f >> need);
    let ok = i + need < bytes.length;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      ok = (c & 0xc0) === 0x80;
      cp = (cp << 6) | (c & 0x3f);
    }
    const min = [0, 0x80, 0x800, 0x10000][need];
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
      out += '\ufffd';
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** A string's UTF-8 bytes (lone surrogates as U+FFFD, as Go would never hold them). */
export function encodeUtf8(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    let cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp < 0xe000) {
      cp = 0xfffd;
    }
    if (cp < 0x80) {
      out.push(cp);
    } else if (cp < 0x800) {
      out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    } else {
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    }
  }
  return out;
}
