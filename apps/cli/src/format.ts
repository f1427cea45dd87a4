import type { Bouncer, Machine } from '@lapi/domain';

/** A plain text table, the way cscli prints lists. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [rule, line(headers), rule, ...rows.map(line), rule].join('\n');
}

// JSON field names follow `cscli machines list -o json` so scripts written for cscli keep working.
export const machineJson = (m: Machine) => ({
  machineId: m.machineId,
  ipAddress: m.ipAddress,
  isValidated: m.validated,
  version: m.version ?? '',
  scenarios: m.scenarios ?? '',
  auth_type: m.authType,
  created_at: m.createdAt,
  updated_at: m.updatedAt,
  last_push: m.lastPush,
  last_heartbeat: m.lastHeartbeat,
});

export const bouncerJson = (b: Bouncer) => ({
  name: b.name,
  ip_address: b.ipAddress,
  type: b.type,
  version: b.version,
  created_at: b.createdAt,
  updated_at: b.updatedAt,
  last_pull: b.lastPull,
  revoked: false,
  auth_type: b.authType,
});

export const machinesTable = (machines: Machine[]): string =>
  table(
    ['Name', 'IP Address', 'Last Update', 'Status', 'Version', 'Auth Type', 'Last Heartbeat'],
    machines.map((m) => [
      m.machineId,
      m.ipAddress,
      m.updatedAt,
      m.validated ? '✔️' : '🚫',
      m.version ?? '',
      m.authType,
      m.lastHeartbeat ?? '-',
    ]),
  );

export const bouncersTable = (bouncers: Bouncer[]): string =>
  table(
    ['Name', 'IP Address', 'Valid', 'Last API pull', 'Type', 'Version', 'Auth Type'],
    bouncers.map((b) => [b.name, b.ipAddress, '✔️', b.lastPull ?? '', b.type, b.version, b.authType]),
  );
