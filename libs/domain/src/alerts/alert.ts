/** `{key, value}` pairs, as alerts and events carry their meta. */
export interface MetaItem {
  readonly key: string;
  readonly value: string;
}

export interface AlertSource {
  /** Normalised: `ip`→`Ip`, `range`→`Range`, `as`→`AS`, `country`→`Country`; other scopes verbatim. */
  readonly scope: string;
  readonly value: string;
  readonly ip?: string;
  readonly range?: string;
  readonly asNumber?: string;
  readonly asName?: string;
  readonly cn?: string;
  readonly latitude?: number;
  readonly longitude?: number;
}

export interface AlertEvent {
  /** As sent (RFC 3339). */
  readonly timestamp: string;
  readonly meta: readonly MetaItem[];
}

/** A decision as a client sends it inside an alert, or as a profile generates it. */
export interface DecisionInput {
  /** Go duration string as sent (`4h`, `-1h`, `1.5h`; days prefix `2d3h` accepted). */
  readonly duration: string;
  readonly origin: string;
  readonly scenario: string;
  /** Normalised like the source scope. */
  readonly scope: string;
  readonly type: string;
  readonly value: string;
}

/** An alert as pushed by an agent or cscli, after validation and scope normalisation. */
export interface AlertInput {
  readonly scenario: string;
  readonly scenarioHash: string;
  readonly scenarioVersion: string;
  readonly message: string;
  readonly eventsCount: number;
  /** RFC 3339 as sent; unparsable values were replaced by the receive time, as the reference does. */
  readonly startAt: string;
  readonly stopAt: string;
  readonly capacity: number;
  readonly leakspeed: string;
  readonly simulated: boolean;
  readonly remediation: boolean;
  readonly events: readonly AlertEvent[];
  readonly source: AlertSource;
  /** null when the client sent none: profiles then decide. */
  readonly decisions: readonly DecisionInput[] | null;
  readonly meta: readonly MetaItem[];
  readonly labels: readonly string[] | null;
  readonly kind?: string;
}
