import type { Machine } from '@lapi/domain';
import { bouncerRows, bouncersTable, machinesTable } from './format';

const at = '2026-01-01T00:00:00.000Z';

describe('CLI tables', () => {
  it('print a machine name with terminal escapes as text, not as a fake green row', () => {
    const forged = '\u001b[2K\r\u001b[32mtrusted-agent\u001b[0m\nfake';
    const machine: Machine = {
      machineId: forged,
      passwordHash: '',
      ipAddress: '127.0.0.1',
      authType: 'password',
      validated: false,
      version: null,
      scenarios: null,
      createdAt: at,
      updatedAt: at,
      lastPush: null,
      lastHeartbeat: null,
    };
    const text = machinesTable([machine]);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text).toContain('\\x1b[2K\\r\\x1b[32mtrusted-agent\\x1b[0m\\nfake');
    expect(text.split('\n')).toHaveLength(5);
  });

  it('escape bouncer names and user agents too', () => {
    const rows = bouncerRows(
      [
        {
          name: 'b\u001b]0;title\u0007',
          ipAddress: '127.0.0.1',
          type: 'ua\r\nx',
          version: 'v1',
          createdAt: at,
          updatedAt: at,
          lastPull: null,
          authType: 'api-key',
          instances: [],
        } as unknown as Parameters<typeof bouncerRows>[0][number],
      ],
      new Map(),
    );
    const text = bouncersTable(rows);
    expect(text).toContain('b\\x1b]0;title\\x07');
    expect(text).toContain('ua\\r\\nx');
    expect(text.split('\n')).toHaveLength(5);
  });
});
