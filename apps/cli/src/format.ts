import { activeItems, type Allowlist } from '@lapi/domain/allowlists/allowlist';
import { instanceStreamKey, lastPullOf, positionKeys, type Bouncer } from '@lapi/domain/bouncers/bouncer';
import { type Machine } from '@lapi/domain/machines/machine';
import { formatGoDuration, NANOS_PER_MS } from '@lapi/domain/shared/go-duration';
import { printable } from '@lapi/domain/shared/printable';
import { csv } from './output';

/** How a table is drawn: with colours and emoji (`--color`), or plain text for pipes, files and NO_COLOR. */
export interface TableStyle {
  readonly color: boolean;
}

const PLAIN: TableStyle = { color: false };
const BOLD = (text: string) => `\u001b[1m${text}\u001b[0m`;

/**
 * A text table, the way cscli prints lists; cells show control characters escaped (names are clients'). Colour
 * only makes the header bold, added after padding so that the columns stay aligned.
 */
export function table(headers: string[], rawRows: string[][], style: TableStyle = PLAIN): string {
  const rows = rawRows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const header = style.color ? BOLD(line(headers)) : line(headers);
  return [rule, header, rule, ...rows.map(line), rule].join('\n');
}

/** `-o raw`: the same cells as CSV, control characters escaped as in tables. */
export const rawTable = (headers: string[], rows: string[][]): string =>
  csv(
    headers,
    rows.map((r) => r.map(printable)),
  );

/** Go's time.RFC3339 (seconds, no fraction), as cscli's raw output writes times; empty for none. */
export const rfc3339 = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';

/** cscli's last heartbeat: the time since, in Go's notation truncated to the second (`4m20s`), or `-`. */
export const sinceHeartbeat = (iso: string | null, now: Date): string =>
  iso === null
    ? '-'
    : formatGoDuration(BigInt(Math.max(0, Math.floor((now.getTime() - Date.parse(iso)) / 1000)) * 1000) * NANOS_PER_MS);

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
      last_pull: lastPullOf(b, lastPulls),
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

/** A validation state as cscli shows it: its emoji in colour, else the word its raw output uses. */
const validity = (validated: boolean, style: TableStyle): string =>
  style.color ? (validated ? '✔️' : '🚫') : validated ? 'validated' : 'pending';

export const machinesTable = (machines: Machine[], style: TableStyle = PLAIN): string =>
  table(
    ['Name', 'IP Address', 'Last Update', 'Status', 'Version', 'Auth Type', 'Last Heartbeat'],
    machines.map((m) => [
      m.machineId,
      m.ipAddress,
      m.updatedAt,
      validity(m.validated, style),
      m.version ?? '',
      m.authType,
      m.lastHeartbeat ?? '-',
    ]),
    style,
  );

/** `lapi machines list -o raw`: `cscli machines list -o raw`'s columns. */
export const machinesCsv = (machines: Machine[], now: Date): string =>
  rawTable(
    ['machine_id', 'ip_address', 'updated_at', 'validated', 'version', 'auth_type', 'last_heartbeat'],
    machines.map((m) => [
      m.machineId,
      m.ipAddress,
      rfc3339(m.updatedAt),
      String(m.validated),
      m.version ?? '',
      m.authType,
      sinceHeartbeat(m.lastHeartbeat, now),
    ]),
  );

export const bouncersTable = (rows: ReturnType<typeof bouncerRows>, style: TableStyle = PLAIN): string =>
  table(
    ['Name', 'IP Address', 'Valid', 'Last API pull', 'Type', 'Version', 'Auth Type'],
    rows.map((r) => [
      r.name,
      r.ip_address,
      validity(!r.revoked, style),
      r.last_pull ?? '',
      r.type,
      r.version,
      r.auth_type,
    ]),
    style,
  );

/** `lapi bouncers list -o raw`: `cscli bouncers list -o raw`'s columns. */
export const bouncersCsv = (rows: ReturnType<typeof bouncerRows>): string =>
  rawTable(
    ['name', 'ip', 'revoked', 'last_pull', 'type', 'version', 'auth_type'],
    rows.map((r) => [
      r.name,
      r.ip_address,
      r.revoked ? 'pending' : 'validated',
      rfc3339(r.last_pull),
      r.type,
      r.version,
      r.auth_type,
    ]),
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

export const allowlistsTable = (lists: readonly Allowlist[], now: Date, style: TableStyle = PLAIN): string =>
  table(
    ['Name', 'Description', 'Created at', 'Updated at', 'Managed by Console', 'Size'],
    lists.map((l) => [l.name, l.description, l.createdAt, l.updatedAt, 'no', String(activeItems(l, now).length)]),
    style,
  );

/** `lapi allowlists list -o raw`: `cscli allowlists list -o raw`'s columns. */
export const allowlistsCsv = (lists: readonly Allowlist[], now: Date): string =>
  rawTable(
    ['name', 'description', 'created_at', 'updated_at', 'console_managed', 'size'],
    lists.map((l) => [
      l.name,
      l.description,
      rfc3339(l.createdAt),
      rfc3339(l.updatedAt),
      'false',
      String(activeItems(l, now).length),
    ]),
  );

export const allowlistInspection = (list: Allowlist, now: Date, style: TableStyle = PLAIN): string =>
  [
    table(
      ['Allowlist', list.name],
      [
        ['Description', list.description],
        ['Created at', list.createdAt],
        ['Updated at', list.updatedAt],
        ['Managed by Console', 'no'],
      ],
      style,
    ),
    '',
    table(
      ['Value', 'Comment', 'Expiration', 'Created at'],
      activeItems(list, now).map((i) => [i.value, i.description, i.expiresAt ?? 'never', i.createdAt]),
      style,
    ),
  ].join('\n');

/** `lapi allowlists inspect NAME -o raw`: `cscli allowlists inspect -o raw`'s columns, a line per item. */
export const allowlistCsv = (list: Allowlist, now: Date): string =>
  rawTable(
    ['name', 'description', 'value', 'comment', 'expiration', 'created_at', 'console_managed'],
    activeItems(list, now).map((i) => [
      list.name,
      list.description,
      i.value,
      i.description,
      i.expiresAt ? rfc3339(i.expiresAt) : 'never',
      rfc3339(i.createdAt),
      'false',
    ]),
  );
