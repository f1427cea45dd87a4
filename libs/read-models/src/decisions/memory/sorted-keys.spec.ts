import { SortedKeys } from './sorted-keys';

describe('SortedKeys', () => {
  it('ranges like a sorted array, through inserts and deletes before and after it is built', () => {
    let a = 7; // mulberry32
    const random = (n: number) => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const truth = new Set<number>();
    const keys = new SortedKeys<number>(() => truth);
    const check = () => {
      const lo = random(5000);
      const hi = lo + random(3000);
      const expected = [...truth].filter((k) => k >= lo && k <= hi).sort((a, b) => a - b);
      expect([...keys.range(lo, hi)]).toEqual(expected);
    };
    for (let i = 0; i < 3000; i++) {
      const k = random(5000);
      truth.add(k);
      keys.add(k);
    }
    check(); // builds from the source
    for (let i = 0; i < 20000; i++) {
      const k = random(5000);
      if (random(3) === 0) {
        truth.delete(k);
        keys.delete(k);
      } else {
        truth.add(k);
        keys.add(k);
      }
      if (i % 500 === 0) {
        check();
      }
    }
    expect([...keys.range(-1, 10_000)]).toEqual([...truth].sort((a, b) => a - b));
  });

  it('orders fixed-width hex strings', () => {
    const source = ['00ff', '0100', '000a'];
    const keys = new SortedKeys<string>(() => source);
    keys.add('0001');
    expect([...keys.range('0000', 'ffff')]).toEqual(['000a', '00ff', '0100']);
    keys.add('0001');
    keys.delete('00ff');
    expect([...keys.range('0001', '00ff')]).toEqual(['0001', '000a']);
    expect([...keys.range('0200', '0300')]).toEqual([]);
  });
});
