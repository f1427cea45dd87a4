import { formatGoDurationMs } from '@lapi/domain';
import type { DecisionView } from '../sql/decision-queries';
import { decisionListJson, decisionStreamJson } from './decisions-json';

// What the reference's handlers encode, field by field (its JSON order), to compare the bytes with.
const presentDecision = (d: DecisionView, at: Date) => ({
  duration: formatGoDurationMs(d.until.getTime() - at.getTime()),
  id: d.id,
  origin: d.origin,
  scenario: d.scenario,
  scope: d.scope,
  type: d.type,
  value: d.value,
  uuid: d.uuid,
});
const listOrNull = <T>(list: T[]): T[] | null => (list.length === 0 ? null : list);

const now = new Date('2026-11-29T00:00:00.000Z');
const view = (i: number, over: Partial<DecisionView> = {}): DecisionView => ({
  id: i,
  uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  origin: 'cscli',
  type: 'ban',
  scope: 'Ip',
  value: `10.0.${i >> 8}.${i & 255}`,
  scenario: 'crowdsecurity/ssh-bf',
  simulated: false,
  until: new Date(now.getTime() + 4 * 3_600_000 - (i % 3) * 1_234),
  ...over,
});
const text = (chunks: Iterable<Buffer>) => Buffer.concat([...chunks]).toString();

describe('decision bodies written piecewise', () => {
  it('are the text JSON.stringify writes of the presented decisions', () => {
    const list = Array.from({ length: 3000 }, (_, i) => view(i + 1));
    expect(text(decisionListJson(list, now))).toBe(JSON.stringify(list.map((d) => presentDecision(d, now))));
    const deleted = [view(9, { until: new Date(now.getTime() - 61_500) })];
    expect(text(decisionStreamJson(list, deleted, now))).toBe(
      JSON.stringify({
        new: list.map((d) => presentDecision(d, now)),
        deleted: deleted.map((d) => presentDecision(d, now)),
      }),
    );
  });

  it('are the same text whatever the size of each decision, bodies sized ahead from their number', () => {
    // Buffers are sized from the number of decisions left: short decisions (over-estimated), long ones (under),
    // and counts around a chunk's worth, plain and as stream answers.
    for (const n of [1, 2, 5, 60, 300, 327, 328, 329, 700, 1500]) {
      for (const long of [false, true]) {
        const list = Array.from({ length: n }, (_, i) =>
          view(i + 1, long ? { scenario: `crowdsecurity/${'x'.repeat(40 + (i % 300))}`, value: `2001:db8::${i}` } : {}),
        );
        const presented = list.map((d) => presentDecision(d, now));
        expect(text(decisionListJson(list, now))).toBe(JSON.stringify(presented));
        expect(text(decisionStreamJson(list.slice(0, n >> 1), list.slice(n >> 1), now))).toBe(
          JSON.stringify({ new: listOrNull(presented.slice(0, n >> 1)), deleted: listOrNull(presented.slice(n >> 1)) }),
        );
      }
    }
  });

  it('take one buffer outside the pool for a delta poll’s few hundred decisions, none for an empty lookup', () => {
    const list = Array.from({ length: 300 }, (_, i) => view(i + 1));
    const allocations = jest.spyOn(Buffer, 'allocUnsafe');
    let chunks: Buffer[];
    let large: number;
    let none: Buffer[];
    try {
      chunks = [...decisionStreamJson(list.slice(0, 250), list.slice(250), now)];
      // Those outside Node's pool (4 KiB and more): memory outside the heap, which drives full collections.
      large = allocations.mock.calls.filter(([size]) => size >= 4096).length;
      allocations.mockClear();
      none = [...decisionListJson([], now)];
      expect(allocations).not.toHaveBeenCalled();
    } finally {
      allocations.mockRestore();
    }
    expect(text(none)).toBe('null');
    expect(text(chunks).length).toBeGreaterThan(40_000);
    expect(large).toBe(1);
  });

  it('write null for an empty list, as Go does for a nil slice', () => {
    expect(text(decisionListJson([], now))).toBe('null');
    expect(text(decisionStreamJson([], [], now))).toBe(
      JSON.stringify({ new: listOrNull([]), deleted: listOrNull([]) }),
    );
  });

  it('escape what JSON.stringify escapes', () => {
    const odd = [
      view(1, { scenario: 'say "hi" \\ now\n\t\u0001', value: 'user\u2028name' }),
      view(2, { origin: 'lone \ud800 surrogate', type: 'émoji 🚫 <b>&' }),
    ];
    expect(text(decisionListJson(odd, now))).toBe(JSON.stringify(odd.map((d) => presentDecision(d, now))));
  });

  it('write every id, and each decision with its own origin, scenario, scope and type', () => {
    const list = [1, 9, 10, 99, 100, 12_345, 2 ** 31 + 7, 9_007_199_254_740_991].map((id, i) =>
      view(id, {
        origin: ['cscli', 'crowdsec', 'CAPI'][i % 3],
        scenario: `crowdsecurity/s${i % 2}`,
        scope: i % 4 === 0 ? 'Range' : 'Ip',
        type: i % 5 === 0 ? 'captcha' : 'ban',
      }),
    );
    expect(text(decisionListJson(list, now))).toBe(JSON.stringify(list.map((d) => presentDecision(d, now))));
  });

  it('holds a decision bigger than a chunk', () => {
    const list = [view(1), view(2, { value: 'x'.repeat(100_000) }), view(3, { value: 'é'.repeat(70_000) })];
    expect(text(decisionListJson(list, now))).toBe(JSON.stringify(list.map((d) => presentDecision(d, now))));
  });

  it('comes in chunks of bounded size', () => {
    const list = Array.from({ length: 5000 }, (_, i) => view(i + 1));
    const chunks = [...decisionListJson(list, now)];
    expect(chunks.length).toBeGreaterThan(5);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(64 * 1024 + 400);
  });
});
