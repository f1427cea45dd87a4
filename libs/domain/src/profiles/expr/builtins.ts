import { parseGoDuration } from '../../shared/go-duration';
import { ExprCompileError, ExprRuntimeError } from './errors';
import { goSprint } from './go-fmt';
import { goTypeOf, isFloat, isInt, length, wrapInt } from './runtime';
import { GoDuration, T, typeName, type ExprType } from './types';

/** A non-closure builtin of expr-lang: its static check and its evaluation. */
interface Builtin {
  readonly check: (args: readonly ExprType[], pos: number) => ExprType;
  readonly run: (args: readonly unknown[]) => unknown;
}

const arity = (name: string, args: readonly ExprType[], pos: number, n: number) => {
  if (args.length !== n) {
    throw new ExprCompileError(`invalid number of arguments for ${name} (expected ${n}, got ${args.length})`, pos);
  }
};

const accepting =
  (name: string, kinds: readonly ExprType['kind'][], result: (arg: ExprType) => ExprType) =>
  (args: readonly ExprType[], pos: number): ExprType => {
    arity(name, args, pos, 1);
    if (args[0].kind !== 'unknown' && !kinds.includes(args[0].kind)) {
      throw new ExprCompileError(`invalid argument for ${name} (type ${typeName(args[0])})`, pos);
    }
    return result(args[0]);
  };

const runtimeFail = (message: string) => new ExprRuntimeError(message);

/** The expr-lang builtins kept in the subset (builtin/builtin.go), besides the closures any/all/none/one/filter/map/count. */
export const BUILTINS: Readonly<Record<string, Builtin>> = {
  len: {
    check: accepting('len', ['array', 'map', 'string'], () => T.int),
    run: ([v]) => length(v),
  },
  duration: {
    check: accepting('duration', ['string'], () => T.duration),
    run: ([v]) => {
      const text = String(v);
      // time.ParseDuration: no days unit, unlike the profile durations.
      const ns = text.includes('d') ? null : parseGoDuration(text);
      if (ns === null) {
        throw runtimeFail(`time: invalid duration "${text}"`);
      }
      return new GoDuration(ns);
    },
  },
  int: {
    check: accepting('int', ['int', 'float', 'string'], () => T.int),
    run: ([v]) => {
      if (isInt(v)) {
        return v;
      }
      if (isFloat(v) && Number.isFinite(v)) {
        return wrapInt(BigInt(Math.trunc(v)));
      }
      if (typeof v === 'string' && /^[+-]?\d+$/.test(v)) {
        return BigInt(v);
      }
      throw runtimeFail(`invalid operation: int(${typeof v === 'string' ? v : goTypeOf(v)})`);
    },
  },
  float: {
    check: accepting('float', ['int', 'float', 'string'], () => T.float),
    run: ([v]) => {
      if (isInt(v) || isFloat(v)) {
        return Number(v);
      }
      const parsed = typeof v === 'string' ? parseGoFloat(v) : null;
      if (parsed === null) {
        throw runtimeFail(`invalid operation: float(${typeof v === 'string' ? v : goTypeOf(v)})`);
      }
      return parsed;
    },
  },
  string: {
    check: (args, pos) => {
      arity('string', args, pos, 1);
      return T.string;
    },
    run: ([v]) => goSprint(v),
  },
  upper: {
    check: accepting('upper', ['string'], () => T.string),
    run: ([v]) => String(v).toUpperCase(),
  },
  lower: {
    check: accepting('lower', ['string'], () => T.string),
    run: ([v]) => String(v).toLowerCase(),
  },
  abs: {
    check: accepting('abs', ['int', 'float'], (arg) => arg),
    run: ([v]) => {
      if (isInt(v)) {
        return v < 0n ? wrapInt(-v) : v;
      }
      if (isFloat(v)) {
        return Math.abs(v);
      }
      throw runtimeFail(`invalid argument for abs (type ${goTypeOf(v)})`);
    },
  },
};

// All builtins of expr-lang v1.17: the ones above are implemented, calling another one is "unsupported", not "unknown".
export const EXPR_LANG_BUILTINS = new Set(
  (
    'all none any one filter map find findIndex findLast findLastIndex count sum groupBy sortBy reduce len type abs ' +
    'ceil floor round int float string trim trimPrefix trimSuffix upper lower split splitAfter replace repeat join ' +
    'indexOf lastIndexOf hasPrefix hasSuffix max min mean median toJSON fromJSON toBase64 fromBase64 now duration ' +
    'date timezone first last get take keys values toPairs fromPairs reverse uniq concat flatten sort bitand bitor ' +
    'bitxor bitnand bitnot bitshl bitshr bitushr'
  ).split(' '),
);

/** strconv.ParseFloat(s, 64): decimal or hex floats, `inf`, `nan`, underscores only between digits with a base prefix. */
export function parseGoFloat(text: string): number | null {
  const s = text.toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(s)) {
    return s.startsWith('-') ? -Infinity : Infinity;
  }
  if (s === 'nan') {
    return NaN;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s)) {
    return null;
  }
  return Number(s);
}
