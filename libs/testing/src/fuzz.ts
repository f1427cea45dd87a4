import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import type { ZodTypeAny } from 'zod';

// Arbitraries for fuzzing the HTTP layer with invalid and edge-case input. Bodies are derived from the
// lapi-contract zod schemas (themselves the reference swagger's models): well-shaped values whose strings and
// numbers are edge cases, then broken at one random place.

/** Strings that mean something to a LAPI validator: durations, IPs and ranges, booleans, dates, scopes, encodings. */
export const EDGE_STRINGS: readonly string[] = [
  '',
  ' ',
  '0',
  '-1',
  '1x',
  '1d',
  '-1d',
  '2d3h',
  '1.5h',
  '-1h',
  '999999999999h',
  '9223372036854775807ns',
  '9223372036854775808s',
  'h',
  '1e3s',
  '.s',
  'NaN',
  'Infinity',
  'true',
  'True',
  'yes',
  'null',
  '1.2.3.4',
  '1.2.3.4/33',
  '1.2.3.256',
  '1.2.3',
  '01.02.03.004',
  ' 1.2.3.4',
  '1.2.3.4/32/1',
  '10.0.0.0/-1',
  '0.0.0.0/0',
  '::1',
  '::/0',
  '::ffff:1.2.3.4',
  '::ffff:1.2.3.4/200',
  'fe80::1%eth0',
  '2001:db8::/129',
  '2001:db8:::1',
  '999999999999999999999',
  '-999999999999999',
  '2026-13-45T99:99:99Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  'Ip',
  'ip',
  'Range',
  'range',
  'Country',
  'AS',
  'ban',
  'captcha',
  '💥',
  '🏳️‍🌈'.repeat(50),
  'a\u0000b',
  'a\ud800b',
  '\udfff',
  '%',
  '%zz',
  '%ff%fe',
  "'; drop table alerts; --",
  '${jndi:ldap://x}',
  '../../etc/passwd',
  ',,,',
  'a,b,,c',
  'x'.repeat(10_000),
];

/** A string: an edge case, or anything fast-check makes (lone surrogates included). */
export const edgeString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...EDGE_STRINGS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  );

/** A number JSON can carry, biased to limits: int32/int64 edges, huge, negative, fractional. */
export const edgeNumber = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(0, -0, 1, -1, 0.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 5e-324),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );

/** A value of the wrong kind for anything: JSON of any shape, or an edge string or number. */
export const junk = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    edgeString(),
    edgeNumber(),
    fc.constant(null),
    fc.constant({}),
    fc.constant([]),
  );

interface ZodDef {
  typeName?: string;
  shape?: () => Record<string, ZodTypeAny>;
  type?: ZodTypeAny;
  innerType?: ZodTypeAny;
  schema?: ZodTypeAny;
}

/** A value with the schema's shape (keys, kinds, nesting) whose leaves are edge cases. */
export function shapedLike(schema: ZodTypeAny): fc.Arbitrary<unknown> {
  const def = schema._def as ZodDef;
  switch (def.typeName) {
    case 'ZodObject': {
      const shape = def.shape!();
      const required = Object.keys(shape).filter((k) => !shape[k].isOptional());
      return fc.record(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, shapedLike(v)])), {
        requiredKeys: required,
      });
    }
    case 'ZodArray':
      return fc.array(shapedLike(def.type!), { maxLength: 3 });
    case 'ZodString':
      return edgeString();
    case 'ZodNumber':
      return edgeNumber();
    case 'ZodBoolean':
      return fc.boolean();
    case 'ZodOptional':
      return fc.option(shapedLike(def.innerType!), { nil: undefined, freq: 3 });
    case 'ZodNullable':
      return fc.option(shapedLike(def.innerType!), { nil: null, freq: 3 });
    case 'ZodEffects':
      return shapedLike(def.schema!);
    default:
      return junk();
  }
}

type Mutation = 'delete' | 'replace' | 'wrap-in-array' | 'nest-deep' | 'object-for-array';

/** Every (container, key) of a JSON value, depth first. */
function slots(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([value, i]);
      slots(v, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Record<string, unknown>, k]);
      slots(v, out);
    }
  }
  return out;
}

const deepNest = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) {
    v = i % 2 ? [v] : { a: v };
  }
  return v;
};

/** The value broken at one place: a key removed, a value of the wrong kind, an array for an object, deep nesting. */
export function brokenAt(value: unknown, index: number, mutation: Mutation, replacement: unknown): unknown {
  const copy = structuredClone(value);
  const all = slots(copy);
  if (all.length === 0) {
    return replacement;
  }
  const [container, key] = all[index % all.length];
  const target = (container as Record<string | number, unknown>)[key];
  const set = (v: unknown) => ((container as Record<string | number, unknown>)[key] = v);
  switch (mutation) {
    case 'delete':
      if (Array.isArray(container)) {
        container.splice(key as number, 1);
      } else {
        delete container[key];
      }
      break;
    case 'replace':
      set(replacement);
      break;
    case 'wrap-in-array':
      set([target]);
      break;
    case 'nest-deep':
      set(deepNest(200, target));
      break;
    case 'object-for-array':
      set(Array.isArray(target) ? Object.fromEntries(target.map((v, i) => [String(i), v])) : { 0: target });
      break;
  }
  return copy;
}

/** JSON bodies derived from a schema: shaped like it, broken at one place, or any JSON at all. */
export const jsonBodyFrom = (schema: ZodTypeAny): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 2, arbitrary: shapedLike(schema) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          shapedLike(schema),
          fc.nat(),
          fc.constantFrom<Mutation>('delete', 'replace', 'wrap-in-array', 'nest-deep', 'object-for-array'),
          junk(),
        )
        .map(([v, i, m, r]) => brokenAt(v, i, m, r)),
    },
    { weight: 1, arbitrary: junk() },
  );

/** Body texts that are not JSON, or JSON no decoder expects: truncated, garbage, deep, huge. */
export const rawBodyText = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      '{',
      '[',
      '{"machine_id":',
      '[{"scenario":"x",',
      'null',
      'true',
      '0',
      '"string"',
      '{}{}',
      '[] []',
      '\ufeff{}',
      '{"a":1,"a":2}',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '[1e999]',
      '[-0]',
      '[' + '1,'.repeat(1000) + '1]',
      '['.repeat(20_000) + ']'.repeat(20_000),
      '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000),
      'x'.repeat(1_000_000),
    ),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => {
      const text = JSON.stringify(v) ?? 'null';
      return text.slice(0, Math.max(0, text.length - 1)); // truncated
    }),
  );

export const CONTENT_TYPES: readonly string[] = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '*/*',
  'garbage',
  'application/json; charset=',
];

/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD, as a Go client would send them). */
export const percentEncode = (s: string): string =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      '-._~'.includes(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

/** A query string over the route's parameters (and unknown ones), edge values, repeated keys, broken escapes. */
export const queryString = (params: readonly string[]): fc.Arbitrary<string> =>
  fc
    .array(
      fc.tuple(
        params.length
          ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...params) }, { weight: 1, arbitrary: edgeString() })
          : edgeString(),
        edgeString(),
        fc.constantFrom('encoded', 'encoded', 'encoded', 'raw-percent', 'no-value'),
      ),
      { maxLength: 6 },
    )
    .map((pairs) =>
      pairs
        .map(([k, v, how]) => {
          const key = percentEncode(k);
          switch (how) {
            case 'encoded':
              return `${key}=${percentEncode(v)}`;
            case 'raw-percent':
              return `${key}=%${v.slice(0, 2)}%G1%`; // escapes that do not decode
            case 'no-value':
              return key;
          }
        })
        .join('&'),
    );

/** A path segment: an id, a huge or negative number, an edge string (encoded). */
export const pathSegment = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.nat().map(String),
    fc.constantFrom('0', '-1', '1.5', '1e3', '0x10', '9007199254740993', '99999999999999999999', '%00', '%2F', '%ZZ'),
    edgeString().map(percentEncode),
  );

/** A JWT with any header and claims (no library checks on them), HMAC-SHA256 signed with `secret`. */
export function forgeJwt(
  secret: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${part(header)}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
