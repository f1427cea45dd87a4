import { monitorEventLoopDelay } from 'node:perf_hooks';
import { jsonInSlices, mapInSlices, parseJsonInSlices, Slicer } from './json-slices';

const decision = (i: number) => ({
  duration: '4h',
  origin: 'cscli',
  scenario: `test/"quoted" \\ ${i}`,
  scope: 'Ip',
  type: 'ban',
  value: `11.0.${(i >> 8) & 255}.${i & 255}`,
  simulated: i % 2 === 0,
  until: null,
  id: i * 1.5,
  unicode: 'é✓\u2028😀',
});
const alert = (n: number) => ({
  scenario: 'big',
  events: [{ timestamp: 'now', meta: [{ key: 'k', value: 'v' }] }],
  source: { scope: 'Ip', value: '192.0.2.1', latitude: -1.25e-3 },
  decisions: Array.from({ length: n }, (_, i) => decision(i)),
  labels: null,
  nested: { deep: { list: Array.from({ length: n }, (_, i) => [i, { x: `${i}` }, [], {}]) } },
});

const syntaxError = (text: string): string => {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected invalid JSON');
};

describe('parseJsonInSlices', () => {
  it.each([
    ['a big alert list', JSON.stringify([alert(5_000)])],
    ['with whitespace everywhere', JSON.stringify([alert(2_000)], null, 2).replace(/\n/g, '\r\n\t ')],
    ['a long string', JSON.stringify({ a: 'x'.repeat(300_000), b: ['y'.repeat(200_000)] })],
    ['a big array of numbers', JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i * 0.7 - 5e3))],
    ['a big object', JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, [i]])))],
    ['small', '{"a":[1,2,3]}'],
  ])('gives what JSON.parse gives: %s', async (_name, text) => {
    expect(await parseJsonInSlices(text)).toEqual(JSON.parse(text));
    expect(await parseJsonInSlices(Buffer.from(text))).toEqual(JSON.parse(text));
  });

  it('reads UTF-8 bytes as their text would be read, invalid sequences included', async () => {
    const text = JSON.stringify([alert(1_000)]);
    const bytes = Buffer.concat([
      Buffer.from(text.slice(0, 1000)),
      Buffer.from([0xe2, 0x82]),
      Buffer.from(text.slice(1000)),
    ]);
    const quoted = Buffer.from(JSON.stringify({ a: 'x'.repeat(100_000) }).replace('xx', 'x\u00e9'));
    expect(await parseJsonInSlices(quoted)).toEqual(JSON.parse(quoted.toString('utf8')));
    expect(await parseJsonInSlices(bytes)).toEqual(JSON.parse(bytes.toString('utf8'))); // U+FFFD in a string
    const outside = Buffer.concat([Buffer.from(text.slice(0, -1)), Buffer.from([0xe2, 0x82]), Buffer.from(']')]);
    await expect(parseJsonInSlices(outside)).rejects.toThrow(new SyntaxError(syntaxError(outside.toString('utf8'))));
    const inString = Buffer.from(text.replace('"big"', '"b\\u0000ig"').replace('"ban"', '"bän"'));
    expect(await parseJsonInSlices(inString)).toEqual(JSON.parse(inString.toString('utf8')));
  });

  it('keeps "__proto__" as an own key and the first place of a repeated key, as JSON.parse', async () => {
    const big = 'z'.repeat(100_000);
    const text = `{"a":1,"__proto__":{"polluted":true},"b":"${big}","a":2,"c":[${'{"__proto__":1},'.repeat(10_000)}null]}`;
    const parsed = (await parseJsonInSlices(text)) as Record<string, unknown>;
    const native = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(Object.keys(native));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parsed).toEqual(native);
  });

  it.each([
    ['a trailing comma in the big array', (t: string) => t.replace('}],"labels"', '},],"labels"')],
    ['a missing comma', (t: string) => t.replace('},{', '}{')],
    ['a bad token deep inside', (t: string) => t.replace('"ban"', 'ban')],
    ['an unterminated string', (t: string) => t.slice(0, 100_000)],
    ['a missing colon', (t: string) => t.replace('"type":', '"type" ')],
    ['a mismatched bracket', (t: string) => t.replace('[]', '[}')],
    ['garbage after the value', (t: string) => `${t} x`],
    ['a byte-order mark', (t: string) => `\uFEFF${t}`],
    ['a non-JSON space', (t: string) => t.replace(',"labels"', ',\u00a0"labels"')],
    ['a bad escape', (t: string) => t.replace('\\\\', '\\x')],
    ['a leading zero', (t: string) => t.replace('-0.00125', '-00.00125')],
  ])('throws JSON.parse’s own error: %s', async (_name, spoil) => {
    const text = spoil(JSON.stringify([alert(2_000)]));
    await expect(parseJsonInSlices(text)).rejects.toThrow(new SyntaxError(syntaxError(text)));
    await expect(parseJsonInSlices(Buffer.from(text))).rejects.toThrow(new SyntaxError(syntaxError(text)));
  });

  it('gives the event loop back while it parses', async () => {
    const text = JSON.stringify([alert(50_000)]);
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const parsed = await parseJsonInSlices(text);
    delay.disable();
    expect((parsed as unknown[]).length).toBe(1);
    // One JSON.parse of the whole text holds the thread for its whole length (> 100 ms here).
    expect(delay.max / 1e6).toBeLessThan(100);
  });
});

describe('jsonInSlices', () => {
  class Point {
    constructor(readonly x: number) {}
  }
  it.each([
    ['a big alert list', [alert(3_000)]],
    [
      'what JSON.stringify leaves out or rewrites',
      {
        u: undefined,
        f: () => 1,
        d: new Date(0),
        p: new Point(1),
        list: Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? undefined : i % 3 === 1 ? () => 1 : new Point(i))),
        nested: { only: undefined },
        o: Object.assign(Object.create(null) as object, { a: 1 }),
        j: { toJSON: () => 'replaced' },
      },
    ],
    ['a scalar', 'text "quoted"'],
  ])('writes what JSON.stringify writes, and its copy is what JSON.parse reads back: %s', async (_name, value) => {
    const { pieces, copy } = await jsonInSlices(value);
    expect(pieces.join('')).toBe(JSON.stringify(value));
    expect(copy).toEqual(JSON.parse(JSON.stringify(value)));
  });
});

describe('mapInSlices', () => {
  it('maps every item in order, pausing when its slice is used', async () => {
    let othersRan = false;
    setImmediate(() => (othersRan = true));
    const out = await mapInSlices(
      Array.from({ length: 2_000 }, (_, i) => i),
      (n) => {
        const until = performance.now() + 0.02;
        while (performance.now() < until) {
          // busy
        }
        return n * 2;
      },
      new Slicer(),
    );
    expect(out).toEqual(Array.from({ length: 2_000 }, (_, i) => i * 2));
    expect(othersRan).toBe(true);
  });
});
