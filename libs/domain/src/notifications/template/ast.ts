// The parse tree of Go's text/template (text/template/parse/node.go), reduced to what the executor needs.
// Every node keeps its offset in the source, for Go's `template: :LINE:COL:` error locations, and its source text,
// for the `at <…>` part of execution errors.

export interface Located {
  readonly pos: number;
  readonly source: string;
}

export type ListNode = readonly TemplateNode[];

export type TemplateNode =
  | ({ readonly kind: 'text'; readonly text: string } & Located)
  | ({ readonly kind: 'action'; readonly pipe: PipeNode } & Located)
  | ControlNode
  | ({ readonly kind: 'break' | 'continue' } & Located);

/** {{if}}, {{with}} and {{range}}, with their {{else}} branch. */
export interface ControlNode extends Located {
  readonly kind: 'if' | 'with' | 'range';
  readonly pipe: PipeNode;
  readonly list: ListNode;
  readonly elseList?: ListNode;
}

/** `$x := a | b c`: declared (or assigned) variables, then the commands joined by `|`. */
export interface PipeNode extends Located {
  readonly kind: 'pipe';
  readonly decl: readonly string[];
  readonly isAssign: boolean;
  readonly cmds: readonly CommandNode[];
}

/** One stage of a pipeline: an operand, then its arguments when it is a function or a method. */
export interface CommandNode extends Located {
  readonly args: readonly ArgNode[];
}

export type ArgNode =
  | ({ readonly kind: 'dot' | 'nil' } & Located)
  | ({ readonly kind: 'bool'; readonly value: boolean } & Located)
  | ({ readonly kind: 'string'; readonly text: string } & Located)
  | ({ readonly kind: 'number' } & NumberValue & Located)
  | ({ readonly kind: 'identifier'; readonly name: string } & Located)
  /** `.A.B`: fields (or methods) of dot. */
  | ({ readonly kind: 'field'; readonly fields: readonly string[] } & Located)
  /** `$x.A.B`: `name` is `$x` (or `$`). */
  | ({ readonly kind: 'variable'; readonly name: string; readonly fields: readonly string[] } & Located)
  /** `(pipeline).A.B`. */
  | ({ readonly kind: 'chain'; readonly node: ArgNode; readonly fields: readonly string[] } & Located)
  | PipeNode;

/** A number constant as parse.NumberNode holds it: the int and float readings that succeeded. */
export interface NumberValue {
  readonly text: string;
  readonly int?: bigint;
  readonly float?: number;
  /** A character constant (`'a'`): an integer, never a float, whatever letters it holds. */
  readonly isChar: boolean;
}
