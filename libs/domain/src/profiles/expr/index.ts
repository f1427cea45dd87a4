import type { ExprNode } from './ast';
import { checkExpr } from './checker';
import { evaluateExpr } from './evaluate';
import { parseExpr } from './parser';
import type { ExprEnv, ExprSchema, ExprType } from './types';

export type { ExprNode } from './ast';
export { ExprCompileError, ExprRuntimeError, UnsupportedExpressionError } from './errors';
export { goSprint, goSprintf } from './go-fmt';
export { goTypeOf } from './runtime';
export { GoDuration, StructValue, T, typeName } from './types';
export type { ExprEnv, ExprSchema, ExprType, RuntimeFunction, Signature, StructSchema } from './types';
export { checkExpr, evaluateExpr, parseExpr };

/** An expression parsed and checked against a schema, ready to run against environments of that schema. */
export interface CompiledExpr {
  readonly source: string;
  readonly ast: ExprNode;
  /** The static type the checker inferred (`unknown` when it depends on run-time values). */
  readonly type: ExprType;
}

/**
 * expr.Compile for the supported subset: parses and type-checks, throwing {@link ExprCompileError} (or its subclass
 * {@link UnsupportedExpressionError}) for anything CrowdSec would refuse or this evaluator does not implement.
 */
export function compileExpr(source: string, schema: ExprSchema): CompiledExpr {
  const ast = parseExpr(source);
  return { source, ast, type: checkExpr(ast, schema) };
}

/** expr.Run: evaluates a compiled expression; failures are {@link ExprRuntimeError}s. */
export const runExpr = (expr: CompiledExpr, env: ExprEnv): Promise<unknown> => evaluateExpr(expr.ast, env);
