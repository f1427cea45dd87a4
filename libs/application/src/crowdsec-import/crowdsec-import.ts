import { importedAlertReceived, type CrowdsecAlert } from '@lapi/domain/alerts/import-alert';
import { decideAllowlist, evolveAllowlist } from '@lapi/domain/allowlists/allowlist';
import { allowlistStreamId, type AllowlistItemInput } from '@lapi/domain/allowlists/allowlist.events';
import { decideBouncer, sameImportedBouncer } from '@lapi/domain/bouncers/bouncer';
import { bouncerStreamId, type ImportedBouncer } from '@lapi/domain/bouncers/bouncer.events';
import { decideMachine, sameImportedMachine } from '@lapi/domain/machines/machine';
import { machineStreamId, type ImportedMachine } from '@lapi/domain/machines/machine.events';
import { DomainError, ValidationError } from '@lapi/domain/shared/errors';
import type { DomainEvent } from '@lapi/domain/shared/event';
import type { AppendResult, ExpectedVersion } from '@lapi/event-store';
import { allocateAlertIds } from '@lapi/read-models/alerts/alert-ids';
import {
  findBouncersByKeyHashes,
  loadBouncerAggregates,
  loadMachineAggregates,
} from '@lapi/read-models/clients/aggregates';
import { randomUUID } from 'node:crypto';
import { alertAppends } from '../alerts/alert-writes';
import { loadAllowlist } from '../allowlists/allowlist-writes';
import { refuseOn } from '../shared/bulk';
import { toMetadata, type CommandContext, type WriteDeps } from '../shared/ports';

// No Nest here: the admin CLI (which loads no framework) and the API's admin socket share this write.

/** An allowlist of a CrowdSec ≥1.6 database with its items (those expired there are left out). */
export interface CrowdsecAllowlist {
  readonly name: string;
  readonly description: string;
  readonly items: readonly AllowlistItemInput[];
}

/** What `lapi import-crowdsec` read from a CrowdSec database. */
export interface CrowdsecSnapshot {
  readonly machines: readonly ImportedMachine[];
  readonly bouncers: readonly ImportedBouncer[];
  /** The alerts holding active decisions, with only those decisions. */
  readonly alerts: readonly CrowdsecAlert[];
  readonly allowlists: readonly CrowdsecAllowlist[];
}

export interface CrowdsecImportOptions {
  /** Count what would be imported, write nothing. */
  readonly dryRun: boolean;
  /**
   * A name taken here by another machine or bouncer (other credentials) keeps ours and the source's is skipped;
   * without it such clashes refuse the whole import.
   */
  readonly keepExisting: boolean;
}

/** What an import did (or would do, in a dry run). `unchanged`: imported before, identical. */
export interface CrowdsecImportReport {
  readonly dryRun: boolean;
  readonly machines: { imported: number; unchanged: number; kept: string[] };
  readonly bouncers: { imported: number; unchanged: number; kept: string[] };
  readonly alerts: { imported: number; unchanged: number };
  readonly decisions: { imported: number };
  readonly allowlists: { created: number; itemsAdded: number };
}

/** Names taken here with other credentials: the import is refused whole (unless told to keep ours). */
export class CrowdsecImportClashError extends DomainError {
  readonly code = 'VALIDATION';
  constructor(readonly clashes: readonly string[]) {
    super(
      `nothing imported: ${clashes.length} name(s) are taken here with other credentials: ${clashes.join('; ')}. ` +
        'Delete or rename ours, or import the rest and keep ours (--keep-existing).',
    );
  }
}

type Append = { streamId: string; events: DomainEvent[]; expectedVersion: ExpectedVersion };

// Bind parameters per statement stay far below PostgreSQL's 65,535.
const UUID_CHUNK = 5_000;

/**
 * Imports machines, bouncers, alerts with their active decisions and allowlists as events, all in one transaction
 * or none. What was imported before (same machine and hash, same bouncer and key hash, an alert with the same
 * import key, an allowlist item already listed) is left as it is, so a second run changes nothing.
 */
export async function importCrowdsec(
  deps: WriteDeps,
  snapshot: CrowdsecSnapshot,
  options: CrowdsecImportOptions,
  context: CommandContext,
): Promise<{ report: CrowdsecImportReport; appended: readonly AppendResult[] }> {
  const now = deps.clock.now();
  const db = deps.database.db;
  refuseOn(duplicates(snapshot));
  const appends: Append[] = [];
  const clashes: string[] = [];

  const machines = { imported: 0, unchanged: 0, kept: [] as string[] };
  const loadedMachines = await loadMachineAggregates(
    db,
    snapshot.machines.map((m) => m.machineId),
  );
  snapshot.machines.forEach((machine, i) => {
    const { state, version } = loadedMachines[i];
    if (state && !sameImportedMachine(state, machine)) {
      clashes.push(`machine '${machine.machineId}'`);
      machines.kept.push(machine.machineId);
    } else if (state) {
      machines.unchanged++;
    } else {
      machines.imported++;
      const events = decideMachine({ type: 'ImportMachine', data: { machine } }, state, now);
      appends.push({ streamId: machineStreamId(machine.machineId), events, expectedVersion: version });
    }
  });

  const bouncers = { imported: 0, unchanged: 0, kept: [] as string[] };
  const loadedBouncers = await loadBouncerAggregates(
    db,
    snapshot.bouncers.map((b) => b.name),
  );
  // A key identifies one bouncer: one held here by a bouncer of another name would make the two indistinguishable.
  const keyHolders = new Map(
    (
      await findBouncersByKeyHashes(
        db,
        snapshot.bouncers.filter((b) => b.apiKeyHash !== '').map((b) => b.apiKeyHash),
      )
    ).map((b) => [b.apiKeyHash, b.name]),
  );
  snapshot.bouncers.forEach((bouncer, i) => {
    const { state, version } = loadedBouncers[i];
    const holder = bouncer.apiKeyHash === '' ? undefined : keyHolders.get(bouncer.apiKeyHash);
    if (state && !sameImportedBouncer(state, bouncer)) {
      clashes.push(`bouncer '${bouncer.name}'`);
      bouncers.kept.push(bouncer.name);
    } else if (state) {
      bouncers.unchanged++;
    } else if (holder !== undefined) {
      clashes.push(`bouncer '${bouncer.name}' (its key is bouncer '${holder}'s here)`);
      bouncers.kept.push(bouncer.name);
    } else {
      bouncers.imported++;
      const events = decideBouncer({ type: 'ImportBouncer', data: { bouncer } }, state, now);
      appends.push({ streamId: bouncerStreamId(bouncer.name), events, expectedVersion: version });
    }
  });

  if (clashes.length > 0 && !options.keepExisting) {
    throw new CrowdsecImportClashError(clashes);
  }

  const known = await existingAlertUuids(
    deps,
    snapshot.alerts.map((a) => a.uuid),
  );
  const alerts = { imported: 0, unchanged: 0 };
  const decisions = { imported: 0 };
  const newAlerts = snapshot.alerts.filter((a) => !known.has(a.uuid));
  alerts.unchanged = snapshot.alerts.length - newAlerts.length;
  const alertEvents = [];
  for (const alert of newAlerts) {
    // A dry run draws no ids (sequences move even when nothing is stored); the event is still built, so that
    // what would be refused is refused.
    const { alertId, decisionIds } = options.dryRun
      ? { alertId: 0, decisionIds: alert.decisions.map(() => 0) }
      : await allocateAlertIds(db, alert.decisions.length);
    alertEvents.push(
      importedAlertReceived(alert, { alertId, decisionIds, decisionUuids: alert.decisions.map(() => randomUUID()) }),
    );
    alerts.imported++;
    decisions.imported += alert.decisions.length;
  }
  if (!options.dryRun) {
    appends.push(...alertAppends(alertEvents));
  }

  const allowlists = { created: 0, itemsAdded: 0 };
  for (const list of snapshot.allowlists) {
    const loaded = await loadAllowlist(deps.store, list.name);
    let state = loaded.state;
    const events = [];
    if (!state) {
      const created = decideAllowlist(
        { type: 'CreateAllowlist', data: { name: list.name, description: list.description } },
        state,
        now,
      );
      state = created.reduce(evolveAllowlist, state);
      events.push(...created);
      allowlists.created++;
    }
    const added = decideAllowlist(
      { type: 'AddAllowlistItems', data: { name: list.name, items: list.items } },
      state,
      now,
    );
    for (const e of added) {
      allowlists.itemsAdded += e.type === 'AllowlistItemsAdded' ? e.data.items.length : 0;
    }
    events.push(...added);
    if (events.length > 0) {
      appends.push({ streamId: allowlistStreamId(list.name), events, expectedVersion: loaded.version });
    }
  }

  const report: CrowdsecImportReport = { dryRun: options.dryRun, machines, bouncers, alerts, decisions, allowlists };
  if (options.dryRun || appends.length === 0) {
    return { report, appended: [] };
  }
  const appended = await deps.store.appendToStreams(appends, { metadata: toMetadata(context, now) });
  return { report, appended };
}

/** Names twice in the source (a database's unique keys forbid it; a hand-made or merged file may not). */
function duplicates(snapshot: CrowdsecSnapshot): string[] {
  const problems: string[] = [];
  const twice = (kind: string, names: readonly string[]) => {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) {
        problems.push(`${kind} '${name}' is in the source twice`);
      }
      seen.add(name);
    }
  };
  twice(
    'machine',
    snapshot.machines.map((m) => m.machineId),
  );
  twice(
    'bouncer',
    snapshot.bouncers.map((b) => b.name),
  );
  twice(
    'alert',
    snapshot.alerts.map((a) => a.uuid),
  );
  twice(
    'allowlist',
    snapshot.allowlists.map((l) => l.name),
  );
  for (const m of snapshot.machines) {
    if (m.machineId === '') {
      problems.push('a machine has no name');
    }
  }
  return problems;
}

/** The import keys (alert uuids) already stored here. */
async function existingAlertUuids(deps: WriteDeps, uuids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let from = 0; from < uuids.length; from += UUID_CHUNK) {
    const rows = await deps.database.db
      .selectFrom('alerts')
      .select('uuid')
      .where('uuid', 'in', uuids.slice(from, from + UUID_CHUNK))
      .execute();
    rows.forEach((r) => found.add(r.uuid));
  }
  return found;
}

/** Alerts of an import sent in parts (`crowdsec.importPart`), kept until the import itself. */
export class CrowdsecImportParts {
  private readonly pending = new Map<string, { alerts: CrowdsecAlert[]; expiry: NodeJS.Timeout }>();

  constructor(private readonly abandonedAfterMs = 10 * 60_000) {}

  /** Keeps one part (`at`: alerts sent before it); resolves with the alerts received so far. */
  add(importId: string, at: number, alerts: readonly CrowdsecAlert[]): number {
    let p = this.pending.get(importId);
    if (!p) {
      if (at !== 0) {
        throw new ValidationError(`import ${importId}: unknown or abandoned (no part starting at alert 1)`);
      }
      p = { alerts: [], expiry: this.expire(importId) };
      this.pending.set(importId, p);
    } else {
      clearTimeout(p.expiry);
      p.expiry = this.expire(importId);
    }
    if (at !== p.alerts.length) {
      throw new ValidationError(
        `import ${importId}: a part starts at alert ${at + 1}, expected ${p.alerts.length + 1}`,
      );
    }
    for (const a of alerts) {
      p.alerts.push(a);
    }
    return p.alerts.length;
  }

  /** The alerts of every part, forgotten here. */
  take(importId: string): CrowdsecAlert[] {
    const p = this.pending.get(importId);
    if (!p) {
      throw new ValidationError(`import ${importId}: unknown or abandoned`);
    }
    clearTimeout(p.expiry);
    this.pending.delete(importId);
    return p.alerts;
  }

  private expire(importId: string): NodeJS.Timeout {
    return setTimeout(() => this.pending.delete(importId), this.abandonedAfterMs).unref();
  }
}

/** This process's imports in progress (the server's, or the admin CLI's when it writes to the database itself). */
export const crowdsecImportParts = new CrowdsecImportParts();
