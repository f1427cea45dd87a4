import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore } from '@lapi/event-store';
import { anAlert, openTestDatabase } from '@lapi/testing';
import { alertsProjection } from './decisions.projection';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };

describe.each(['pglite', 'postgres'] as const)('the decisions rows of an alert (%s)', (backend) => {
  it('keeps every text as it was given: quotes, backslashes, commas, braces, NULL, unicode', async () => {
    const { handle, dispose } = await openTestDatabase(backend);
    try {
      const store = new PostgresEventStore(handle.db, [alertsProjection]);
      const values = ['a"b', 'back\\slash', 'x,y', '{braces}', 'NULL', 'élan ✓', ' spaced ', ''];
      const event = receiveAlert(
        anAlert(),
        [
          ...values.map((value) => ({
            duration: '1h',
            origin: 'o"1',
            scenario: 's\\2',
            scope: 'username',
            type: 'ban',
            value,
          })),
          { duration: '2h', origin: 'cscli', scenario: 's', scope: 'Range', type: 'ban', value: '10.1.0.0/16' },
        ],
        'm',
        {
          alertId: 7,
          alertUuid: 'a7',
          decisionIds: [1, 2, 3, 4, 5, 6, 7, 8, 9],
          decisionUuids: values.map((v, i) => `d${i}`).concat('d8'),
        },
        new Date(),
      );
      await store.appendToStream('alert-7', [event], { expectedVersion: 'no_stream', metadata });
      const rows = await handle.db
        .selectFrom('decisions')
        .select([
          'id',
          'uuid',
          'alert_id',
          'origin',
          'scenario',
          'value',
          'scope',
          'simulated',
          'until',
          'ip_family',
          'ip_start',
          'ip_end',
        ])
        .orderBy('id')
        .execute();
      expect(rows.map((r) => [r.value, r.origin, r.scenario, r.uuid])).toEqual([
        ...values.map((v, i) => [v, 'o"1', 's\\2', `d${i}`]),
        ['10.1.0.0/16', 'cscli', 's', 'd8'],
      ]);
      expect(rows.map((r) => [String(r.id), String(r.alert_id), r.simulated])).toContainEqual(['9', '7', false]);
      expect(rows.map((r) => new Date(r.until).toISOString())).toEqual(event.data.decisions.map((d) => d.until));
      expect(rows.slice(0, 8).every((r) => r.ip_family === null && r.ip_start === null)).toBe(true);
      expect([rows[8].ip_family, String(rows[8].ip_start), String(rows[8].ip_end)]).toEqual([
        4,
        String((10n << 24n) | (1n << 16n)),
        String((10n << 24n) | (1n << 16n) | 0xffffn),
      ]);
    } finally {
      await dispose();
    }
  });
});
