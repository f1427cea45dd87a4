import { formatGoDuration, formatGoDurationMs, parseGoDuration } from './go-duration';

const S = 1_000_000_000n;

describe('parseGoDuration', () => {
  it.each([
    ['4h', 4n * 3600n * S],
    ['1h30m', 5400n * S],
    ['1.5h', 5400n * S],
    ['90m', 5400n * S],
    ['-1h', -3600n * S],
    ['+2s', 2n * S],
    ['0', 0n],
    ['0s', 0n],
    ['1ms', 1_000_000n],
    ['2µs', 2000n],
    ['2us', 2000n],
    ['3ns', 3n],
    ['.5s', S / 2n],
    ['1.s', S],
    ['2d', 48n * 3600n * S],
    ['2d3h', 51n * 3600n * S],
    ['-1d', -24n * 3600n * S],
  ])('%s → %s ns', (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it.each(['', '1', 'h', '1x', '1d2d', '1h2d', '1.5d', 'abc', '-', '4 h', ' 4h', '.s', '9999999999h'])(
    'refuses %p like Go (days only first and whole)',
    (text) => {
      expect(parseGoDuration(text)).toBeNull();
    },
  );
});

describe('formatGoDuration', () => {
  it.each([
    [0n, '0s'],
    [S, '1s'],
    [3600n * S, '1h0m0s'],
    [7200n * S + S / 2n, '2h0m0.5s'],
    [61n * S, '1m1s'],
    [59n * S + S / 2n, '59.5s'],
    [6_251_470n, '6.25147ms'],
    [1500n, '1.5µs'],
    [250n, '250ns'],
    [-6_251_470n, '-6.25147ms'],
    [-(3600n * S + 996_507_496n), '-1h0m0.996507496s'],
    [4n * 3600n * S - 895_510_208n, '3h59m59.104489792s'],
    [29n * 60n * S + (59_113_246_420n % (60n * S)), '29m59.11324642s'],
  ])('%s ns → %s', (ns, text) => {
    expect(formatGoDuration(ns)).toBe(text);
  });

  it('round-trips through the parser', () => {
    for (const ns of [1n, 999n, 1_000_001n, 123_456_789_012n, -98_765_432_100_000n]) {
      expect(parseGoDuration(formatGoDuration(ns))).toBe(ns);
    }
  });
});

describe('formatGoDurationMs', () => {
  it('writes what formatGoDuration writes for the same milliseconds', () => {
    const samples = [0, 1, 7, 10, 100, 999, 1000, 1001, 1010, 1100, 59_999, 60_000, 61_500, 3_599_999, 3_600_000];
    samples.push(14_399_104, 86_399_999, 365 * 86_400_000 + 123, 9_000_000_000_000);
    let seed = 42;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      samples.push(seed * (i % 7) + (i % 1000));
    }
    for (const ms of samples) {
      for (const v of [ms, -ms]) {
        expect(formatGoDurationMs(v)).toBe(formatGoDuration(BigInt(v) * 1_000_000n));
      }
    }
  });
});
