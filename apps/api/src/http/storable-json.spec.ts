import { unstorableString } from './storable-json';

describe('unstorableString', () => {
  it('finds a NUL or a lone surrogate anywhere: values, keys, deep in arrays', async () => {
    const deep = (inner: unknown) => JSON.parse(`[{"a":[1,{"b":${JSON.stringify(inner)}}]}]`) as unknown;
    expect(await unstorableString(deep('x\u0000y'))).toBe(true);
    expect(await unstorableString(deep('\ud800'))).toBe(true);
    expect(await unstorableString(deep('lone low \udc00 surrogate'))).toBe(true);
    expect(await unstorableString(JSON.parse('{"k\\u0000":1}'))).toBe(true);
    expect(await unstorableString(JSON.parse('{"\\ud800":1}'))).toBe(true);
    expect(await unstorableString('\u0000')).toBe(true);
  });

  it('passes what PostgreSQL stores: other escapes, paired surrogates, non-strings', async () => {
    expect(
      await unstorableString(JSON.parse('{"emoji":"\\ud83d\\ude00","tab":"\\t","k\\u00e9":[null,true,1.5,{}]}')),
    ).toBe(false);
    expect(await unstorableString(null)).toBe(false);
    expect(await unstorableString(42)).toBe(false);
  });

  it('walks deeply nested JSON without overflowing the stack', async () => {
    const depth = 100_000;
    const nested = JSON.parse(`${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}`) as unknown;
    expect(await unstorableString(nested)).toBe(true);
  });
});
