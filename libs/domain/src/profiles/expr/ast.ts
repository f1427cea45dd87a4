/** The expr-lang syntax tree, restricted to the subset this evaluator implements. `pos` is a 0-based source offset. */
export type ExprNode =
  | { readonly kind: 'nil'; readonly pos: number }
  | { readonly kind: 'bool'; readonly pos: number; readonly value: boolean }
  | { readonly kind: 'int'; readonly pos: number; readonly value: bigint }
  | { readonly kind: 'float'; readonly pos: number; readonly value: number }
  | { readonly kind: 'string'; readonly pos: number; readonly value: string }
  | { readonly kind: 'array'; readonly pos: number; readonly items: readonly ExprNode[] }
  | { readonly kind: 'map'; readonly pos: number; readonly entries: readonly MapEntry[] }
  | { readonly kind: 'identifier'; readonly pos: number; readonly name: string }
  /** `#` (the current element of a closure) or `#index`. */
  | { readonly kind: 'pointer'; readonly pos: number; readonly name: '' | 'index' }
  /** `a.b` (property is a string node) or `a[expr]`. */
  | {
      readonly kind: 'member';
      readonly pos: number;
      readonly object: ExprNode;
      readonly property: ExprNode;
      readonly dotted: boolean;
    }
  | { readonly kind: 'call'; readonly pos: number; readonly name: string; readonly args: readonly ExprNode[] }
  | {
      readonly kind: 'method';
      readonly pos: number;
      readonly object: ExprNode;
      readonly name: string;
      readonly args: readonly ExprNode[];
    }
  /** A closure builtin (`any(xs, {…})`): `predicate` is absent only for `count(xs)`. */
  | {
      readonly kind: 'closure';
      readonly pos: number;
      readonly name: ClosureBuiltin;
      readonly collection: ExprNode;
      readonly predicate?: ExprNode;
    }
  | { readonly kind: 'unary'; readonly pos: number; readonly op: UnaryOperator; readonly operand: ExprNode }
  | {
      readonly kind: 'binary';
      readonly pos: number;
      readonly op: BinaryOperator;
      readonly left: ExprNode;
      readonly right: ExprNode;
    }
  | {
      readonly kind: 'conditional';
      readonly pos: number;
      readonly test: ExprNode;
      readonly consequent: ExprNode;
      readonly alternate: ExprNode;
    };

export interface MapEntry {
  readonly key: string;
  readonly value: ExprNode;
}

export type UnaryOperator = '!' | 'not' | '-' | '+';

export type BinaryOperator =
  | 'or'
  | '||'
  | 'and'
  | '&&'
  | '=='
  | '!='
  | '<'
  | '>'
  | '<='
  | '>='
  | 'in'
  | 'matches'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '**'
  | '^';

export const CLOSURE_BUILTINS = ['all', 'none', 'any', 'one', 'filter', 'map', 'count'] as const;
export type ClosureBuiltin = (typeof CLOSURE_BUILTINS)[number];
