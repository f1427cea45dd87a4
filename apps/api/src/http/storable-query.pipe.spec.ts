import { LapiHttpError } from './http-errors';
import { StorableQueryPipe } from './storable-query.pipe';

describe('StorableQueryPipe', () => {
  const pipe = new StorableQueryPipe();
  const query = { type: 'query' } as const;

  it('refuses a NUL in a query value, a repeated value or a key', () => {
    for (const value of [{ origin: 'a\u0000b' }, { scopes: ['ip', 'x\u0000'] }, { 'a\u0000': 'b' }]) {
      expect(() => pipe.transform(value, query)).toThrow(
        new LapiHttpError(400, 'query parameters must not contain NUL characters'),
      );
    }
  });

  it('passes other queries, and leaves bodies and params to their own checks', () => {
    const ok = { ip: '1.2.3.4', scopes: ['ip', 'range'], 'x💥': '\ufffd' };
    expect(pipe.transform(ok, query)).toBe(ok);
    expect(pipe.transform({ a: 'a\u0000' }, { type: 'body' })).toEqual({ a: 'a\u0000' });
    expect(pipe.transform('a\u0000', { type: 'param' })).toBe('a\u0000');
  });
});
