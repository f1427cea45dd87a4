import { unstorableString } from './storable-json';

describe('unstorableString', () => {
  it('finds a NUL or a lone surrogate anywhere: values, keys, deep in arrays', () => {
    const deep = (inner: unknown) => JSON.parse(`[{"a":[1,{"b":${JSON.stringify(inner)}}]}]`) as unknown;
    expect(unstorableString(deep('x\u0000y'))).toBe(true);
    expect(unstorableString(deep('\ud800'))).toBe(true);
    expect(unstorableString(deep('lone low \udc00 surrogate'))).toBe(true);
    expect(unstorableString(JSON.parse('{"k\\u0000":1}'))).toBe(true);
    expect(unstorableString(JSON.parse('{"\\ud800":1}'))).toBe(true);
    expect(unstorableString('\u0000')).toBe(true);
  });

  it('passes what PostgreSQL stores: other escapes, paired surrogates, non-strings', () => {
    expect(unstorableString(JSON.parse('{"emoji":"\\ud83d\\ude00","tab":"\\t","k\\u00e9":[null,true,1.5,{}]}'))).toBe(
      false,
    );
    expect(unstorableString(null)).toBe(false);
    expect(unstorableString(42)).toBe(false);
  });

  it('walks deeply nested JSON without overflowing the stack', () => {
    const depth = 100_000;
    const nested = JSON.parse(`${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}`) as unknown;
    expect(unstorableString(nested)).toBe(true);
  });
});
