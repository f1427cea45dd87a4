import { formatGoDuration } from '../../shared/go-duration';

/** Static types of the checker: what expr-lang's checker knows of a value at compile time. */
export type ExprType =
  | { readonly kind: 'unknown' | 'nil' | 'bool' | 'int' | 'float' | 'string' | 'duration' }
  | { readonly kind: 'array' | 'map'; readonly of: ExprType }
  | { readonly kind: 'struct'; readonly schema: StructSchema };

/** A function or method signature; `variadic` types the extra arguments (Sprintf's `...any`). */
export interface Signature {
  readonly params: readonly ExprType[];
  readonly variadic?: ExprType;
  readonly result: ExprType;
}

/** A Go struct exposed to expressions: its fields and methods, named as in Go. */
export interface StructSchema {
  /** Short name used in messages: `Alert`, `Event`, `Source`. */
  readonly name: string;
  /** Go type, for runtime messages and `%T`: `*models.Alert`. */
  readonly goType: string;
  readonly fields: Readonly<Record<string, ExprType>>;
  readonly methods: Readonly<Record<string, Signature>>;
  /** Names the reference has on this type but this environment does not provide (refused as "unsupported"). */
  readonly unsupported?: readonly string[];
}

/** What expressions may name: variables and global functions, with their types. */
export interface ExprSchema {
  readonly variables: Readonly<Record<string, ExprType>>;
  readonly functions: Readonly<Record<string, Signature>>;
}

export type RuntimeFunction = (args: readonly unknown[]) => unknown;

/** The values behind an {@link ExprSchema} for one evaluation. Functions may return promises. */
export interface ExprEnv {
  readonly variables: Readonly<Record<string, unknown>>;
  readonly functions: Readonly<Record<string, RuntimeFunction>>;
}

export const T = {
  unknown: { kind: 'unknown' },
  nil: { kind: 'nil' },
  bool: { kind: 'bool' },
  int: { kind: 'int' },
  float: { kind: 'float' },
  string: { kind: 'string' },
  duration: { kind: 'duration' },
  array: (of: ExprType): ExprType => ({ kind: 'array', of }),
  map: (of: ExprType): ExprType => ({ kind: 'map', of }),
  struct: (schema: StructSchema): ExprType => ({ kind: 'struct', schema }),
} as const satisfies Record<string, ExprType | ((of: never) => ExprType)>;

/** Go's spelling of a static type, for messages that mirror expr-lang's. */
export function typeName(t: ExprType): string {
  switch (t.kind) {
    case 'unknown':
      return 'interface {}';
    case 'nil':
      return 'nil';
    case 'float':
      return 'float64';
    case 'duration':
      return 'time.Duration';
    case 'array':
      return `[]${typeName(t.of)}`;
    case 'map':
      return `map[string]${typeName(t.of)}`;
    case 'struct':
      return t.schema.goType;
    default:
      return t.kind;
  }
}

/** A Go time.Duration: what GetActiveDecisionsTimeLeft and duration() return. */
export class GoDuration {
  constructor(readonly ns: bigint) {}

  toString(): string {
    return formatGoDuration(this.ns);
  }
}

/** A value of a {@link StructSchema}: its fields, and methods bound to it. */
export class StructValue {
  constructor(
    readonly schema: StructSchema,
    readonly fields: Readonly<Record<string, unknown>>,
    readonly methods: Readonly<Record<string, RuntimeFunction>> = {},
  ) {}
}

export const DURATION_METHODS: Readonly<Record<string, { signature: Signature; run: (d: GoDuration) => unknown }>> = {
  Hours: { signature: { params: [], result: T.float }, run: (d) => inUnits(d.ns, 3_600_000_000_000n) },
  Minutes: { signature: { params: [], result: T.float }, run: (d) => inUnits(d.ns, 60_000_000_000n) },
  Seconds: { signature: { params: [], result: T.float }, run: (d) => inUnits(d.ns, 1_000_000_000n) },
  Milliseconds: { signature: { params: [], result: T.int }, run: (d) => d.ns / 1_000_000n },
  Nanoseconds: { signature: { params: [], result: T.int }, run: (d) => d.ns },
  String: { signature: { params: [], result: T.string }, run: (d) => d.toString() },
};

// Whole units plus the fraction, as Go's Duration.Hours() computes it (exact for the whole part).
const inUnits = (ns: bigint, unit: bigint) => Number(ns / unit) + Number(ns % unit) / Number(unit);
