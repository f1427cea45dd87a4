import { Progress } from './progress';

/** A stream that keeps what is written, and a clock moved by hand. */
const setup = (isTTY: boolean, total = 100_000) => {
  const written: string[] = [];
  let now = 0;
  const progress = new Progress(
    { isTTY, columns: 120, write: (t: string) => written.push(t) },
    total,
    'decisions',
    () => now,
  );
  return { written, progress, advance: (ms: number) => (now += ms) };
};

describe('Progress', () => {
  it('on a terminal, redraws one line in place: bar, percentage, count/total, rate, time left', () => {
    const { written, progress, advance } = setup(true);
    advance(1000);
    progress.update(20_000);
    advance(1000);
    progress.update(40_000);
    expect(written).toEqual([
      '\r[####----------------]  20% 20000/100000 decisions 20000/s ETA 4s\x1b[K',
      '\r[########------------]  40% 40000/100000 decisions 20000/s ETA 3s\x1b[K',
    ]);
    progress.update(100_000, 'accepted, storing…');
    expect(written[2].replace('\x1b[K', '<K>')).toMatch(
      /^\r\[#{20}\] 100% 100000\/100000 decisions \d+\/s accepted, storing…<K>$/,
    );
    progress.end();
    expect(written[3]).toBe('\r\x1b[K'); // the summary then starts on a clean line
    expect(written.join('')).not.toContain('\n');
  });

  it('without a terminal, writes a plain line every tenth of the way, or every 2 s', () => {
    const { written, progress, advance } = setup(false);
    for (let done = 1000; done <= 35_000; done += 1000) {
      advance(10);
      progress.update(done);
    }
    expect(written).toEqual([
      '10000/100000 decisions (10%, 100000/s)\n',
      '20000/100000 decisions (20%, 100000/s)\n',
      '30000/100000 decisions (30%, 100000/s)\n',
    ]);
    advance(2000);
    progress.update(36_000);
    expect(written[3]).toBe('36000/100000 decisions (36%, 15319/s)\n');
    progress.update(100_000, 'accepted, storing…');
    expect(written[4]).toBe('100000/100000 decisions (100%, 42553/s) accepted, storing…\n');
    progress.end();
    expect(written).toHaveLength(5); // nothing to clear
  });
});
