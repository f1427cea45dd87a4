import { SightingMemo } from './sighting-memo';

describe('SightingMemo', () => {
  it('skips repeated sightings until the recheck time has passed', () => {
    const memo = new SightingMemo(60_000);
    expect(memo.unchanged('b', '1.2.3.4', 'fw/v1', 0)).toBe(false);
    memo.recorded('b', '1.2.3.4', 'fw/v1', 0);
    expect(memo.unchanged('b', '1.2.3.4', 'fw/v1', 59_999)).toBe(true);
    expect(memo.unchanged('b', '1.2.3.4', 'fw/v1', 60_000)).toBe(false);
  });

  it('records at once a new address or user agent', () => {
    const memo = new SightingMemo(60_000);
    memo.recorded('b', '1.2.3.4', 'fw/v1', 0);
    expect(memo.unchanged('b', '1.2.3.5', 'fw/v1', 1)).toBe(false);
    expect(memo.unchanged('b', '1.2.3.4', 'fw/v2', 1)).toBe(false);
    expect(memo.unchanged('other', '1.2.3.4', 'fw/v1', 1)).toBe(false);
  });

  it('forgets the oldest bouncer beyond its size', () => {
    const memo = new SightingMemo(60_000, 2);
    memo.recorded('a', 'ip', 'ua', 0);
    memo.recorded('b', 'ip', 'ua', 0);
    memo.recorded('c', 'ip', 'ua', 0);
    expect(memo.unchanged('a', 'ip', 'ua', 1)).toBe(false);
    expect(memo.unchanged('c', 'ip', 'ua', 1)).toBe(true);
  });
});
