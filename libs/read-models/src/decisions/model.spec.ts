import { decisionChanges, type DecisionState } from './model';
import type { DecisionOp, DecisionRecord } from './redis/decision-record';

const record = (id: number, alertId: number, until: number, removed = false): DecisionRecord => ({
  id,
  uuid: `uuid-${id}`,
  alertId,
  origin: 'cscli',
  type: 'ban',
  scope: 'Ip',
  value: `192.0.2.${id}`,
  scenario: 'manual ban',
  simulated: false,
  until,
  removed,
});

/** Records kept as the changes are yielded, as every store that uses the rules does. */
function store(...initial: DecisionRecord[]) {
  const records = new Map(initial.map((r) => [r.id, r]));
  const alerts = new Map<number, number[]>();
  for (const r of initial) {
    alerts.set(r.alertId, [...(alerts.get(r.alertId) ?? []), r.id]);
  }
  const state: DecisionState = { get: (id) => records.get(id), idsOfAlert: (a) => alerts.get(a) ?? [] };
  const apply = (ops: DecisionOp[]) => {
    const changes = [];
    for (const c of decisionChanges(ops, state)) {
      records.set(c.record.id, c.record);
      if (c.created) {
        alerts.set(c.record.alertId, [...(alerts.get(c.record.alertId) ?? []), c.record.id]);
      }
      changes.push({ id: c.record.id, until: c.record.until, removed: c.record.removed, created: c.created });
    }
    return changes;
  };
  return { apply, records };
}

describe('what events do to decisions (decisionChanges)', () => {
  it('creates each decision an alert carries', () => {
    const s = store();
    expect(s.apply([{ op: 'put', record: record(1, 7, 5000) }])).toEqual([
      { id: 1, until: 5000, removed: false, created: true },
    ]);
  });

  it('ends a deleted decision at the deletion time, only while it is still active then', () => {
    const s = store(record(1, 7, 5000), record(2, 7, 1000), record(3, 7, 1500, true));
    expect(s.apply([{ op: 'expire', ids: [1, 2, 3, 99], at: 2000 }])).toEqual([
      { id: 1, until: 2000, removed: false, created: false },
    ]);
    // Deleted again: it had ended by then, so nothing (each end is announced once).
    expect(s.apply([{ op: 'expire', ids: [1], at: 2500 }])).toEqual([]);
  });

  it("removes an alert's active decisions by ascending id, skipping those ended or removed already", () => {
    const s = store(record(9, 7, 5000), record(4, 7, 5000), record(6, 7, 1500), record(5, 7, 5000, true));
    expect(s.apply([{ op: 'removeAlerts', alertIds: [7, 8], at: 2000 }])).toEqual([
      { id: 4, until: 2000, removed: true, created: false },
      { id: 9, until: 2000, removed: true, created: false },
    ]);
  });

  it('changes nothing for a recorded expiry', () => {
    const s = store(record(1, 7, 1000));
    expect(s.apply([{ op: 'expired', ids: [1] }])).toEqual([]);
  });

  it('lets the ops of one batch see each other', () => {
    const s = store();
    expect(
      s.apply([
        { op: 'put', record: record(1, 7, 5000) },
        { op: 'expire', ids: [1, 1], at: 3000 },
        { op: 'removeAlerts', alertIds: [7], at: 4000 },
      ]),
    ).toEqual([
      { id: 1, until: 5000, removed: false, created: true },
      { id: 1, until: 3000, removed: false, created: false },
    ]);
  });
});
