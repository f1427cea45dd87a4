import {
  normalizeScope,
  parseGoDuration,
  parseIpRange,
  ValidationError,
  type AlertInput,
  type DecisionInput,
} from '@lapi/domain';
import { runInSlices } from '@lapi/event-store';
import { Inject } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { PushAlerts } from '../alerts/alert.commands';
import { CLOCK, type Clock, type CommandContext } from '../shared/ports';

/** One line of a `cscli decisions import` file (csv or json): only the value is required. */
export interface ImportedDecision {
  readonly value: string;
  readonly duration?: string;
  readonly scope?: string;
  readonly type?: string;
  readonly reason?: string;
  readonly origin?: string;
}

/** The command line's choices: an option given explicitly wins over the file's column, as with cscli. */
export interface ImportOptions {
  readonly duration?: string;
  readonly scope?: string;
  readonly type?: string;
  readonly reason?: string;
}

// cscli 1.4.6's defaults and the alert it makes ("add: N IPs", source scope cscli/manual-import, origin cscli-import).
const DEFAULTS = { duration: '4h', scope: 'Ip', type: 'ban', reason: 'manual', origin: 'cscli-import' };
/** Decisions per alert (cscli sends one alert for the whole file; a bounded alert keeps each event small). */
export const IMPORT_BATCH = 10_000;
export const IMPORT_MACHINE = 'lapi-import';

/** Each line as a decision, or the first problems (by line, 1-based) when some line is unusable. */
export function importDecisions(
  rows: readonly ImportedDecision[],
  options: ImportOptions,
): { decisions: DecisionInput[]; problems: string[] } {
  const steps = importDecisionsInSteps(rows, options);
  for (;;) {
    const step = steps.next();
    if (step.done) {
      return step.value;
    }
  }
}

/** Unusable lines named in the refusal (the first ones). */
export const MAX_PROBLEMS = 20;

/** Lines importDecisionsInSteps checks between two steps. */
const IMPORT_STEP = 1_000;

/**
 * importDecisions, stopping every IMPORT_STEP lines so that a caller can let other work run (100k-line files).
 * `firstLine`: the number of rows[0] in the file, for an import sent in parts.
 */
export function* importDecisionsInSteps(
  rows: readonly ImportedDecision[],
  options: ImportOptions,
  firstLine = 1,
): Generator<void, { decisions: DecisionInput[]; problems: string[] }> {
  const decisions: DecisionInput[] = [];
  const problems: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % IMPORT_STEP === 0) {
      yield;
    }
    const row = rows[i];
    const value = typeof row.value === 'string' ? row.value.trim() : '';
    const duration = options.duration ?? (row.duration || DEFAULTS.duration);
    const scope = normalizeScope(options.scope ?? (row.scope || DEFAULTS.scope));
    const problem =
      value === ''
        ? 'no value'
        : parseGoDuration(duration) === null
          ? `invalid duration '${duration}'`
          : (scope === 'Ip' || scope === 'Range') && parseIpRange(value) === null
            ? `invalid ${scope === 'Ip' ? 'IP' : 'range'} '${value}'`
            : undefined;
    if (problem) {
      if (problems.length < MAX_PROBLEMS) {
        problems.push(`line ${firstLine + i}: ${problem}`);
      }
      continue;
    }
    decisions.push({
      duration,
      scope,
      value,
      type: options.type ?? (row.type || DEFAULTS.type),
      scenario: options.reason ?? (row.reason || DEFAULTS.reason),
      origin: row.origin || DEFAULTS.origin,
    });
  }
  return { decisions, problems };
}

/** The alerts carrying the decisions, at most `batch` per alert. */
export function importAlerts(decisions: readonly DecisionInput[], now: Date, batch = IMPORT_BATCH): AlertInput[] {
  const at = now.toISOString();
  const alerts: AlertInput[] = [];
  for (let from = 0; from < decisions.length; from += batch) {
    const part = decisions.slice(from, from + batch);
    alerts.push({
      scenario: `add: ${part.length} IPs`,
      scenarioHash: '',
      scenarioVersion: '',
      message: '',
      eventsCount: part.length,
      startAt: at,
      stopAt: at,
      capacity: 0,
      leakspeed: '',
      simulated: false,
      remediation: true,
      events: [],
      source: { scope: 'cscli/manual-import', value: '' },
      decisions: part,
      meta: [],
      labels: null,
    });
  }
  return alerts;
}

/** Imports a blocklist: every line valid or nothing stored. Resolves with the number of decisions. */
export class ImportDecisions extends Command<number> {
  constructor(
    readonly rows: readonly ImportedDecision[],
    readonly options: ImportOptions,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(ImportDecisions)
export class ImportDecisionsHandler implements ICommandHandler<ImportDecisions> {
  constructor(
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(c: ImportDecisions): Promise<number> {
    const { decisions, problems } = await runInSlices(importDecisionsInSteps(c.rows, c.options));
    if (problems.length > 0) {
      throw new ValidationError(`nothing imported: ${problems.join('; ')}`);
    }
    if (decisions.length > 0) {
      // One PushAlerts: one transaction, so an import is stored whole or not at all.
      await this.commands.execute(new PushAlerts(IMPORT_MACHINE, importAlerts(decisions, this.clock.now()), c.context));
    }
    return decisions.length;
  }
}
