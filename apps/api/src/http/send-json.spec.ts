import { acceptsGzip } from './send-json';

describe('acceptsGzip', () => {
  it.each([
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['br;q=1.0, GZIP;q=0.5', true],
    ['*', true],
    ['identity', false],
    ['gzip;q=0', false],
    ['', false],
    [undefined, false],
    ['x-gzip-ish', false],
  ])('%s → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });

  it('reads repeated headers', () => {
    expect(acceptsGzip(['identity', 'gzip'])).toBe(true);
  });
});
