import { formatGoDurationMs } from '@lapi/domain';
import type { DecisionView } from '@lapi/projections';

// The bodies bouncers receive, written piecewise: the same text as JSON.stringify of presentDecision's objects, but
// without building a million objects and one string of hundreds of megabytes for a startup pull at blocklist scale.

const CHUNK = 64 * 1024;
// Strings JSON.stringify would escape (quotes, backslashes, control characters, lone surrogates).
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const str = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

/** Renders decisions, the time left computed once per distinct end (bulk imports share one). */
class DecisionWriter {
  private readonly durations = new Map<number, string>();

  constructor(private readonly now: number) {}

  decision(d: DecisionView): string {
    const until = d.until.getTime();
    let duration = this.durations.get(until);
    if (duration === undefined) {
      duration = formatGoDurationMs(until - this.now);
      if (this.durations.size < 10_000) {
        this.durations.set(until, duration);
      }
    }
    return (
      `{"duration":"${duration}","id":${d.id},"origin":${str(d.origin)},"scenario":${str(d.scenario)},` +
      `"scope":${str(d.scope)},"type":${str(d.type)},"value":${str(d.value)},"uuid":${str(d.uuid)}}`
    );
  }

  /** `[…]`, or `null` when empty (Go's nil slice). */
  *list(list: readonly DecisionView[]): Generator<string> {
    if (list.length === 0) {
      yield 'null';
      return;
    }
    let chunk = '[';
    for (let i = 0; i < list.length; i++) {
      chunk += (i === 0 ? '' : ',') + this.decision(list[i]);
      if (chunk.length >= CHUNK) {
        yield chunk;
        chunk = '';
      }
    }
    yield `${chunk}]`;
  }
}

/** GET /v1/decisions: a list or `null`. */
export function* decisionListJson(list: readonly DecisionView[], now: Date): Generator<string> {
  yield* new DecisionWriter(now.getTime()).list(list);
}

/** GET /v1/decisions/stream: `{"new": …, "deleted": …}`. */
export function* decisionStreamJson(
  fresh: readonly DecisionView[],
  deleted: readonly DecisionView[],
  now: Date,
): Generator<string> {
  const writer = new DecisionWriter(now.getTime());
  yield '{"new":';
  yield* writer.list(fresh);
  yield ',"deleted":';
  yield* writer.list(deleted);
  yield '}';
}
