import { cached } from './metrics-sources';

describe('cached (what a scrape reads)', () => {
  it('answers from the last read while it is younger than the max age, then reads again', async () => {
    let now = 1_000;
    let reads = 0;
    const read = cached(
      5_000,
      () => Promise.resolve(++reads),
      () => now,
    );
    expect(await read()).toBe(1);
    now += 4_999;
    expect(await read()).toBe(1);
    now += 1;
    expect(await read()).toBe(2);
  });

  it('shares one read between concurrent callers', async () => {
    let reads = 0;
    let release!: () => void;
    const read = cached(5_000, async () => {
      reads++;
      await new Promise<void>((resolve) => (release = resolve));
      return reads;
    });
    const both = Promise.all([read(), read()]);
    release();
    expect(await both).toEqual([1, 1]);
    expect(reads).toBe(1);
  });

  it('keeps no failure: the next call reads again', async () => {
    let fail = true;
    const read = cached(5_000, () => (fail ? Promise.reject(new Error('down')) : Promise.resolve('up')));
    await expect(read()).rejects.toThrow('down');
    fail = false;
    expect(await read()).toBe('up');
  });
});
