import { activeItems, type Allowlist } from '@lapi/domain/allowlists/allowlist';
import { instanceStreamKey, latestPull, positionKeys, type Bouncer } from '@lapi/domain/bouncers/bouncer';
import { type Machine } from '@lapi/domain/machines/machine';
import { printable } from '@lapi/domain/shared/printable';

/** A plain text table, the way cscli prints lists; cells show control characters escaped (names are clients'). */
export function table(headers: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map(printable));
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

/**
 * One row per bouncer and per other process using its key, as cscli ≥1.6.5 lists its `<name>@<ip>` rows
 * (`auto_created`). `lastPulls`, by position key: each process's last stream pull or lookup; a bouncer's last pull
 * is the latest of its processes' (and of the one recorded by events before pulls stopped being events).
 */
export const bouncerRows = (bouncers: readonly Bouncer[], lastPulls: ReadonlyMap<string, string>) =>
  bouncers.flatMap((b) => [
    {
      name: b.name,
      ip_address: b.ipAddress,
      type: b.type,
      version: b.version,
      created_at: b.createdAt,
      updated_at: b.updatedAt,
      last_pull: latestPull([b.lastPull, ...positionKeys(b).map((key) => lastPulls.get(key))]),
      revoked: false,
      auth_type: b.authType,
      auto_created: false,
    },
    ...b.instances.map((i) => ({
      name: i.name,
      ip_address: i.ipAddress,
      type: i.type,
      version: i.version,
      created_at: i.firstSeen,
      updated_at: i.updatedAt,
      last_pull: lastPulls.get(instanceStreamKey(b.name, i.name)) ?? null,
      revoked: false,
      auth_type: b.authType,
      auto_created: true,
    })),
  ]);

/** The position keys whose last pull the listing needs. */
export const listedPositionKeys = (bouncers: readonly Bouncer[]): string[] => bouncers.flatMap(positionKeys);

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

export const bouncersTable = (rows: ReturnType<typeof bouncerRows>): string =>
  table(
    ['Name', 'IP Address', 'Valid', 'Last API pull', 'Type', 'Version', 'Auth Type'],
    rows.map((r) => [r.name, r.ip_address, '✔️', r.last_pull ?? '', r.type, r.version, r.auth_type]),
  );

/** An allowlist as `cscli allowlists list -o json` shows it (the API's GetAllowlistResponse), expired items left out. */
export const allowlistJson = (list: Allowlist, now: Date) => ({
  name: list.name,
  description: list.description,
  created_at: list.createdAt,
  updated_at: list.updatedAt,
  console_managed: false,
  items: activeItems(list, now).map((i) => ({
    value: i.value,
    description: i.description,
    created_at: i.createdAt,
    expiration: i.expiresAt,
  })),
});

export const allowlistsTable = (lists: readonly Allowlist[], now: Date): string =>
  table(
    ['Name', 'Description', 'Created at', 'Updated at', 'Managed by Console', 'Size'],
    lists.map((l) => [l.name, l.description, l.createdAt, l.updatedAt, 'no', String(activeItems(l, now).length)]),
  );

export const allowlistInspection = (list: Allowlist, now: Date): string =>
  [
    table(
      ['Allowlist', list.name],
      [
        ['Description', list.description],
        ['Created at', list.createdAt],
        ['Updated at', list.updatedAt],
        ['Managed by Console', 'no'],
      ],
    ),
    '',
    table(
      ['Value', 'Comment', 'Expiration', 'Created at'],
      activeItems(list, now).map((i) => [i.value, i.description, i.expiresAt ?? 'never', i.createdAt]),
    ),
  ].join('\n');
