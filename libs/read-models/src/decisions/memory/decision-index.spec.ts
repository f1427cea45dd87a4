import { parseIpRange, rangeContains, type IpRange } from '@lapi/domain';
import { gunzipSync } from 'node:zlib';
import type { DecisionRecord } from '../redis/decision-record';
import type { DecisionFilter } from '../sql/decision-queries';
import { DecisionIndex, STARTUP_REUSE_MS, STARTUP_SHARE_MS, type IndexCursor } from './decision-index';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

const all: DecisionFilter = { contains: true, includeSimulated: true };
const ip = (text: string): IpRange => parseIpRange(text)!;

/** Records named by a letter; ids follow the order given. */
type Named = Record<string, Partial<DecisionRecord>>;

function build(named: Named): { index: DecisionIndex; names: (ids: { id: number }[]) => string[] } {
  const index = new DecisionIndex();
  const byId = new Map<number, string>();
  Object.entries(named).forEach(([name, over], i) => {
    byId.set(i + 1, name);
    index.apply(record(i + 1, over), i + 1);
  });
  return { index, names: (list) => list.map((d) => byId.get(d.id)!) };
}

const record = (id: number, over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  id,
  uuid: `uuid-${id}`,
  alertId: id,
  origin: 'cscli',
  type: 'ban',
  scope: 'Ip',
  value: '192.0.2.1',
  scenario: 'manual ban',
  simulated: false,
  until: NOW + HOUR,
  removed: false,
  ...over,
});

describe('DecisionIndex.find (GET /v1/decisions)', () => {
  const { index, names } = build({
    a: { value: '192.0.2.1' },
    b: { scope: 'Range', value: '192.0.2.0/24' },
    c: { scope: 'Range', value: '192.0.0.0/16' },
    d: { value: '::ffff:192.0.2.1' },
    e: { value: '2001:db8::1' },
    f: { scope: 'Range', value: '2001:db8::/32' },
    g: { scope: 'Username', value: '192.0.2.1' },
    h: { scope: 'Range', value: '0.0.0.0/0' },
    i: { scope: 'Range', value: '::/0' },
    j: { scope: 'Range', value: '192.0.2.0/25' },
    k: { scope: 'ip', value: '192.0.2.7' },
    l: { scope: 'Range', value: '::ffff:198.51.100.0/120' },
    m: { scope: 'Range', value: '192.0.2.9/24' },
  });

  it.each<[string, Partial<DecisionFilter>, string]>([
    ['an IP finds itself, the mapped form and the blocks around it', { ip: ip('192.0.2.1') }, 'abcdhjm'],
    ['contains=false with an IP: only that address', { ip: ip('192.0.2.1'), contains: false }, 'ad'],
    ['an IP outside the /25', { ip: ip('192.0.2.200') }, 'bchm'],
    ['an IPv4-mapped query is IPv4', { ip: ip('::ffff:192.0.2.1') }, 'abcdhjm'],
    ['a lowercase ip scope still has IP columns', { ip: ip('192.0.2.7') }, 'bchjkm'],
    ['a range: blocks covering it', { range: ip('192.0.2.0/24') }, 'bchm'],
    ['a range, contains=false: what lies inside', { range: ip('192.0.2.0/24'), contains: false }, 'abdjkm'],
    ['/0, contains=false: every IPv4 decision', { range: ip('0.0.0.0/0'), contains: false }, 'abcdhjklm'],
    ['a mapped CIDR is IPv4', { range: ip('198.51.100.0/24') }, 'hl'],
    ['IPv6 address', { ip: ip('2001:db8::1') }, 'efi'],
    ['IPv6 range covering', { range: ip('2001:db8::/48') }, 'fi'],
    ['IPv6 range inside', { range: ip('2001:db8::/48'), contains: false }, 'e'],
    ['ip and range both apply', { ip: ip('192.0.2.1'), range: ip('192.0.0.0/16') }, 'ch'],
    ['no match', { ip: ip('203.0.113.1') }, 'h'],
  ])('%s', (_, filter, expected) => {
    expect(names(index.find({ ...all, ...filter }, NOW)).join('')).toBe(expected);
  });
});

describe('DecisionIndex.find: field filters', () => {
  const { index, names } = build({
    a: {},
    b: { scope: 'Range', value: '192.0.2.0/24', type: 'captcha' },
    c: { scope: 'Username', value: 'alice', origin: 'crowdsec', scenario: 'crowdsecurity/SSH-bf' },
    d: { scope: 'username', value: 'alice', origin: 'CAPI', scenario: 'crowdsecurity/http-probing' },
    e: { simulated: true, scenario: 'Manual BAN' },
  });

  it.each<[string, Partial<DecisionFilter>, string]>([
    ['no filter', {}, 'abcde'],
    ['scopes=, matches nothing', { scopes: [] }, ''],
    ['scopes are exact', { scopes: ['Username'] }, 'c'],
    ['several scopes', { scopes: ['Ip', 'username'] }, 'ade'],
    ['value is exact', { value: 'alice' }, 'cd'],
    ['type is exact', { type: 'captcha' }, 'b'],
    ['origins: an empty list filters nothing', { origins: [] }, 'abcde'],
    ['origins: any of', { origins: ['crowdsec', 'CAPI'] }, 'cd'],
    ['origins are case-sensitive', { origins: ['capi'] }, ''],
    ['scenarios_containing: case-insensitive, any word', { scenariosContaining: ['ssh', 'BAN'] }, 'abce'],
    ['scenarios_containing: an empty word matches all', { scenariosContaining: [''] }, 'abcde'],
    ['scenarios_not_containing: no word may occur', { scenariosNotContaining: ['SSH', 'probing'] }, 'abe'],
    ['both scenario filters', { scenariosContaining: ['crowdsecurity'], scenariosNotContaining: ['http'] }, 'c'],
    ['simulated excluded unless asked', { includeSimulated: false }, 'abcd'],
  ])('%s', (_, filter, expected) => {
    expect(names(index.find({ ...all, ...filter }, NOW)).join('')).toBe(expected);
  });
});

describe('DecisionIndex.find: what is active', () => {
  it.each<[string, Partial<DecisionRecord>, boolean]>([
    ['until ahead', { until: NOW + 1 }, true],
    ['until = now is over', { until: NOW }, false],
    ['until past', { until: NOW - HOUR }, false],
    ['removed, even with until ahead', { removed: true, until: NOW + HOUR }, false],
  ])('%s', (_, over, active) => {
    const { index } = build({ a: over });
    expect(index.find(all, NOW)).toHaveLength(active ? 1 : 0);
  });

  it('answers in id order, with the record fields', () => {
    const index = new DecisionIndex();
    index.apply(record(9, { value: '192.0.2.9' }), 1);
    index.apply(record(3, { value: '192.0.2.3', simulated: true }), 2);
    expect(index.find(all, NOW)).toEqual([
      {
        id: 3,
        uuid: 'uuid-3',
        origin: 'cscli',
        type: 'ban',
        scope: 'Ip',
        value: '192.0.2.3',
        scenario: 'manual ban',
        simulated: true,
        until: new Date(NOW + HOUR),
      },
      expect.objectContaining({ id: 9 }),
    ]);
  });

  it('does not dedup', () => {
    const { index, names } = build({ a: { until: NOW + HOUR }, b: { until: NOW + 2 * HOUR } });
    expect(names(index.find(all, NOW))).toEqual(['a', 'b']);
  });
});

describe('DecisionIndex.startup (stream without cursor)', () => {
  it.each<[string, Named, Partial<DecisionFilter>, boolean, string, string]>([
    // name, records, filter, dedup, new, deleted
    [
      'active in new, expired and removed in deleted',
      { a: {}, b: { until: NOW - 1, value: '192.0.2.2' }, c: { removed: true, until: NOW - 1, value: '192.0.2.3' } },
      {},
      true,
      'a',
      'bc',
    ],
    ['removed with until ahead: in neither list', { a: { removed: true } }, {}, true, '', ''],
    [
      'the longest of a value/type/scope wins',
      { a: { until: NOW + HOUR }, b: { until: NOW + 2 * HOUR } },
      {},
      true,
      'b',
      '',
    ],
    ['dedup=false keeps all', { a: { until: NOW + HOUR }, b: { until: NOW + 2 * HOUR } }, {}, false, 'ab', ''],
    ['ties are all kept', { a: {}, b: {} }, {}, true, 'ab', ''],
    [
      'another type is another key',
      { a: { until: NOW + HOUR }, b: { type: 'captcha', until: NOW + 2 * HOUR } },
      {},
      true,
      'ab',
      '',
    ],
    [
      'another scope is another key',
      { a: { until: NOW + HOUR }, b: { scope: 'Username', until: NOW + 2 * HOUR } },
      {},
      true,
      'ab',
      '',
    ],
    [
      'a longer decision filtered out still hides the shorter one',
      { a: { until: NOW + HOUR }, b: { simulated: true, until: NOW + 2 * HOUR } },
      { includeSimulated: false },
      true,
      '',
      '',
    ],
    [
      'an expired decision is reported only if it is the longest',
      { a: { until: NOW - HOUR }, b: { until: NOW + HOUR }, c: { value: '192.0.2.3', until: NOW - HOUR } },
      {},
      true,
      'b',
      'c',
    ],
    [
      'a removed decision with a later until still counts as longer',
      { a: { until: NOW + HOUR }, b: { removed: true, until: NOW + 2 * HOUR } },
      {},
      true,
      '',
      '',
    ],
    [
      'filters apply to both lists',
      { a: { until: NOW - 1 }, b: { value: '192.0.2.2' } },
      { value: '192.0.2.1' },
      true,
      '',
      'a',
    ],
    ['scopes=, nothing', { a: {} }, { scopes: [] }, true, '', ''],
    [
      'the key is the value text: one address written two ways is two keys',
      { a: { until: NOW + HOUR }, b: { value: '::ffff:192.0.2.1', until: NOW + 2 * HOUR } },
      {},
      true,
      'ab',
      '',
    ],
    [
      'a block and its network address are two keys',
      {
        a: { value: '192.0.2.0', until: NOW + HOUR },
        b: { scope: 'Range', value: '192.0.2.0/24', until: NOW + 2 * HOUR },
        c: { scope: 'Range', value: '192.0.2.0/24', until: NOW + HOUR },
      },
      {},
      true,
      'ab',
      '',
    ],
    [
      'a large group (memoised maximum) keeps its longest and the ties',
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${i}:`, { until: NOW + (i % 10) * MIN + MIN }])),
      {},
      true,
      '9:19:29:39:',
      '',
    ],
  ])('%s', (_, named, filter, dedup, created, deleted) => {
    const { index, names } = build(named);
    const page = index.startup({ ...all, ...filter }, dedup, NOW);
    expect([names(page.new).join(''), names(page.deleted).join('')]).toEqual([created, deleted]);
    expect(page.next).toEqual({ seq: index.seq, pulledAt: NOW });
  });
});

describe('DecisionIndex.delta (stream with a cursor)', () => {
  const PULLED = NOW - 10_000;
  type Step = { id: number; rec: Partial<DecisionRecord> };

  /** `before` applied before the cursor, `after` after it (same id = a change of that decision). */
  function pull(before: Step[], after: Step[], filter: Partial<DecisionFilter> = {}, dedup = true) {
    const index = new DecisionIndex();
    let seq = 0;
    const current = new Map<number, DecisionRecord>();
    const apply = ({ id, rec }: Step) => {
      const r = { ...(current.get(id) ?? record(id)), ...rec };
      current.set(id, r);
      seq += 1 + (id % 3); // gaps are allowed
      index.apply(r, seq);
    };
    before.forEach(apply);
    const cursor: IndexCursor = { seq: index.seq, pulledAt: PULLED };
    after.forEach(apply);
    const page = index.delta({ ...all, ...filter }, dedup, cursor, NOW);
    return { new: page.new.map((d) => d.id), deleted: page.deleted.map((d) => d.id), next: page.next };
  }

  const one = (id: number, rec: Partial<DecisionRecord> = {}): Step => ({
    id,
    rec: { value: `192.0.2.${id}`, ...rec },
  });

  it.each<[string, Step[], Step[], number[], number[]]>([
    ['created after the cursor: new', [one(1)], [one(2)], [2], []],
    ['created after, already expired before the last pull: nowhere', [], [one(1, { until: PULLED - 1 })], [], []],
    ['created after, expired since the last pull: deleted', [], [one(1, { until: PULLED + 1 })], [], [1]],
    ['expired in (pulledAt, now]: deleted', [one(1, { until: NOW }), one(2, { until: PULLED + 1 })], [], [], [1, 2]],
    ['expired at pulledAt exactly was delivered already', [one(1, { until: PULLED })], [], [], []],
    ['not yet expired: nothing', [one(1, { until: NOW + 1 })], [], [], []],
    ['deleted after the cursor, whatever the time: deleted', [one(1)], [one(1, { until: PULLED - HOUR })], [], [1]],
    ['removed after the cursor: deleted', [one(1)], [one(1, { removed: true, until: NOW - 1 })], [], [1]],
    ['removed after the cursor with until still ahead: not yet', [one(1)], [one(1, { removed: true })], [], []],
    [
      'a change that lowers nothing still counts as a change (SQL sets changed_xid)',
      [one(1, { until: PULLED - HOUR })],
      [one(1, { until: PULLED - HOUR })],
      [],
      [1],
    ],
    [
      // The deleted one is no longer the longest, so it is not in `deleted`: the re-sent one replaces its timeout.
      'the longer of a key deleted: the shorter one is sent again',
      [
        { id: 1, rec: { until: NOW + 2 * HOUR } },
        { id: 2, rec: { until: NOW + HOUR } },
      ],
      [{ id: 1, rec: { until: NOW - 1 } }],
      [2],
      [],
    ],
    [
      'the re-send follows the key, not the filter of the changed decision',
      [
        { id: 1, rec: { until: NOW + 2 * HOUR, origin: 'CAPI' } },
        { id: 2, rec: { until: NOW + HOUR } },
      ],
      [{ id: 1, rec: { until: NOW - 1, origin: 'CAPI' } }],
      [2],
      [],
    ],
    [
      'created after the cursor but shorter than an existing one: not new',
      [{ id: 1, rec: { until: NOW + 2 * HOUR } }],
      [{ id: 2, rec: { until: NOW + HOUR } }],
      [],
      [],
    ],
    ['created and deleted between two pulls: deleted only', [], [one(1), one(1, { until: NOW - 1 })], [], [1]],
    [
      'an expiry hidden by a longer active decision is not reported',
      [
        { id: 1, rec: { until: NOW - 1 } },
        { id: 2, rec: { until: NOW + HOUR } },
      ],
      [],
      [],
      [],
    ],
  ])('%s', (_, before, after, created, deleted) => {
    const page = pull(before, after, {}, true);
    expect([page.new, page.deleted]).toEqual([created, deleted]);
  });

  it('filters every part', () => {
    const before = [one(1, { until: NOW - 1 }), one(2)];
    const after = [one(3), one(4, { simulated: true }), one(2, { until: NOW - 1 })];
    expect(pull(before, after, { includeSimulated: false })).toMatchObject({ new: [3], deleted: [1, 2] });
    expect(pull(before, after, { value: '192.0.2.4' })).toMatchObject({ new: [4], deleted: [] });
  });

  it('re-sends the shorter decision only if it passes the filter', () => {
    const before = [
      { id: 1, rec: { until: NOW + 2 * HOUR } },
      { id: 2, rec: { until: NOW + HOUR, simulated: true } },
    ];
    const after = [{ id: 1, rec: { until: NOW - 1 } }];
    expect(pull(before, after, { includeSimulated: false })).toMatchObject({ new: [], deleted: [] });
    expect(pull(before, after, { includeSimulated: true })).toMatchObject({ new: [2], deleted: [] });
  });

  it('reports a deleted decision that stays the longest of its key', () => {
    const before = [
      { id: 1, rec: { until: NOW + 2 * HOUR } },
      { id: 2, rec: { until: NOW - HOUR } },
    ];
    expect(pull(before, [{ id: 1, rec: { until: NOW - 1 } }])).toMatchObject({ new: [], deleted: [1] });
  });

  it('dedup=false: no re-send needed, every part unfiltered by longest', () => {
    const before = [
      { id: 1, rec: { until: NOW + 2 * HOUR } },
      { id: 2, rec: { until: NOW - 1 } },
    ];
    const after = [{ id: 3, rec: { until: NOW + HOUR } }];
    expect(pull(before, after, {}, false)).toMatchObject({ new: [3], deleted: [2] });
  });

  it('returns the next cursor', () => {
    expect(pull([one(1)], [one(2)]).next).toEqual({ seq: 2 + 1 + (2 % 3), pulledAt: NOW });
  });

  it('finds expiries after a long pause (sorted buckets) as after a short one', () => {
    const index = new DecisionIndex();
    const untils = [NOW - 3 * 24 * HOUR, NOW - 2 * HOUR, NOW - 1500, NOW - 999, NOW, NOW + 1];
    untils.forEach((until, i) => index.apply(record(i + 1, { value: `192.0.2.${i}`, until }), i + 1));
    const ids = (pulledAt: number) =>
      index.delta(all, true, { seq: index.seq, pulledAt }, NOW).deleted.map((d) => d.id);
    expect(ids(NOW - 4 * 24 * HOUR)).toEqual([1, 2, 3, 4, 5]);
    expect(ids(NOW - 3 * HOUR)).toEqual([2, 3, 4, 5]);
    expect(ids(NOW - 2 * HOUR)).toEqual([3, 4, 5]);
    expect(ids(NOW - 1000)).toEqual([4, 5]);
    expect(ids(NOW)).toEqual([]);
    expect(ids(NOW + HOUR)).toEqual([]);
    // Lowering an until moves it to its new bucket, also once the sorted keys are built.
    index.apply(record(6, { value: '192.0.2.5', until: NOW - 2 * 24 * HOUR }), index.seq + 1);
    expect(
      index.delta(all, true, { seq: index.seq, pulledAt: NOW - 4 * 24 * HOUR }, NOW).deleted.map((d) => d.id),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(index.delta(all, true, { seq: index.seq, pulledAt: NOW - 1000 }, NOW).deleted.map((d) => d.id)).toEqual([
      4, 5,
    ]);
  });

  it('finds expiries after many moves of until (buckets rebuilt)', () => {
    const index = new DecisionIndex();
    for (let id = 1; id <= 10; id++) {
      index.apply(record(id, { value: `192.0.2.${id}`, until: NOW + id * HOUR }), id);
    }
    // Back and forth between two seconds, far more often than there are decisions.
    for (let i = 0; i < 3000; i++) {
      const id = 1 + (i % 10);
      const until = i % 2 ? NOW + id * HOUR : NOW - id * 1000;
      index.apply(record(id, { value: `192.0.2.${id}`, until }), index.seq + 1);
    }
    const cursor = { seq: index.seq, pulledAt: NOW - 5500 };
    // The last move of each decision: 1, 3, 5, 7, 9 are in the past; 2, 4, 6, 8, 10 were moved back ahead.
    expect(index.delta(all, true, cursor, NOW).deleted.map((d) => d.id)).toEqual([1, 3, 5]);
    expect(index.delta(all, true, { ...cursor, pulledAt: NOW - 2 * HOUR }, NOW).deleted.map((d) => d.id)).toEqual([
      1, 3, 5, 7, 9,
    ]);
    expect(index.find(all, NOW).map((d) => d.id)).toEqual([2, 4, 6, 8, 10]);
  });

  it('keeps answering after the change log is compacted', () => {
    const index = new DecisionIndex();
    index.apply(record(1, { value: '192.0.2.1' }), 1);
    index.apply(record(2, { value: '192.0.2.2' }), 2);
    const cursor = { seq: 2, pulledAt: PULLED };
    for (let i = 0; i < 5000; i++) {
      index.apply(record(1, { value: '192.0.2.1', until: NOW + HOUR - i }), 3 + i);
    }
    index.apply(record(3, { value: '192.0.2.3' }), 6000);
    expect(index.delta(all, true, cursor, NOW).new.map((d) => d.id)).toEqual([1, 3]);
    expect(index.delta(all, true, { seq: 4000, pulledAt: PULLED }, NOW).new.map((d) => d.id)).toEqual([1, 3]);
    expect(index.delta(all, true, { seq: 5999, pulledAt: PULLED }, NOW).new.map((d) => d.id)).toEqual([3]);
    expect(index.delta(all, true, { seq: 6000, pulledAt: PULLED }, NOW).new).toEqual([]);
  });
});

describe('DecisionIndex.find by value', () => {
  const { index, names } = build({
    a: { value: '192.0.2.1' },
    b: { scope: 'Username', value: '192.0.2.1' },
    c: { value: '192.0.2.0' },
    d: { scope: 'Range', value: '192.0.2.0/24' },
    e: { scope: 'Range', value: '192.0.2.1/24' },
    f: { scope: 'Username', value: 'alice' },
  });

  it.each([
    ['192.0.2.1', 'ab'],
    ['192.0.2.0', 'c'],
    ['192.0.2.0/24', 'd'],
    ['192.0.2.1/24', 'e'],
    ['alice', 'f'],
    ['nobody', ''],
  ])('value=%s', (value, expected) => {
    expect(names(index.find({ ...all, value }, NOW)).join('')).toBe(expected);
  });
});

describe('DecisionIndex.apply', () => {
  it('refuses a seq that does not grow', () => {
    const index = new DecisionIndex();
    index.apply(record(1), 5);
    expect(() => index.apply(record(2), 5)).toThrow(RangeError);
    expect(index.seq).toBe(5);
    expect(index.size).toBe(1);
  });

  it('re-indexes a decision whose value changes', () => {
    const index = new DecisionIndex();
    index.apply(record(1, { value: '192.0.2.1' }), 1);
    index.apply(record(1, { scope: 'Range', value: '198.51.100.0/24' }), 2);
    expect(index.find({ ...all, ip: ip('192.0.2.1') }, NOW)).toEqual([]);
    expect(index.find({ ...all, value: '192.0.2.1' }, NOW)).toEqual([]);
    expect(index.find({ ...all, ip: ip('198.51.100.7') }, NOW).map((d) => d.id)).toEqual([1]);
    expect(index.find({ ...all, range: ip('198.51.0.0/16'), contains: false }, NOW).map((d) => d.id)).toEqual([1]);
    index.apply(record(1, { scope: 'Username', value: 'bob' }), 3);
    expect(index.find({ ...all, range: ip('0.0.0.0/0'), contains: false }, NOW)).toEqual([]);
    expect(index.size).toBe(1);
  });
});

describe('DecisionIndex IP lookups against a brute-force scan', () => {
  // A seeded generator: a failure replays.
  let a = 42; // mulberry32
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const v4 = () => `10.${pick([0, 1, 255])}.${pick([0, 1, 7, 128])}.${pick([0, 1, 9, 200])}`;
  const v6 = () => `2001:db8:${pick(['0', '1', 'ff'])}::${pick(['0', '1', 'a:0', '8000:0:0:1'])}`;
  const cidr = () =>
    random() < 0.5 ? `${v4()}/${pick([0, 1, 8, 15, 16, 24, 31, 32])}` : `${v6()}/${pick([0, 32, 48, 64, 127, 128])}`;
  const anyIp = () => (random() < 0.5 ? (random() < 0.5 ? v4() : v6()) : cidr());

  it('finds exactly the covering and covered decisions', () => {
    const index = new DecisionIndex();
    const ranges = new Map<number, IpRange>();
    for (let id = 1; id <= 400; id++) {
      const value = anyIp();
      ranges.set(id, ip(value));
      index.apply(record(id, { scope: value.includes('/') ? 'Range' : 'Ip', value }), id);
    }
    for (let n = 0; n < 300; n++) {
      const target = ip(anyIp());
      const contains = random() < 0.5;
      const expected = [...ranges]
        .filter(([, r]) => (contains ? rangeContains(r, target) : rangeContains(target, r)))
        .map(([id]) => id);
      expect(index.find({ ...all, range: target, contains }, NOW).map((d) => d.id)).toEqual(expected);
    }
  });
});

describe('DecisionIndex from a snapshot, and compacted', () => {
  // The whole log: a put, a put, the first lowered, a put.
  const log: [DecisionRecord, number][] = [
    [record(1, { value: '192.0.2.1' }), 1],
    [record(2, { value: '192.0.2.2' }), 2],
    [record(1, { value: '192.0.2.1', until: NOW - MIN }), 3],
    [record(3, { value: '192.0.2.3', until: NOW + 2 * HOUR }), 4],
  ];
  const fromLog = () => {
    const index = new DecisionIndex();
    log.forEach(([r, seq]) => index.apply(r, seq));
    return index;
  };
  const answers = (index: DecisionIndex, cursor: IndexCursor) => {
    const page = index.delta(all, true, cursor, NOW);
    return { new: page.new.map((d) => d.id), deleted: page.deleted.map((d) => d.id) };
  };

  it('answers as the whole log when built from records with their first and last seqs, then the log after them', () => {
    const snapshot = new DecisionIndex();
    snapshot.apply(log[1][0], 2, 2);
    snapshot.apply(log[2][0], 3, 1); // first put at 1, last changed at 3
    snapshot.skipTo(3);
    snapshot.apply(log[3][0], 4);
    const whole = fromLog();
    expect(snapshot.seq).toBe(4);
    for (let seq = 0; seq <= 4; seq++) {
      const cursor = { seq, pulledAt: NOW - HOUR };
      expect({ seq, ...answers(snapshot, cursor) }).toEqual({ seq, ...answers(whole, cursor) });
    }
    // Not a vacuous comparison: from the start, 2 and 3 are new, 1 deleted.
    expect(answers(snapshot, { seq: 0, pulledAt: NOW - HOUR })).toEqual({ new: [2, 3], deleted: [1] });
  });

  it('drops the decisions that ended before the cutoff, from lookups, startup and expiries', () => {
    const index = fromLog();
    expect(index.compact(NOW - 2 * MIN)).toBe(0);
    expect(index.compact(NOW)).toBe(1);
    expect(index.size).toBe(2);
    expect(index.startup(all, false, NOW).deleted).toEqual([]);
    expect(index.delta(all, false, { seq: 0, pulledAt: NOW - HOUR }, NOW).deleted).toEqual([]);
    expect(index.find({ ...all, value: '192.0.2.1' }, NOW - 2 * HOUR)).toEqual([]);
    // It goes on: a later change of a kept decision is a change as before.
    index.apply(record(2, { value: '192.0.2.2', until: NOW - 1 }), 5);
    expect(answers(index, { seq: 4, pulledAt: NOW - MIN })).toEqual({ new: [], deleted: [2] });
  });
});

describe('DecisionIndex.countActive (cs_active_decisions)', () => {
  it('counts the active decisions per scenario, origin and type, leaving out ended and removed ones', () => {
    const { index } = build({
      a: { value: '192.0.2.1' },
      b: { value: '192.0.2.2' },
      c: { value: '192.0.2.3', type: 'captcha' },
      d: { value: '192.0.2.4', origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf' },
      e: { value: '192.0.2.5', until: NOW - MIN },
      f: { value: '192.0.2.6', removed: true },
    });
    const counts = index.countActive(NOW).sort((x, y) => (x.scenario + x.type < y.scenario + y.type ? -1 : 1));
    expect(counts).toEqual([
      { scenario: 'crowdsecurity/ssh-bf', origin: 'crowdsec', type: 'ban', count: 1 },
      { scenario: 'manual ban', origin: 'cscli', type: 'ban', count: 2 },
      { scenario: 'manual ban', origin: 'cscli', type: 'captcha', count: 1 },
    ]);
    expect(index.countActive(NOW + 2 * HOUR)).toEqual([]);
  });

  it('can pause every few decisions and give the same counts at the end', () => {
    const { index } = build({ a: {}, b: {}, c: { type: 'captcha' }, d: {}, e: { removed: true } });
    const pass = index.countingActive(NOW, 2);
    let pauses = 0;
    let step = pass.next();
    while (!step.done) {
      pauses++;
      step = pass.next();
    }
    expect(pauses).toBe(2);
    expect(step.value).toEqual(index.countActive(NOW));
  });
});

describe('DecisionIndex startup answers, shared', () => {
  const json = async (body: { identity(): Promise<Buffer[]> } | undefined) =>
    Buffer.concat(await body!.identity()).toString();

  it('are taken once for the startup pulls that come before any change, expiry, or STARTUP_REUSE_MS', () => {
    const { index } = build({ a: { value: '192.0.2.1' }, b: { value: '192.0.2.2', until: NOW + 5_000 } });
    const first = index.startup(all, true, NOW);
    expect(index.startup(all, true, NOW + 400).body).toBe(first.body);
    expect(index.startup(all, false, NOW).body).not.toBe(first.body); // other filters, other answer
    expect(index.startup({ ...all, ip: ip('192.0.2.1') }, true, NOW).body).not.toBe(first.body);
    expect(index.startup(all, true, NOW + STARTUP_REUSE_MS + 1).body).not.toBe(first.body);
    expect(index.startup(all, true, NOW - 1).body).not.toBe(first.body); // a clock behind the answer

    const later = index.startup(all, true, NOW + 4_500);
    const afterExpiry = index.startup(all, true, NOW + 5_000); // b ends at NOW + 5 s
    expect(afterExpiry.body).not.toBe(later.body);
    expect(afterExpiry.deleted.map((d) => d.id)).toEqual([2]);

    const beforeChange = index.startup(all, true, NOW + 5_100);
    index.apply(record(3, { value: '192.0.2.3' }), 3);
    const afterChange = index.startup(all, true, NOW + 5_100);
    expect(afterChange.body).not.toBe(beforeChange.body);
    expect(afterChange.new.map((d) => d.id)).toEqual([1, 3]);
    expect(afterChange.next).toEqual({ seq: 3, pulledAt: NOW + 5_100 });
  });

  it('are shared while being rendered, up to STARTUP_SHARE_MS', async () => {
    const { index } = build({ a: { value: '192.0.2.1' } });
    const first = index.startup(all, true, NOW);
    const rendering = first.body!.identity();
    expect(index.startup(all, true, NOW + STARTUP_REUSE_MS + 1).body).toBe(first.body);
    expect(index.startup(all, true, NOW + STARTUP_SHARE_MS + 1).body).not.toBe(first.body);
    await rendering;
    // Rendered (in well under STARTUP_REUSE_MS): the usual window again.
    const second = index.startup(all, true, NOW + 2 * STARTUP_SHARE_MS);
    await second.body!.identity();
    expect(index.startup(all, true, NOW + 2 * STARTUP_SHARE_MS + STARTUP_REUSE_MS + 1).body).not.toBe(second.body);
  });

  it('render what the pull answered then, even once the index changed its entries', async () => {
    const { index } = build({ a: { value: '192.0.2.1' }, b: { value: '192.0.2.2' } });
    const page = index.startup(all, true, NOW);
    // Decision a is deleted (ended now) before the body is rendered.
    index.apply(record(1, { value: '192.0.2.1', until: NOW, removed: true }), 3);
    const body = JSON.parse(await json(page.body)) as { new: { id: number; duration: string }[]; deleted: null };
    expect(body).toEqual({
      new: [expect.objectContaining({ id: 1, duration: '1h0m0s' }), expect.objectContaining({ id: 2 })],
      deleted: null,
    });
    expect(page.new.map((d) => d.until.getTime())).toEqual([NOW + HOUR, NOW + HOUR]);
  });

  it('come gzipped as the same text', async () => {
    const { index } = build({ a: { value: '192.0.2.1' }, b: { scope: 'Range', value: '192.0.2.0/24' } });
    const page = index.startup(all, true, NOW);
    expect(gunzipSync(Buffer.concat(await page.body!.gzip())).toString()).toBe(await json(page.body));
  });

  it('are dropped by compaction', () => {
    const { index } = build({ a: { value: '192.0.2.1', until: NOW - HOUR }, b: { value: '192.0.2.2' } });
    const before = index.startup(all, true, NOW);
    expect(before.deleted.map((d) => d.id)).toEqual([1]);
    index.compact(NOW - MIN);
    const after = index.startup(all, true, NOW);
    expect(after.body).not.toBe(before.body);
    expect(after.deleted).toEqual([]);
  });
});
