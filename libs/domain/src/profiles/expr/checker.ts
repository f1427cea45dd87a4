import type { ExprNode } from './ast';
import { BUILTINS, EXPR_LANG_BUILTINS } from './builtins';
import { ExprCompileError, UnsupportedExpressionError } from './errors';
import { compileRe2, Re2SyntaxError } from './re2';
import { DURATION_METHODS, T, typeName, type ExprSchema, type ExprType, type Signature } from './types';

/**
 * The static half of expr-lang's compile step (checker/checker.go): resolves every name against the schema and types
 * every operation, so that what CrowdSec refuses at start-up is refused here too. Returns the expression's type.
 */
export function checkExpr(node: ExprNode, schema: ExprSchema): ExprType {
  return new Checker(schema).visit(node);
}

const isNumber = (t: ExprType) => t.kind === 'int' || t.kind === 'float';
const isUnknown = (t: ExprType) => t.kind === 'unknown';
const oneOf = (t: ExprType, ...kinds: ExprType['kind'][]) => kinds.includes(t.kind);

function sameType(a: ExprType, b: ExprType): boolean {
  if (a.kind !== b.kind) {
    return false;
  }
  if ((a.kind === 'array' || a.kind === 'map') && (b.kind === 'array' || b.kind === 'map')) {
    return sameType(a.of, b.of);
  }
  if (a.kind === 'struct' && b.kind === 'struct') {
    return a.schema === b.schema;
  }
  return true;
}

/** Can a value of type `from` be passed where `to` is expected (Go assignability, with unknown as interface{}). */
function assignable(from: ExprType, to: ExprType): boolean {
  if (isUnknown(to) || isUnknown(from)) {
    return true;
  }
  if (from.kind === 'nil') {
    return oneOf(to, 'array', 'map', 'struct');
  }
  return sameType(from, to);
}

/** checker/nature ComparableTo: what `==` accepts. */
function comparable(a: ExprType, b: ExprType): boolean {
  return (
    isUnknown(a) ||
    isUnknown(b) ||
    a.kind === 'nil' ||
    b.kind === 'nil' ||
    (isNumber(a) && isNumber(b)) ||
    (a.kind === 'array' && b.kind === 'array') ||
    sameType(a, b)
  );
}

/** One side unknown and the other of an acceptable kind (nature MaybeCompatible). */
const maybe = (a: ExprType, b: ExprType, ...kinds: ExprType['kind'][]) =>
  (isUnknown(a) && isUnknown(b)) || (isUnknown(a) && oneOf(b, ...kinds)) || (isUnknown(b) && oneOf(a, ...kinds));

const promote = (a: ExprType, b: ExprType): ExprType =>
  isUnknown(a) || isUnknown(b) ? T.unknown : a.kind === 'float' || b.kind === 'float' ? T.float : T.int;

class Checker {
  private readonly closures: ExprType[] = [];

  constructor(private readonly schema: ExprSchema) {}

  visit(node: ExprNode): ExprType {
    switch (node.kind) {
      case 'nil':
        return T.nil;
      case 'bool':
        return T.bool;
      case 'int':
        return T.int;
      case 'float':
        return T.float;
      case 'string':
        return T.string;
      case 'array': {
        const items = node.items.map((item) => this.visit(item));
        const first = items[0] as ExprType | undefined;
        return T.array(first !== undefined && items.every((t) => sameType(t, first)) ? first : T.unknown);
      }
      case 'map':
        node.entries.forEach((entry) => this.visit(entry.value));
        return T.map(T.unknown);
      case 'identifier': {
        const type = this.schema.variables[node.name] as ExprType | undefined;
        if (type === undefined) {
          throw new UnsupportedExpressionError(`unknown variable '${node.name}'`, node.pos);
        }
        return type;
      }
      case 'pointer': {
        const element = this.closures.at(-1);
        if (element === undefined) {
          throw new ExprCompileError("'#' outside of a closure", node.pos);
        }
        return node.name === 'index' ? T.int : element;
      }
      case 'member':
        return this.member(node);
      case 'method':
        return this.method(node);
      case 'call':
        return this.call(node);
      case 'closure':
        return this.closure(node);
      case 'unary':
        return this.unary(node);
      case 'binary':
        return this.binary(node);
      case 'conditional': {
        const test = this.visit(node.test);
        if (!oneOf(test, 'bool', 'unknown')) {
          throw new ExprCompileError(`non-bool expression (type ${typeName(test)}) used as condition`, node.pos);
        }
        const a = this.visit(node.consequent);
        const b = this.visit(node.alternate);
        return sameType(a, b) ? a : T.unknown;
      }
      default:
        throw new ExprCompileError('unexpected node');
    }
  }

  private member(node: Extract<ExprNode, { kind: 'member' }>): ExprType {
    const object = this.visit(node.object);
    const property = this.visit(node.property);
    const name = node.property.kind === 'string' ? node.property.value : undefined;
    switch (object.kind) {
      case 'unknown':
        return T.unknown;
      case 'struct': {
        if (name === undefined) {
          if (!oneOf(property, 'string', 'unknown')) {
            throw new ExprCompileError(`cannot use ${typeName(property)} to get a field of ${object.schema.goType}`);
          }
          return T.unknown;
        }
        const field = object.schema.fields[name] as ExprType | undefined;
        if (field === undefined) {
          throw new UnsupportedExpressionError(
            `${object.schema.unsupported?.includes(name) ? 'unsupported' : 'unknown'} field '${this.describe(node.object, object.schema.name)}.${name}'`,
            node.pos,
          );
        }
        return field;
      }
      case 'map':
        if (!oneOf(property, 'string', 'unknown')) {
          throw new ExprCompileError(`cannot use ${typeName(property)} to get an element from ${typeName(object)}`);
        }
        return object.of;
      case 'array':
        if (!node.dotted && oneOf(property, 'int', 'unknown')) {
          return object.of;
        }
        throw new ExprCompileError(
          node.dotted
            ? `type ${typeName(object)} has no field ${name}`
            : `array elements can only be selected using an integer (got ${typeName(property)})`,
          node.pos,
        );
      case 'string':
        if (!node.dotted) {
          throw new UnsupportedExpressionError('unsupported indexing of a string', node.pos);
        }
        throw new ExprCompileError(`type string has no field ${name}`, node.pos);
      default:
        throw new ExprCompileError(`type ${typeName(object)} has no field ${name ?? '[…]'}`, node.pos);
    }
  }

  private method(node: Extract<ExprNode, { kind: 'method' }>): ExprType {
    const object = this.visit(node.object);
    const args = node.args.map((arg) => this.visit(arg));
    if (object.kind === 'unknown') {
      return T.unknown;
    }
    let signature: Signature | undefined;
    if (object.kind === 'struct') {
      signature = object.schema.methods[node.name];
      if (signature === undefined) {
        throw new UnsupportedExpressionError(
          `${object.schema.unsupported?.includes(node.name) ? 'unsupported' : 'unknown'} method '${this.describe(node.object, object.schema.name)}.${node.name}'`,
          node.pos,
        );
      }
    } else if (object.kind === 'duration') {
      signature = DURATION_METHODS[node.name]?.signature;
      if (signature === undefined) {
        throw new UnsupportedExpressionError(`unsupported method 'time.Duration.${node.name}'`, node.pos);
      }
    } else {
      throw new ExprCompileError(`type ${typeName(object)} has no method ${node.name}`, node.pos);
    }
    return this.arguments(node.name, signature, args, node.pos);
  }

  private call(node: Extract<ExprNode, { kind: 'call' }>): ExprType {
    const args = node.args.map((arg) => this.visit(arg));
    const fn = this.schema.functions[node.name] as Signature | undefined;
    if (fn !== undefined) {
      return this.arguments(node.name, fn, args, node.pos);
    }
    const builtin = BUILTINS[node.name] as (typeof BUILTINS)[string] | undefined;
    if (builtin !== undefined) {
      return builtin.check(args, node.pos);
    }
    const known = EXPR_LANG_BUILTINS.has(node.name) ? 'expr-lang builtin' : 'function';
    throw new UnsupportedExpressionError(`unsupported ${known} '${node.name}'`, node.pos);
  }

  private arguments(name: string, signature: Signature, args: readonly ExprType[], pos: number): ExprType {
    if (args.length < signature.params.length) {
      throw new ExprCompileError(`not enough arguments to call ${name}`, pos);
    }
    if (args.length > signature.params.length && signature.variadic === undefined) {
      throw new ExprCompileError(`too many arguments to call ${name}`, pos);
    }
    args.forEach((arg, i) => {
      const param = signature.params[i] ?? signature.variadic ?? T.unknown;
      if (!assignable(arg, param)) {
        throw new ExprCompileError(
          `cannot use ${typeName(arg)} as argument (type ${typeName(param)}) to call ${name}`,
          pos,
        );
      }
    });
    return signature.result;
  }

  private closure(node: Extract<ExprNode, { kind: 'closure' }>): ExprType {
    const collection = this.visit(node.collection);
    if (!oneOf(collection, 'array', 'unknown')) {
      throw new ExprCompileError(`builtin ${node.name} takes only array (got ${typeName(collection)})`, node.pos);
    }
    if (node.predicate === undefined) {
      return T.int;
    }
    const element = collection.kind === 'array' ? collection.of : T.unknown;
    this.closures.push(element);
    const result = this.visit(node.predicate);
    this.closures.pop();
    if (node.name === 'map') {
      return T.array(result);
    }
    if (!oneOf(result, 'bool', 'unknown')) {
      throw new ExprCompileError(`predicate should return boolean (got ${typeName(result)})`, node.pos);
    }
    switch (node.name) {
      case 'filter':
        return T.array(element);
      case 'count':
        return T.int;
      default:
        return T.bool;
    }
  }

  private unary(node: Extract<ExprNode, { kind: 'unary' }>): ExprType {
    const operand = this.visit(node.operand);
    if (node.op === '!' || node.op === 'not') {
      if (oneOf(operand, 'bool', 'unknown')) {
        return T.bool;
      }
    } else if (oneOf(operand, 'int', 'float', 'unknown')) {
      return operand;
    }
    throw new ExprCompileError(`invalid operation: ${node.op} (mismatched type ${typeName(operand)})`, node.pos);
  }

  private binary(node: Extract<ExprNode, { kind: 'binary' }>): ExprType {
    const l = this.visit(node.left);
    const r = this.visit(node.right);
    const result = this.binaryType(node, l, r);
    if (result === undefined) {
      throw new ExprCompileError(
        `invalid operation: ${node.op} (mismatched types ${typeName(l)} and ${typeName(r)})`,
        node.pos,
      );
    }
    return result;
  }

  // Mirrors checker.binaryNode of expr-lang v1.17, case by case.
  private binaryType(node: Extract<ExprNode, { kind: 'binary' }>, l: ExprType, r: ExprType): ExprType | undefined {
    const both = (...kinds: ExprType['kind'][]) => oneOf(l, ...kinds) && oneOf(r, ...kinds);
    switch (node.op) {
      case '==':
      case '!=':
        return comparable(l, r) ? T.bool : undefined;
      case 'or':
      case '||':
      case 'and':
      case '&&':
        return both('bool') || maybe(l, r, 'bool') ? T.bool : undefined;
      case '<':
      case '>':
      case '<=':
      case '>=':
        return (isNumber(l) && isNumber(r)) ||
          both('string') ||
          both('duration') ||
          maybe(l, r, 'int', 'float', 'string', 'duration')
          ? T.bool
          : undefined;
      case '-':
        if (isNumber(l) && isNumber(r)) {
          return promote(l, r);
        }
        return both('duration') ? T.duration : maybe(l, r, 'int', 'float', 'duration') ? T.unknown : undefined;
      case '*':
        if (isNumber(l) && isNumber(r)) {
          return promote(l, r);
        }
        if ((l.kind === 'int' && r.kind === 'duration') || (l.kind === 'duration' && r.kind === 'int')) {
          return T.duration;
        }
        if (both('duration')) {
          return T.duration;
        }
        // Go's checker calls duration × float a duration, but the VM returns a float64: leave it open.
        return both('float', 'duration') || maybe(l, r, 'int', 'float', 'duration') ? T.unknown : undefined;
      case '/':
        return (isNumber(l) && isNumber(r)) || maybe(l, r, 'int', 'float') ? T.float : undefined;
      case '**':
      case '^':
        return (isNumber(l) && isNumber(r)) || maybe(l, r, 'int', 'float') ? T.float : undefined;
      case '%':
        return both('int') || maybe(l, r, 'int') ? T.int : undefined;
      case '+':
        if (isNumber(l) && isNumber(r)) {
          return promote(l, r);
        }
        if (both('string')) {
          return T.string;
        }
        if (both('duration')) {
          return T.duration;
        }
        return maybe(l, r, 'int', 'float', 'string', 'duration') ? T.unknown : undefined;
      case 'in':
        return this.inType(node, l, r);
      case 'matches':
        if (node.right.kind === 'string') {
          this.checkRegexp(node.right.value, node.right.pos);
        }
        return both('string') || maybe(l, r, 'string') ? T.bool : undefined;
      case 'contains':
      case 'startsWith':
      case 'endsWith':
        return both('string') || maybe(l, r, 'string') ? T.bool : undefined;
      default:
        return undefined;
    }
  }

  private inType(node: ExprNode, l: ExprType, r: ExprType): ExprType | undefined {
    if (oneOf(l, 'string', 'unknown') && r.kind === 'struct') {
      return T.bool;
    }
    if (r.kind === 'map') {
      if (!isUnknown(l) && !assignable(l, T.string)) {
        throw new ExprCompileError(`cannot use ${typeName(l)} as type string in map key`, node.pos);
      }
      return T.bool;
    }
    if (r.kind === 'array') {
      if (!comparable(l, r.of)) {
        throw new ExprCompileError(`cannot use ${typeName(l)} as type ${typeName(r.of)} in array`, node.pos);
      }
      return T.bool;
    }
    if ((isUnknown(l) && oneOf(r, 'string', 'array', 'map')) || isUnknown(r)) {
      return T.bool;
    }
    return undefined;
  }

  private checkRegexp(pattern: string, pos: number): void {
    try {
      compileRe2(pattern);
    } catch (e) {
      if (e instanceof Re2SyntaxError) {
        throw new ExprCompileError(e.message, pos);
      }
      throw e;
    }
  }

  /** `Alert.Source` for a path of plain names, otherwise the struct's short name (`Event` for `#`). */
  private describe(node: ExprNode, fallback: string): string {
    if (node.kind === 'identifier') {
      return node.name;
    }
    if (node.kind === 'member' && node.dotted && node.property.kind === 'string') {
      const parent = this.describe(node.object, '');
      return parent === '' ? fallback : `${parent}.${node.property.value}`;
    }
    return fallback;
  }
}
