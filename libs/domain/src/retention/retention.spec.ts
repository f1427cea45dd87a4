import {
  alertsToFlush,
  autodeleteCutoff,
  flushAgeCutoff,
  flushReason,
  isActiveDecision,
  isStaleBouncer,
  isStaleMachine,
  type AlertRetentionFacts,
  type AutodeletePolicy,
  type BouncerRetentionFacts,
  type FlushPolicy,
  type MachineRetentionFacts,
} from '..';

const now = new Date('2026-11-28T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe('isActiveDecision', () => {
  it.each([
    ['until ahead', { until: ago(-1), removed: false }, true],
    ['until now', { until: now, removed: false }, false],
    ['until past', { until: ago(1), removed: false }, false],
    ['until ahead but its alert deleted', { until: ago(-DAY), removed: true }, false],
  ])('%s → %s', (_, decision, active) => {
    expect(isActiveDecision(decision, now)).toBe(active);
  });
});

describe('the flush of alerts', () => {
  const alert = (id: number, ageMs: number, ownsActiveDecision = false): AlertRetentionFacts => ({
    id,
    createdAt: ago(ageMs),
    ownsActiveDecision,
  });

  it.each<[string, AlertRetentionFacts, FlushPolicy, number | undefined, ReturnType<typeof flushReason>]>([
    ['no limit', alert(1, 30 * DAY), {}, undefined, null],
    ['older than max_age', alert(1, 8 * DAY), { maxAgeMs: 7 * DAY }, undefined, 'age'],
    ['exactly max_age old (created_at <= cutoff)', alert(1, 7 * DAY), { maxAgeMs: 7 * DAY }, undefined, 'age'],
    ['younger than max_age', alert(1, 7 * DAY - 1), { maxAgeMs: 7 * DAY }, undefined, null],
    ['older than max_age but owns an active decision', alert(1, 8 * DAY, true), { maxAgeMs: 7 * DAY }, undefined, null],
    ['below the count limit', alert(4, 0), { maxItems: 2 }, 5, 'count'],
    ['the oldest kept by the count', alert(5, 0), { maxItems: 2 }, 5, null],
    ['newer than the count limit', alert(6, 0), { maxItems: 2 }, 5, null],
    ['below the count limit but owns an active decision', alert(4, 0, true), { maxItems: 2 }, 5, null],
    ['no more alerts than max_items', alert(1, 0), { maxItems: 2 }, undefined, null],
    ['a limit id without max_items', alert(1, 0), {}, 5, null],
    ['both limits, age first', alert(1, 8 * DAY), { maxItems: 2, maxAgeMs: 7 * DAY }, 5, 'age'],
    ['both limits, count only', alert(1, DAY), { maxItems: 2, maxAgeMs: 7 * DAY }, 5, 'count'],
  ])('%s', (_, facts, policy, limit, reason) => {
    expect(flushReason(facts, policy, { now, countLimitId: limit })).toBe(reason);
  });

  it('keeps the newest max_items by id and every alert owning an active decision', () => {
    const alerts = [alert(1, 5 * DAY), alert(2, 4 * DAY, true), alert(3, 3 * DAY), alert(7, 2 * DAY), alert(9, DAY)];
    // With max_items 2 the second newest (7) is the oldest kept.
    expect(alertsToFlush(alerts, { maxItems: 2 }, { now, countLimitId: 7 })).toEqual([1, 3]);
    expect(alertsToFlush(alerts, { maxItems: 2, maxAgeMs: 2 * DAY }, { now, countLimitId: 7 })).toEqual([1, 3, 7]);
  });

  it('cuts off by age only when max_age is set', () => {
    expect(flushAgeCutoff({}, now)).toBeUndefined();
    expect(flushAgeCutoff({ maxAgeMs: DAY }, now)).toEqual(ago(DAY));
  });
});

describe('the autodelete of machines', () => {
  const policy: AutodeletePolicy = { machines: { password: 7 * DAY, tls: DAY }, bouncers: {} };
  const machine = (over: Partial<MachineRetentionFacts>): MachineRetentionFacts => ({
    machineId: 'm',
    authType: 'password',
    ipAddress: '10.0.0.1',
    lastHeartbeat: ago(8 * DAY),
    hasAlerts: false,
    ...over,
  });

  it.each<[string, Partial<MachineRetentionFacts>, AutodeletePolicy, boolean]>([
    ['login/password, silent for longer than its duration', {}, policy, true],
    ['login/password, silent for exactly its duration', { lastHeartbeat: ago(7 * DAY) }, policy, true],
    ['login/password, seen within its duration', { lastHeartbeat: ago(2 * DAY) }, policy, false],
    [
      'cert, silent for longer than its (shorter) duration',
      { authType: 'tls', lastHeartbeat: ago(2 * DAY) },
      policy,
      true,
    ],
    ['login/password without a duration', {}, { machines: { tls: DAY }, bouncers: {} }, false],
    ['cert without a duration', { authType: 'tls' }, { machines: { password: DAY }, bouncers: {} }, false],
    ['never sent a heartbeat', { lastHeartbeat: null }, policy, false],
    ['still owns alerts', { hasAlerts: true }, policy, false],
    ['last seen from IPv4 loopback', { ipAddress: '127.0.0.1' }, policy, false],
    ['last seen from IPv6 loopback', { ipAddress: '::1' }, policy, false],
  ])('%s', (_, over, p, stale) => {
    expect(isStaleMachine(machine(over), p, now)).toBe(stale);
  });
});

describe('the autodelete of bouncers', () => {
  const policy: AutodeletePolicy = { machines: {}, bouncers: { apiKey: 7 * DAY, tls: DAY } };
  const bouncer = (over: Partial<BouncerRetentionFacts>): BouncerRetentionFacts => ({
    name: 'b',
    authType: 'api-key',
    lastPull: ago(8 * DAY),
    ...over,
  });

  it.each<[string, Partial<BouncerRetentionFacts>, AutodeletePolicy, boolean]>([
    ['API key, no pull for longer than its duration', {}, policy, true],
    ['API key, no pull for exactly its duration', { lastPull: ago(7 * DAY) }, policy, true],
    ['API key, pulled within its duration', { lastPull: ago(DAY) }, policy, false],
    ['cert, no pull for longer than its duration', { authType: 'tls', lastPull: ago(2 * DAY) }, policy, true],
    ['API key without a duration', {}, { machines: {}, bouncers: { tls: DAY } }, false],
    ['never pulled', { lastPull: null }, policy, false],
  ])('%s', (_, over, p, stale) => {
    expect(isStaleBouncer(bouncer(over), p, now)).toBe(stale);
  });
});

describe('autodeleteCutoff', () => {
  it('reaches back by the shortest duration set, or nowhere', () => {
    expect(autodeleteCutoff([undefined, undefined], now)).toBeUndefined();
    expect(autodeleteCutoff([7 * DAY, undefined, DAY], now)).toEqual(ago(DAY));
  });
});
