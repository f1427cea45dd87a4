import type { ExprNode } from './ast';
import { BUILTINS } from './builtins';
import { ExprRuntimeError } from './errors';
import { compileRe2, Re2SyntaxError } from './re2';
import { arithmetic, asBool, asString, compare, contains, equal, fetch, goTypeOf, negate } from './runtime';
import { DURATION_METHODS, GoDuration, StructValue, type ExprEnv } from './types';

interface Scope {
  readonly element: unknown;
  readonly index: number;
}

/**
 * Evaluates a parsed (and normally checked) expression. Asynchronous because environment functions may query a
 * database. Failures are {@link ExprRuntimeError}s, like the errors expr-lang's VM returns from `expr.Run`.
 */
export async function evaluateExpr(node: ExprNode, env: ExprEnv): Promise<unknown> {
  return new Evaluator(env).eval(node, []);
}

class Evaluator {
  constructor(private readonly env: ExprEnv) {}

  async eval(node: ExprNode, scopes: readonly Scope[]): Promise<unknown> {
    switch (node.kind) {
      case 'nil':
        return null;
      case 'bool':
      case 'int':
      case 'float':
      case 'string':
        return node.value;
      case 'array': {
        const items: unknown[] = [];
        for (const item of node.items) {
          items.push(await this.eval(item, scopes));
        }
        return items;
      }
      case 'map': {
        const map = new Map<string, unknown>();
        for (const entry of node.entries) {
          map.set(entry.key, await this.eval(entry.value, scopes));
        }
        return map;
      }
      case 'identifier':
        if (!Object.hasOwn(this.env.variables, node.name)) {
          throw new ExprRuntimeError(`unknown name ${node.name}`);
        }
        return this.env.variables[node.name];
      case 'pointer': {
        const scope = scopes.at(-1);
        if (scope === undefined) {
          throw new ExprRuntimeError("'#' outside of a closure");
        }
        return node.name === 'index' ? BigInt(scope.index) : scope.element;
      }
      case 'member':
        return fetch(await this.eval(node.object, scopes), await this.eval(node.property, scopes));
      case 'method':
        return this.method(node, scopes);
      case 'call':
        return this.call(node, scopes);
      case 'closure':
        return this.closure(node, scopes);
      case 'unary': {
        const value = await this.eval(node.operand, scopes);
        switch (node.op) {
          case '!':
          case 'not':
            return !asBool(value, node.op);
          case '-':
            return negate(value);
          case '+':
            if (typeof value !== 'bigint' && typeof value !== 'number') {
              throw new ExprRuntimeError(`invalid operation: + ${goTypeOf(value)}`);
            }
            return value;
          default:
            throw new ExprRuntimeError('unknown unary operator');
        }
      }
      case 'binary':
        return this.binary(node, scopes);
      case 'conditional':
        return asBool(await this.eval(node.test, scopes), '?:')
          ? this.eval(node.consequent, scopes)
          : this.eval(node.alternate, scopes);
      default:
        throw new ExprRuntimeError('unknown expression node');
    }
  }

  private async args(nodes: readonly ExprNode[], scopes: readonly Scope[]): Promise<unknown[]> {
    const values: unknown[] = [];
    for (const node of nodes) {
      values.push(await this.eval(node, scopes));
    }
    return values;
  }

  private async method(node: Extract<ExprNode, { kind: 'method' }>, scopes: readonly Scope[]): Promise<unknown> {
    const object = await this.eval(node.object, scopes);
    const args = await this.args(node.args, scopes);
    if (object instanceof StructValue && Object.hasOwn(object.methods, node.name)) {
      return object.methods[node.name](args);
    }
    if (object instanceof GoDuration && Object.hasOwn(DURATION_METHODS, node.name)) {
      return DURATION_METHODS[node.name].run(object);
    }
    throw new ExprRuntimeError(`cannot fetch ${node.name} from ${goTypeOf(object)}`);
  }

  private async call(node: Extract<ExprNode, { kind: 'call' }>, scopes: readonly Scope[]): Promise<unknown> {
    const args = await this.args(node.args, scopes);
    if (Object.hasOwn(this.env.functions, node.name)) {
      return this.env.functions[node.name](args);
    }
    if (Object.hasOwn(BUILTINS, node.name)) {
      return BUILTINS[node.name].run(args);
    }
    throw new ExprRuntimeError(`unknown func ${node.name}`);
  }

  private async closure(node: Extract<ExprNode, { kind: 'closure' }>, scopes: readonly Scope[]): Promise<unknown> {
    const collection = await this.eval(node.collection, scopes);
    if (!Array.isArray(collection)) {
      throw new ExprRuntimeError(`builtin ${node.name} takes only array (got ${goTypeOf(collection)})`);
    }
    const items = collection as readonly unknown[];
    const predicate = node.predicate;
    const test = (element: unknown, index: number): Promise<unknown> =>
      predicate === undefined ? Promise.resolve(element) : this.eval(predicate, [...scopes, { element, index }]);
    const truth = async (element: unknown, index: number) => asBool(await test(element, index), node.name);
    switch (node.name) {
      case 'map': {
        const out: unknown[] = [];
        for (const [i, item] of items.entries()) {
          out.push(await test(item, i));
        }
        return out;
      }
      case 'filter': {
        const out: unknown[] = [];
        for (const [i, item] of items.entries()) {
          if (await truth(item, i)) {
            out.push(item);
          }
        }
        return out;
      }
      case 'count': {
        let n = 0n;
        for (const [i, item] of items.entries()) {
          n += (await truth(item, i)) ? 1n : 0n;
        }
        return n;
      }
      case 'any':
        for (const [i, item] of items.entries()) {
          if (await truth(item, i)) {
            return true;
          }
        }
        return false;
      case 'all':
        for (const [i, item] of items.entries()) {
          if (!(await truth(item, i))) {
            return false;
          }
        }
        return true;
      case 'none':
        for (const [i, item] of items.entries()) {
          if (await truth(item, i)) {
            return false;
          }
        }
        return true;
      case 'one': {
        let n = 0;
        for (const [i, item] of items.entries()) {
          n += (await truth(item, i)) ? 1 : 0;
          if (n > 1) {
            return false;
          }
        }
        return n === 1;
      }
      default:
        throw new ExprRuntimeError(`unknown builtin ${String(node.name)}`);
    }
  }

  private async binary(node: Extract<ExprNode, { kind: 'binary' }>, scopes: readonly Scope[]): Promise<unknown> {
    const left = await this.eval(node.left, scopes);
    // `and`/`or` short-circuit: the right side is not evaluated (nor its helpers queried) when the left decides.
    switch (node.op) {
      case 'and':
      case '&&':
        return asBool(left, node.op) && asBool(await this.eval(node.right, scopes), node.op);
      case 'or':
      case '||':
        return asBool(left, node.op) || asBool(await this.eval(node.right, scopes), node.op);
      default:
        break;
    }
    const right = await this.eval(node.right, scopes);
    switch (node.op) {
      case '==':
        return equal(left, right);
      case '!=':
        return !equal(left, right);
      case '<':
        return compare(node.op, left, right) < 0;
      case '>':
        return compare(node.op, left, right) > 0;
      case '<=':
        return compare(node.op, left, right) <= 0;
      case '>=':
        return compare(node.op, left, right) >= 0;
      case 'in':
        return contains(right, left);
      case 'matches':
        return left === null || right === null ? false : matches(asString(left, 'matches'), asString(right, 'matches'));
      case 'contains':
        return left === null || right === null
          ? false
          : asString(left, 'contains').includes(asString(right, 'contains'));
      case 'startsWith':
        return left === null || right === null
          ? false
          : asString(left, 'startsWith').startsWith(asString(right, 'startsWith'));
      case 'endsWith':
        return left === null || right === null
          ? false
          : asString(left, 'endsWith').endsWith(asString(right, 'endsWith'));
      default:
        return arithmetic(node.op, left, right);
    }
  }
}

function matches(text: string, pattern: string): boolean {
  try {
    return compileRe2(pattern).test(text);
  } catch (e) {
    if (e instanceof Re2SyntaxError) {
      throw new ExprRuntimeError(e.message);
    }
    throw e;
  }
}
