import { TemplateExecError } from '../notification.errors';
import type { ArgNode, CommandNode, ControlNode, ListNode, Located, NumberValue, PipeNode, TemplateNode } from './ast';
import { FunctionError, TEMPLATE_FUNCTIONS, type FunctionContext, type TemplateFunction } from './functions';
import { JsonMarshalError } from './json';
import {
  formatValue,
  GoInt,
  GoPtr,
  GoSlice,
  GoStruct,
  goType,
  indirect,
  isTrue,
  UnprintableError,
  type GoMethod,
  type GoValue,
  type ParamType,
} from './values';

// text/template's executor (text/template/exec.go): the same evaluation order, scoping, argument conversions and
// error texts, over the value model of values.ts.

const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;

class ExecFailure extends Error {
  constructor(
    readonly node: Located,
    message: string,
  ) {
    super(message);
  }
}

/** {{break}} and {{continue}} unwind to their {{range}}, as Go's walkBreak and walkContinue panics do. */
class BreakSignal extends Error {}
class ContinueSignal extends Error {}

export function execute(text: string, list: ListNode, data: GoValue, context: FunctionContext): string {
  const state = new State(data, context);
  try {
    state.walkList(data, list);
  } catch (e) {
    if (e instanceof ExecFailure) {
      const before = text.slice(0, e.node.pos);
      const line = before.split('\n').length;
      const column = e.node.pos - (before.lastIndexOf('\n') + 1);
      throw new TemplateExecError(`template: :${line}:${column}: executing "" at <${e.node.source}>: ${e.message}`);
    }
    throw e;
  }
  return state.output.join('');
}

interface Variable {
  readonly name: string;
  value: GoValue;
}

class State {
  readonly output: string[] = [];
  private readonly vars: Variable[];

  constructor(
    data: GoValue,
    private readonly context: FunctionContext,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  walkList(dot: GoValue, list: ListNode): void {
    for (const node of list) {
      this.walk(dot, node);
    }
  }

  private walk(dot: GoValue, node: TemplateNode): void {
    switch (node.kind) {
      case 'text':
        this.output.push(node.text);
        return;
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) {
          this.printValue(node, value);
        }
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        try {
          const value = this.evalPipeline(dot, node.pipe);
          if (isTrue(value)) {
            this.walkList(node.kind === 'with' ? value : dot, node.list);
          } else if (node.elseList) {
            this.walkList(dot, node.elseList);
          }
        } finally {
          this.vars.length = mark;
        }
        return;
      }
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      default:
    }
  }

  private walkRange(dot: GoValue, node: ControlNode): void {
    const mark = this.vars.length;
    try {
      const { value } = indirect(this.evalPipeline(dot, node.pipe));
      const inner = this.vars.length;
      const { decl, isAssign } = node.pipe;
      const iteration = (index: GoValue, elem: GoValue) => {
        if (decl.length > 0) {
          if (isAssign) {
            this.setVar(node, decl[0], decl.length > 1 ? index : elem);
          } else {
            this.vars[this.vars.length - 1].value = elem;
          }
        }
        if (decl.length > 1) {
          if (isAssign) {
            this.setVar(node, decl[1], elem);
          } else {
            this.vars[this.vars.length - 2].value = index;
          }
        }
        try {
          this.walkList(elem, node.list);
        } catch (e) {
          if (!(e instanceof ContinueSignal)) {
            throw e;
          }
        } finally {
          this.vars.length = inner;
        }
      };
      let ran = false;
      try {
        if (value instanceof GoSlice) {
          (value.items ?? []).forEach((item, i) => {
            ran = true;
            iteration(BigInt(i), item);
          });
        } else if (typeof value === 'bigint' || value instanceof GoInt) {
          // Go ≥ 1.22 ranges over an integer: 0 … n-1, of the integer's type.
          if (decl.length > 1) {
            throw new ExecFailure(node.pipe, `can't use ${formatValue(value)} to iterate over more than one variable`);
          }
          const n = typeof value === 'bigint' ? value : value.value;
          for (let i = 0n; i < n; i++) {
            ran = true;
            const v = typeof value === 'bigint' ? i : new GoInt(value.type, i);
            iteration(v, v);
          }
        } else if (value !== null && !(value instanceof GoPtr)) {
          throw new ExecFailure(node.pipe, `range can't iterate over ${describe(value)}`);
        }
      } catch (e) {
        if (e instanceof BreakSignal) {
          return;
        }
        throw e;
      }
      if (!ran && node.elseList) {
        this.walkList(dot, node.elseList);
      }
    } finally {
      this.vars.length = mark;
    }
  }

  private printValue(node: Located, value: GoValue): void {
    if (value === null) {
      this.output.push('<no value>'); // an invalid reflect.Value (a nil interface{} result)
      return;
    }
    try {
      this.output.push(formatValue(value));
    } catch (e) {
      if (e instanceof UnprintableError) {
        throw new ExecFailure(node, e.message);
      }
      throw e;
    }
  }

  private setVar(node: Located, name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    throw new ExecFailure(node, `undefined variable: ${name}`);
  }

  private varValue(node: Located, name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        return this.vars[i].value;
      }
    }
    throw new ExecFailure(node, `undefined variable: ${name}`);
  }

  private evalPipeline(dot: GoValue, pipe: PipeNode): GoValue {
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
    }
    const result = value === MISSING ? null : value;
    for (const name of pipe.decl) {
      if (pipe.isAssign) {
        this.setVar(pipe, name, result);
      } else {
        this.vars.push({ name, value: result });
      }
    }
    return result;
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field':
        return this.evalFieldChain(dot, dot, first, first.fields, cmd, cmd.args, final);
      case 'chain':
        return this.evalChain(dot, first, cmd, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(first, cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariable(dot, first, cmd, cmd.args, final);
      default:
    }
    this.notAFunction(first, cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        throw new ExecFailure(first, 'nil is not a command');
      case 'number':
        return this.idealConstant(first, first);
      case 'string':
        return first.text;
      default:
        throw new ExecFailure(first, `can't evaluate command "${(first as Located).source}"`);
    }
  }

  private notAFunction(node: Located, args: readonly ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) {
      throw new ExecFailure(node, `can't give argument to non-function ${args[0].source}`);
    }
  }

  private idealConstant(node: Located, n: NumberValue): GoValue {
    // A character constant is an int here, like any integer constant (isRuneInt only keeps it from being a float).
    const hexInt = /^[+-]?0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    if (n.float !== undefined && !hexInt && !n.isChar && /[.eEpP]/.test(n.text)) {
      return n.float;
    }
    if (n.int !== undefined) {
      return n.int;
    }
    throw new ExecFailure(node, `${n.text} overflows int`);
  }

  private evalChain(
    dot: GoValue,
    chain: Extract<ArgNode, { kind: 'chain' }>,
    at: Located,
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    if (chain.node.kind === 'nil') {
      throw new ExecFailure(chain, `indirection through explicit nil in ${chain.source}`);
    }
    const receiver = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(dot, receiver, chain, chain.fields, at, args, final);
  }

  private evalVariable(
    dot: GoValue,
    variable: Extract<ArgNode, { kind: 'variable' }>,
    at: Located,
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    const value = this.varValue(variable, variable.name);
    if (variable.fields.length === 0) {
      this.notAFunction(variable, args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, variable, variable.fields, at, args, final);
  }

  private evalFieldChain(
    dot: GoValue,
    receiver: GoValue,
    node: Located,
    fields: readonly string[],
    at: Located,
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    let current = receiver;
    fields.forEach((name, i) => {
      const last = i === fields.length - 1;
      current = this.evalField(dot, name, node, at, last ? args : [], last ? final : MISSING, current);
    });
    return current;
  }

  private evalField(
    dot: GoValue,
    name: string,
    node: Located,
    at: Located,
    args: readonly ArgNode[],
    final: Final,
    receiver: GoValue,
  ): GoValue {
    if (receiver === null) {
      return null; // an invalid receiver gives an invalid value (printed "<no value>")
    }
    const typ = goType(receiver);
    const { value, isNil } = indirect(receiver);
    if (value instanceof GoStruct) {
      const method = value.type.methods?.[name];
      if (method) {
        return this.evalMethod(dot, method, value, node, at, name, args, final);
      }
      if (value.type.fields.some((f) => f.name === name)) {
        if (args.length > 1 || final !== MISSING) {
          throw new ExecFailure(node, `${name} has arguments but cannot be invoked as function`);
        }
        return value.fields[name] ?? null;
      }
    }
    if (isNil) {
      throw new ExecFailure(node, `nil pointer evaluating ${typ}.${name}`);
    }
    throw new ExecFailure(node, `can't evaluate field ${name} in type ${typ}`);
  }

  private evalFunction(
    dot: GoValue,
    node: Extract<ArgNode, { kind: 'identifier' }>,
    at: Located,
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    const fn = TEMPLATE_FUNCTIONS[node.name];
    if (node.name === 'and' || node.name === 'or') {
      return this.evalAndOr(dot, node, args.slice(1), final);
    }
    const argv = this.evalArgs(dot, fn, node, node.name, args.slice(1), final);
    return this.call(at, node.name, () => fn.call(argv, this.context));
  }

  private evalMethod(
    dot: GoValue,
    method: GoMethod,
    receiver: GoStruct,
    node: Located,
    at: Located,
    name: string,
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    const argv = this.evalArgs(dot, { params: method.params, call: () => null }, node, name, args.slice(1), final);
    return this.call(at, name, () => method.call(receiver, argv));
  }

  /** text/template's and/or: the first argument that decides, evaluated lazily (Go ≥ 1.18). */
  private evalAndOr(
    dot: GoValue,
    node: Extract<ArgNode, { kind: 'identifier' }>,
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    const numIn = args.length + (final === MISSING ? 0 : 1);
    if (numIn < 1) {
      throw new ExecFailure(node, `wrong number of args for ${node.name}: want at least 1 got ${args.length}`);
    }
    let value: GoValue = null;
    for (const arg of args) {
      value = this.evalArg(dot, 'value', arg);
      if (isTrue(value) === (node.name === 'or')) {
        return value;
      }
    }
    return final === MISSING ? value : final;
  }

  private evalArgs(
    dot: GoValue,
    fn: TemplateFunction,
    node: Located,
    name: string,
    args: readonly ArgNode[],
    final: Final,
  ): GoValue[] {
    const numIn = args.length + (final === MISSING ? 0 : 1);
    const numFixed = fn.params.length;
    if (fn.variadic !== undefined) {
      if (numIn < numFixed) {
        throw new ExecFailure(node, `wrong number of args for ${name}: want at least ${numFixed} got ${args.length}`);
      }
    } else if (numIn !== numFixed) {
      throw new ExecFailure(node, `wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    const typeAt = (i: number): ParamType => (i < numFixed ? fn.params[i] : (fn.variadic ?? 'any'));
    const argv = args.map((arg, i) => this.evalArg(dot, typeAt(i), arg));
    if (final !== MISSING) {
      argv.push(this.validateType(node, final, typeAt(numIn - 1)));
    }
    return argv;
  }

  private call(at: Located, name: string, run: () => GoValue): GoValue {
    try {
      return run();
    } catch (e) {
      if (e instanceof FunctionError || e instanceof JsonMarshalError) {
        throw new ExecFailure(at, `error calling ${name}: ${e.message}`);
      }
      if (e instanceof UnprintableError) {
        throw new ExecFailure(at, e.message);
      }
      throw e;
    }
  }

  private evalArg(dot: GoValue, typ: ParamType | undefined, node: ArgNode): GoValue {
    switch (node.kind) {
      case 'dot':
        return this.validateType(node, dot, typ);
      case 'nil':
        if (typ === undefined || typ === 'any' || typ === 'value') {
          return null;
        }
        throw new ExecFailure(node, `cannot assign nil to ${typ}`);
      case 'field':
        return this.validateType(node, this.evalFieldChain(dot, dot, node, node.fields, node, [node], MISSING), typ);
      case 'variable':
        return this.validateType(node, this.evalVariable(dot, node, node, [], MISSING), typ);
      case 'pipe':
        return this.validateType(node, this.evalPipeline(dot, node), typ);
      case 'identifier':
        return this.validateType(node, this.evalFunction(dot, node, node, [], MISSING), typ);
      case 'chain':
        return this.validateType(node, this.evalChain(dot, node, node, [], MISSING), typ);
      default:
    }
    switch (typ) {
      case 'bool':
        if (node.kind === 'bool') {
          return node.value;
        }
        throw new ExecFailure(node, `expected bool; found ${node.source}`);
      case 'string':
        if (node.kind === 'string') {
          return node.text;
        }
        throw new ExecFailure(node, `expected string; found ${node.source}`);
      case 'int':
        if (node.kind === 'number' && node.int !== undefined) {
          return node.int;
        }
        throw new ExecFailure(node, `expected integer; found ${node.source}`);
      case 'float64':
        if (node.kind === 'number' && node.float !== undefined) {
          return node.float;
        }
        throw new ExecFailure(node, `expected float; found ${node.source}`);
      case '*models.Alert':
        throw new ExecFailure(node, `can't handle ${node.source} for arg of type ${typ}`);
      default:
    }
    switch (node.kind) {
      case 'bool':
        return node.value;
      case 'string':
        return node.text;
      case 'number':
        return this.idealConstant(node, node);
      default:
        throw new ExecFailure(node, `can't handle ${(node as Located).source} for arg of type interface {}`);
    }
  }

  /** text/template's validateType: exact types for typed parameters, with one pointer dereference allowed. */
  private validateType(node: Located, value: GoValue, typ: ParamType | undefined): GoValue {
    if (typ === undefined || typ === 'any' || typ === 'value') {
      return value;
    }
    if (value === null) {
      throw new ExecFailure(node, `invalid value; expected ${typ}`);
    }
    if (goType(value) === typ) {
      return value;
    }
    if (value instanceof GoStruct && typ === `*${value.type.name}`) {
      return new GoPtr(value.type.name, value); // Go takes the address of an addressable struct
    }
    if (value instanceof GoPtr && value.elem === typ) {
      if (value.target === undefined) {
        throw new ExecFailure(node, `dereference of nil pointer of type ${typ}`);
      }
      return value.target;
    }
    throw new ExecFailure(node, `wrong type for value; expected ${typ}; got ${goType(value)}`);
  }
}

/** A value in a `range can't iterate over …` message: fmt's %v, or its type where Go would print an address. */
function describe(value: GoValue): string {
  try {
    return formatValue(value);
  } catch {
    return goType(value);
  }
}
