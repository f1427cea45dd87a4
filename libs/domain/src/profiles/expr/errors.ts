import { DomainError } from '../../shared/errors';

/** An expression that expr-lang itself would refuse to compile: bad syntax, or operands of the wrong types. */
export class ExprCompileError extends DomainError {
  readonly code: 'EXPR.COMPILE' | 'EXPR.UNSUPPORTED' = 'EXPR.COMPILE';
  constructor(
    message: string,
    /** 0-based offset in the source where the problem was found. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/** Valid expr-lang that this evaluator does not implement (a function, field, operator or syntax outside the subset). */
export class UnsupportedExpressionError extends ExprCompileError {
  override readonly code = 'EXPR.UNSUPPORTED';
}

/** An evaluation failure: the errors expr-lang's VM raises at run time (type mismatch, index out of range, …). */
export class ExprRuntimeError extends DomainError {
  readonly code = 'EXPR.RUNTIME';
}
