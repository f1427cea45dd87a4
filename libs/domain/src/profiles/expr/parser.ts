import { CLOSURE_BUILTINS, type BinaryOperator, type ClosureBuiltin, type ExprNode, type MapEntry } from './ast';
import { ExprCompileError, UnsupportedExpressionError } from './errors';
import { tokenize, WORD_OPERATORS, type Token } from './lexer';

// Precedences of expr-lang v1.17 (parser/operator/operator.go). Comparisons, `in`, `matches` and the string operators
// share one level, so `a == b in c` is `(a == b) in c`, as in Go.
const BINARY: Record<string, { precedence: number; right?: true }> = {
  '|': { precedence: 0 },
  or: { precedence: 10 },
  '||': { precedence: 10 },
  and: { precedence: 15 },
  '&&': { precedence: 15 },
  '==': { precedence: 20 },
  '!=': { precedence: 20 },
  '<': { precedence: 20 },
  '>': { precedence: 20 },
  '>=': { precedence: 20 },
  '<=': { precedence: 20 },
  in: { precedence: 20 },
  matches: { precedence: 20 },
  contains: { precedence: 20 },
  startsWith: { precedence: 20 },
  endsWith: { precedence: 20 },
  '..': { precedence: 25 },
  '+': { precedence: 30 },
  '-': { precedence: 30 },
  '*': { precedence: 60 },
  '/': { precedence: 60 },
  '%': { precedence: 60 },
  '**': { precedence: 100, right: true },
  '^': { precedence: 100, right: true },
  '??': { precedence: 500 },
};
// `not` binds looser than arithmetic but tighter than comparisons: `not a == b` is `(not a) == b`, as in expr.
const UNARY: Record<string, number> = { not: 50, '!': 50, '-': 90, '+': 90 };
const NEGATABLE = new Set(['in', 'matches', 'contains', 'startsWith', 'endsWith']);
const COMPARISONS = new Set(['<', '>', '<=', '>=']);
const UNSUPPORTED_BINARY: Record<string, string> = { '|': 'pipe operator', '..': 'range operator', '??': 'operator' };
// Closure builtins of expr-lang this evaluator leaves out (parser/parser.go `predicates`).
const OTHER_PREDICATES = new Set([
  'sum',
  'find',
  'findIndex',
  'findLast',
  'findLastIndex',
  'groupBy',
  'sortBy',
  'reduce',
]);

const isClosureBuiltin = (name: string): name is ClosureBuiltin =>
  (CLOSURE_BUILTINS as readonly string[]).includes(name);

/**
 * Parses one expr-lang expression into a syntax tree. Constructs outside the supported subset (`let`, pipes, `??`,
 * slices, optional chaining, …) throw {@link UnsupportedExpressionError}; bad syntax throws {@link ExprCompileError}.
 */
export function parseExpr(source: string): ExprNode {
  return new Parser(tokenize(source)).parseAll();
}

class Parser {
  private index = 0;
  private closureDepth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseAll(): ExprNode {
    const node = this.parseExpression(0);
    this.refuseSequence();
    if (this.current.kind !== 'eof') {
      throw this.unexpected();
    }
    return node;
  }

  private get current(): Token {
    return this.tokens[this.index];
  }

  private peek(offset = 1): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const token = this.current;
    if (token.kind !== 'eof') {
      this.index++;
    }
    return token;
  }

  private is(kind: Token['kind'], value?: string, token = this.current): boolean {
    return token.kind === kind && (value === undefined || token.value === value);
  }

  private expect(kind: Token['kind'], value: string): void {
    if (!this.is(kind, value)) {
      throw this.unexpected();
    }
    this.next();
  }

  private unexpected(token = this.current): ExprCompileError {
    return token.kind === 'eof'
      ? new ExprCompileError('unexpected end of expression', token.pos)
      : new ExprCompileError(`unexpected token '${token.value}'`, token.pos);
  }

  private refuseSequence(): void {
    if (this.is('operator', ';')) {
      throw new UnsupportedExpressionError("unsupported sequence of expressions ';'", this.current.pos);
    }
  }

  private parseExpression(precedence: number): ExprNode {
    if (precedence === 0 && (this.is('operator', 'let') || this.is('operator', 'if'))) {
      throw new UnsupportedExpressionError(`unsupported '${this.current.value}' expression`, this.current.pos);
    }
    let left = this.parsePrimary();
    while (this.current.kind === 'operator') {
      let op = this.current.value;
      let negate = false;
      if (op === 'not') {
        const following = this.peek();
        if (!(following.kind === 'operator' && NEGATABLE.has(following.value))) {
          throw this.unexpected(following);
        }
        if (BINARY[following.value].precedence < precedence) {
          break;
        }
        this.next();
        op = following.value;
        negate = true;
      }
      const info = BINARY[op] as { precedence: number; right?: true } | undefined;
      if (info === undefined || info.precedence < precedence) {
        break;
      }
      const token = this.next();
      if (op in UNSUPPORTED_BINARY) {
        throw new UnsupportedExpressionError(`unsupported ${UNSUPPORTED_BINARY[op]} '${op}'`, token.pos);
      }
      if (COMPARISONS.has(op)) {
        left = this.parseComparison(left, token, info.precedence);
        continue;
      }
      const right = this.parseExpression(info.right ? info.precedence : info.precedence + 1);
      left = { kind: 'binary', pos: token.pos, op: op as BinaryOperator, left, right };
      if (negate) {
        left = { kind: 'unary', pos: token.pos, op: 'not', operand: left };
      }
    }
    return precedence === 0 ? this.parseConditional(left) : left;
  }

  /** `a < b < c` is `a < b && b < c`, as expr-lang rewrites chained comparisons. */
  private parseComparison(first: ExprNode, firstOp: Token, precedence: number): ExprNode {
    let left = first;
    let op = firstOp;
    let root: ExprNode | undefined;
    for (;;) {
      const right = this.parseExpression(precedence + 1);
      const comparison: ExprNode = { kind: 'binary', pos: op.pos, op: op.value as BinaryOperator, left, right };
      root = root === undefined ? comparison : { kind: 'binary', pos: op.pos, op: '&&', left: root, right: comparison };
      left = right;
      if (!(this.current.kind === 'operator' && COMPARISONS.has(this.current.value))) {
        return root;
      }
      op = this.next();
    }
  }

  private parseConditional(test: ExprNode): ExprNode {
    let node = test;
    while (this.is('operator', '?')) {
      const token = this.next();
      if (this.is('operator', ':')) {
        throw new UnsupportedExpressionError("unsupported operator '?:'", token.pos);
      }
      const consequent = this.parseExpression(0);
      this.expect('operator', ':');
      const alternate = this.parseExpression(0);
      node = { kind: 'conditional', pos: token.pos, test: node, consequent, alternate };
    }
    return node;
  }

  private parsePrimary(): ExprNode {
    const token = this.current;
    if (token.kind === 'operator' && token.value in UNARY) {
      this.next();
      const operand = this.parseExpression(UNARY[token.value]);
      const op = token.value as '!' | 'not' | '-' | '+';
      return this.parsePostfix({ kind: 'unary', pos: token.pos, op, operand });
    }
    if (this.is('bracket', '(')) {
      this.next();
      const inner = this.parseExpression(0);
      this.refuseSequence();
      this.expect('bracket', ')');
      return this.parsePostfix(inner);
    }
    if (this.closureDepth > 0 && this.is('operator', '#')) {
      this.next();
      let name = '';
      if (this.current.kind === 'identifier' && this.current.pos === token.pos + 1) {
        name = this.next().value;
      }
      if (name !== '' && name !== 'index') {
        throw new UnsupportedExpressionError(`unsupported closure variable '#${name}'`, token.pos);
      }
      return this.parsePostfix({ kind: 'pointer', pos: token.pos, name });
    }
    if (this.closureDepth > 0 && this.is('operator', '.')) {
      // `.Field` inside a closure is `#.Field`.
      return this.parsePostfix({ kind: 'pointer', pos: token.pos, name: '' });
    }
    if (this.is('operator', '::')) {
      throw new UnsupportedExpressionError("unsupported operator '::'", token.pos);
    }
    return this.parseSecondary();
  }

  private parseSecondary(): ExprNode {
    const token = this.current;
    switch (token.kind) {
      case 'identifier': {
        this.next();
        if (token.value === 'true' || token.value === 'false') {
          return { kind: 'bool', pos: token.pos, value: token.value === 'true' };
        }
        if (token.value === 'nil') {
          return { kind: 'nil', pos: token.pos };
        }
        if (this.is('bracket', '(')) {
          return this.parsePostfix(this.parseCall(token));
        }
        if (token.value.startsWith('$')) {
          throw new UnsupportedExpressionError(`unsupported variable '${token.value}'`, token.pos);
        }
        return this.parsePostfix({ kind: 'identifier', pos: token.pos, name: token.value });
      }
      case 'number':
        this.next();
        return parseNumber(token);
      case 'string':
        this.next();
        return this.parsePostfix({ kind: 'string', pos: token.pos, value: token.value });
      case 'bracket':
        if (token.value === '[') {
          return this.parsePostfix(this.parseArray());
        }
        if (token.value === '{') {
          return this.parsePostfix(this.parseMap());
        }
        throw this.unexpected();
      case 'operator':
      case 'eof':
        throw this.unexpected();
      default:
        throw this.unexpected();
    }
  }

  private parseCall(name: Token): ExprNode {
    if (OTHER_PREDICATES.has(name.value)) {
      throw new UnsupportedExpressionError(`unsupported function '${name.value}'`, name.pos);
    }
    if (!isClosureBuiltin(name.value)) {
      return { kind: 'call', pos: name.pos, name: name.value, args: this.parseArguments() };
    }
    this.expect('bracket', '(');
    const collection = this.parseExpression(0);
    let predicate: ExprNode | undefined;
    if (!(name.value === 'count' && this.is('bracket', ')'))) {
      this.expect('operator', ',');
      predicate = this.parsePredicate();
    }
    if (this.is('operator', ',')) {
      this.next();
    }
    this.expect('bracket', ')');
    return { kind: 'closure', pos: name.pos, name: name.value, collection, predicate };
  }

  private parsePredicate(): ExprNode {
    const braced = this.is('bracket', '{');
    if (braced) {
      this.next();
    }
    this.closureDepth++;
    const body = this.parseExpression(0);
    this.closureDepth--;
    this.refuseSequence();
    if (braced) {
      this.expect('bracket', '}');
    }
    return body;
  }

  private parseArguments(): ExprNode[] {
    const args: ExprNode[] = [];
    this.expect('bracket', '(');
    while (!this.is('bracket', ')')) {
      if (args.length > 0) {
        this.expect('operator', ',');
        if (this.is('bracket', ')')) {
          break;
        }
      }
      args.push(this.parseExpression(0));
    }
    this.expect('bracket', ')');
    return args;
  }

  private parseArray(): ExprNode {
    const start = this.next();
    const items: ExprNode[] = [];
    while (!this.is('bracket', ']')) {
      if (items.length > 0) {
        this.expect('operator', ',');
        if (this.is('bracket', ']')) {
          break;
        }
      }
      items.push(this.parseExpression(0));
    }
    this.expect('bracket', ']');
    return { kind: 'array', pos: start.pos, items };
  }

  private parseMap(): ExprNode {
    const start = this.next();
    const entries: MapEntry[] = [];
    while (!this.is('bracket', '}')) {
      if (entries.length > 0) {
        this.expect('operator', ',');
        if (this.is('bracket', '}')) {
          break;
        }
      }
      const key = this.current;
      if (this.is('bracket', '(')) {
        throw new UnsupportedExpressionError('unsupported computed map key', key.pos);
      }
      if (key.kind !== 'string' && key.kind !== 'identifier' && key.kind !== 'number') {
        throw this.unexpected();
      }
      this.next();
      this.expect('operator', ':');
      entries.push({ key: key.value, value: this.parseExpression(0) });
    }
    this.expect('bracket', '}');
    return { kind: 'map', pos: start.pos, entries };
  }

  private parsePostfix(start: ExprNode): ExprNode {
    let node = start;
    for (;;) {
      const token = this.current;
      if (this.is('operator', '?.')) {
        throw new UnsupportedExpressionError("unsupported optional chaining '?.'", token.pos);
      }
      if (this.is('operator', '.')) {
        this.next();
        const property = this.next();
        const isName =
          property.kind === 'identifier' || (property.kind === 'operator' && WORD_OPERATORS.has(property.value));
        if (!isName) {
          throw new ExprCompileError('expected name', property.pos);
        }
        if (this.is('bracket', '(')) {
          node = { kind: 'method', pos: property.pos, object: node, name: property.value, args: this.parseArguments() };
        } else {
          const name: ExprNode = { kind: 'string', pos: property.pos, value: property.value };
          node = { kind: 'member', pos: property.pos, object: node, property: name, dotted: true };
        }
      } else if (this.is('bracket', '[')) {
        this.next();
        if (this.is('operator', ':')) {
          throw new UnsupportedExpressionError('unsupported slice', token.pos);
        }
        const property = this.parseExpression(0);
        if (this.is('operator', ':')) {
          throw new UnsupportedExpressionError('unsupported slice', token.pos);
        }
        this.expect('bracket', ']');
        node = { kind: 'member', pos: token.pos, object: node, property, dotted: false };
      } else {
        return node;
      }
    }
  }
}

const MAX_INT64 = 2n ** 63n - 1n;

function parseNumber(token: Token): ExprNode {
  const text = token.value.replace(/_/g, '');
  const lower = text.toLowerCase();
  const radix = /^0[xob]/.test(lower);
  if (!radix && /[.e]/.test(lower)) {
    const value = Number(text);
    if (Number.isNaN(value)) {
      throw new ExprCompileError(`invalid float literal: ${token.value}`, token.pos);
    }
    return { kind: 'float', pos: token.pos, value };
  }
  let value: bigint;
  try {
    value = BigInt(radix ? lower : text);
  } catch {
    throw new ExprCompileError(`invalid integer literal: ${token.value}`, token.pos);
  }
  if (value > MAX_INT64) {
    throw new ExprCompileError('integer literal is too large', token.pos);
  }
  return { kind: 'int', pos: token.pos, value };
}
