import { goSprint } from '../../profiles/expr/go-fmt';

// Go values as text/template sees them through reflection. The kinds that change what a template does are kept:
// pointers (truth is "not nil", `eq` refuses them, functions with typed parameters dereference them), named integer
// types (an int64 is not assignable to an int parameter), float32 (printed with its own shortest digits), nil
// slices (JSON null) and structs with their JSON tags.

/** A Go integer of a type other than `int` (plain bigints are `int`). */
export class GoInt {
  constructor(
    readonly type: 'int8' | 'int16' | 'int32' | 'int64' | 'uint' | 'uint8' | 'uint16' | 'uint32' | 'uint64',
    readonly value: bigint,
  ) {}
}

export class GoFloat32 {
  readonly value: number;
  constructor(value: number) {
    this.value = Math.fround(value);
  }
}

/** A pointer; `target` undefined is a nil pointer. `elem` is the Go type pointed to (`string`, `models.Source`). */
export class GoPtr {
  constructor(
    readonly elem: string,
    readonly target: GoValue | undefined,
  ) {}
}

/** A slice; `items` null is a nil slice. `name` is a named slice type (`models.Meta`). */
export class GoSlice {
  constructor(
    readonly elem: string,
    readonly items: readonly GoValue[] | null,
    readonly name?: string,
  ) {}

  get length(): number {
    return this.items?.length ?? 0;
  }
}

export interface StructField {
  readonly name: string;
  /** The `json:"…"` name. */
  readonly json: string;
  readonly omitempty: boolean;
}

/** A method callable from a template (`.GetMeta "key"`); parameters are typed like function parameters. */
export interface GoMethod {
  readonly params: readonly ParamType[];
  readonly call: (receiver: GoStruct, args: readonly GoValue[]) => GoValue;
}

export interface StructType {
  /** Go's name, for messages and %T: `models.Alert`. */
  readonly name: string;
  readonly fields: readonly StructField[];
  readonly methods?: Readonly<Record<string, GoMethod>>;
  /** fmt.Stringer, when the type has a String method. */
  readonly stringer?: (value: GoStruct) => string;
}

export class GoStruct {
  constructor(
    readonly type: StructType,
    readonly fields: Readonly<Record<string, GoValue>>,
  ) {}
}

/** null is an untyped nil (a nil interface{}); bigint is `int`; number is `float64`. */
export type GoValue = null | string | boolean | bigint | number | GoInt | GoFloat32 | GoPtr | GoSlice | GoStruct;

/**
 * How a function parameter receives its argument, as text/template's evalArg does by the parameter's type: `any` is
 * interface{}, `value` a reflect.Value (builtins); the others are exact Go types.
 */
export type ParamType = 'any' | 'value' | 'string' | 'int' | 'float64' | 'bool' | '*models.Alert';

/** The Go type of a value, as reflect's Type.String() prints it. */
export function goType(v: GoValue): string {
  if (v === null) {
    return '<nil>';
  }
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float64';
    default:
  }
  if (v instanceof GoInt) {
    return v.type;
  }
  if (v instanceof GoFloat32) {
    return 'float32';
  }
  if (v instanceof GoPtr) {
    return `*${v.elem}`;
  }
  if (v instanceof GoSlice) {
    return v.name ?? `[]${v.elem}`;
  }
  return v.type.name;
}

export type BasicKind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid';

/** text/template's basicKind: the comparison class of a value (pointers, slices and structs are `invalid`). */
export function basicKind(v: GoValue): BasicKind {
  if (typeof v === 'boolean') {
    return 'bool';
  }
  if (typeof v === 'bigint') {
    return 'int';
  }
  if (v instanceof GoInt) {
    return v.type.startsWith('u') ? 'uint' : 'int';
  }
  if (typeof v === 'number' || v instanceof GoFloat32) {
    return 'float';
  }
  return typeof v === 'string' ? 'string' : 'invalid';
}

/** The integer in an int or uint kind value. */
export const intValue = (v: GoValue): bigint => (v instanceof GoInt ? v.value : (v as bigint));
export const floatValue = (v: GoValue): number => (v instanceof GoFloat32 ? v.value : (v as number));

/** text/template's isTrue: the truth of `if`, `with`, `not`, `and`, `or`. Pointers are true when not nil. */
export function isTrue(v: GoValue): boolean {
  if (v === null) {
    return false;
  }
  switch (basicKind(v)) {
    case 'bool':
      return v as boolean;
    case 'int':
    case 'uint':
      return intValue(v) !== 0n;
    case 'float':
      return floatValue(v) !== 0;
    case 'string':
      return (v as string).length > 0;
    default:
  }
  if (v instanceof GoPtr) {
    return v.target !== undefined;
  }
  if (v instanceof GoSlice) {
    return v.length > 0;
  }
  return true; // structs
}

/** reflect's indirect through pointers: the value pointed to, or the nil pointer itself. */
export function indirect(v: GoValue): { value: GoValue; isNil: boolean } {
  let value = v;
  while (value instanceof GoPtr) {
    if (value.target === undefined) {
      return { value, isNil: true };
    }
    value = value.target;
  }
  return { value, isNil: false };
}

/** The error of printing values whose Go output is a memory address. */
export class UnprintableError extends Error {}

/**
 * fmt's %v of one value, for {{…}} output (after text/template's printableValue, which follows one pointer) and for
 * print/println. Go prints the address of a pointer met anywhere else: refused, since the output would be noise.
 */
export function formatValue(v: GoValue, topLevel = true): string {
  let value = v;
  if (topLevel && value instanceof GoPtr) {
    if (value.target === undefined) {
      return '<nil>';
    }
    if (value.target instanceof GoStruct && value.target.type.stringer) {
      return value.target.type.stringer(value.target);
    }
    value = value.target;
  }
  if (value === null) {
    return '<nil>';
  }
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'number':
      return goSprint(value);
    default:
  }
  if (value instanceof GoInt) {
    return String(value.value);
  }
  if (value instanceof GoFloat32) {
    return goSprint(float32AsFloat64(value.value));
  }
  if (value instanceof GoPtr) {
    if (value.target === undefined) {
      return '<nil>';
    }
    throw new UnprintableError(`can't print a value of type ${goType(value)}: Go prints its memory address`);
  }
  if (value instanceof GoSlice) {
    return `[${(value.items ?? []).map((item) => formatValue(item, false)).join(' ')}]`;
  }
  return `{${value.type.fields.map((f) => formatValue(value.fields[f.name], false)).join(' ')}}`;
}

/** The float64 whose shortest digits are the float32's shortest digits (what Go prints for a float32). */
export function float32AsFloat64(f: number): number {
  if (!Number.isFinite(f) || f === 0) {
    return f;
  }
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(f.toPrecision(precision));
    if (Math.fround(candidate) === f) {
      return candidate;
    }
  }
  return f;
}

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function goSprintValues(args: readonly GoValue[]): string {
  let out = '';
  args.forEach((arg, i) => {
    if (i > 0 && typeof arg !== 'string' && typeof args[i - 1] !== 'string') {
      out += ' ';
    }
    out += formatValue(arg, false);
  });
  return out;
}

/** fmt.Sprintln: operands always separated by a space, then a newline. */
export const goSprintlnValues = (args: readonly GoValue[]): string =>
  `${args.map((arg) => formatValue(arg, false)).join(' ')}\n`;

/** A value as the expr-language formatter (go-fmt.ts) takes it: bigint ints, number floats, arrays. */
export function toFmtArg(v: GoValue): unknown {
  if (v instanceof GoInt) {
    return v.value;
  }
  if (v instanceof GoFloat32) {
    return float32AsFloat64(v.value);
  }
  if (v instanceof GoSlice) {
    return (v.items ?? []).map(toFmtArg);
  }
  if (v instanceof GoPtr || v instanceof GoStruct) {
    if (v instanceof GoPtr && v.target === undefined) {
      return null;
    }
    throw new UnprintableError(`can't format a value of type ${goType(v)}: Go prints its memory address`);
  }
  return v;
}
