import { scrapeGuard, WAIT_BUCKETS_MS, type ActiveCount, type UsageSample } from '@lapi/read-models';
import { Logger } from '@nestjs/common';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the gauges read at scrape time; each source caches its answer (see cached()), so a scrape stays cheap. */
export interface MetricsSources {
  activeDecisions(): Promise<readonly ActiveCount[]>;
  alertsByScenario(): Promise<readonly { scenario: string; count: number }[]>;
  /** Global position of the last event readers can read. */
  eventLogHead(): Promise<number>;
  /** Events committed to the log that each asynchronous projection has not applied yet (none outside a cluster). */
  projectionLags(): Promise<readonly { projection: string; lag: number }[]>;
  /** The latest window of each component's latest usage report (POST /v1/usage-metrics), capped. */
  usageMetrics(): Promise<readonly UsageSample[]>;
  /** Read-your-writes waits this replica cut short: past the bound, or Redis away (cluster only). */
  barrierOutcomes(): { timeouts: number; unavailable: number } | undefined;
}

/** Route label of a request no route matched (the reference's, from 1.5 on). */
export const INVALID_ENDPOINT = 'invalid-endpoint';

const ROUTE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1];
const DELTA_BUCKETS = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/**
 * The API's Prometheus metrics: the reference LAPI's names and labels (pkg/metrics/lapi.go, cmd/crowdsec/metrics.go),
 * so its Grafana dashboards and `cscli metrics --url` read them, plus ours, prefixed `lapi_`.
 */
export class LapiMetrics {
  readonly registry = new Registry();
  private readonly logger = new Logger('Metrics');
  private readonly routeHits = new Counter({
    name: 'cs_lapi_route_requests_total',
    help: 'Number of calls to each route per method.',
    labelNames: ['route', 'method'],
    registers: [this.registry],
  });
  private readonly machineHits = new Counter({
    name: 'cs_lapi_machine_requests_total',
    help: 'Number of calls to each route per method grouped by machines.',
    labelNames: ['machine', 'route', 'method'],
    registers: [this.registry],
  });
  private readonly bouncerHits = new Counter({
    name: 'cs_lapi_bouncer_requests_total',
    help: 'Number of calls to each route per method grouped by bouncers.',
    labelNames: ['bouncer', 'route', 'method'],
    registers: [this.registry],
  });
  private readonly nilDecisions = new Counter({
    name: 'cs_lapi_decisions_ko_total',
    help: 'Number of calls to /decisions that returned nil result.',
    labelNames: ['bouncer'],
    registers: [this.registry],
  });
  private readonly nonNilDecisions = new Counter({
    name: 'cs_lapi_decisions_ok_total',
    help: 'Number of calls to /decisions that returned non-nil result.',
    labelNames: ['bouncer'],
    registers: [this.registry],
  });
  private readonly responseTime = new Histogram({
    name: 'cs_lapi_request_duration_seconds',
    help: 'Response time of LAPI',
    labelNames: ['endpoint', 'method'],
    buckets: ROUTE_BUCKETS,
    registers: [this.registry],
  });
  private readonly lookups = new Counter({
    name: 'lapi_decision_lookups_total',
    help: 'GET/HEAD /v1/decisions answered (bouncer live lookups).',
    registers: [this.registry],
  });
  private readonly streamDelta = new Histogram({
    name: 'lapi_stream_delta_decisions',
    help: 'Decisions in one /v1/decisions/stream answer (new + deleted).',
    labelNames: ['startup'],
    buckets: DELTA_BUCKETS,
    registers: [this.registry],
  });
  private readonly writeWait = new Histogram({
    name: 'lapi_read_your_writes_wait_seconds',
    help: "How long a write's answer waited for the decisions projection (cluster mode).",
    buckets: WAIT_BUCKETS_MS.map((ms) => ms / 1000),
    registers: [this.registry],
  });

  // Sampled every 10 ms; a task that holds the thread for T ms shows as a delay of about T ms.
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(sources: MetricsSources) {
    const guard = scrapeGuard((message) => this.logger.warn(message));
    const loopDelay = this.loopDelay;
    loopDelay.enable();
    new Gauge({
      name: 'lapi_event_loop_delay_max_seconds',
      help: 'Longest the event loop was held (no request could be answered meanwhile) since the previous scrape.',
      registers: [this.registry],
      collect() {
        this.set(loopDelay.max / 1e9);
        loopDelay.reset();
      },
    });
    new Gauge({
      name: 'cs_active_decisions',
      help: 'Number of active decisions.',
      labelNames: ['reason', 'origin', 'action'],
      registers: [this.registry],
      async collect() {
        const counts = await guard('active decisions', () => sources.activeDecisions());
        this.reset();
        for (const c of counts ?? []) {
          this.set({ reason: c.scenario, origin: c.origin, action: c.type }, c.count);
        }
      },
    });
    new Gauge({
      name: 'cs_alerts',
      help: 'Number of alerts (excluding CAPI).',
      labelNames: ['reason'],
      registers: [this.registry],
      async collect() {
        const counts = await guard('alerts', () => sources.alertsByScenario());
        this.reset();
        for (const c of counts ?? []) {
          this.set({ reason: c.scenario }, c.count);
        }
      },
    });
    new Gauge({
      name: 'lapi_usage_metrics',
      help: "Usage reports of bouncers and agents: each component's latest window, per metric, unit, origin, IP type.",
      labelNames: ['kind', 'component', 'metric', 'unit', 'origin', 'ip_type'],
      registers: [this.registry],
      async collect() {
        const samples = await guard('usage metrics', () => sources.usageMetrics());
        this.reset();
        for (const u of samples ?? []) {
          const labels = { kind: u.kind, component: u.component, metric: u.metric, unit: u.unit, origin: u.origin };
          this.set({ ...labels, ip_type: u.ipType }, u.value);
        }
      },
    });
    new Gauge({
      name: 'lapi_event_log_head_position',
      help: 'Global position of the last event of the log readers can read.',
      registers: [this.registry],
      async collect() {
        const head = await guard('event log head', () => sources.eventLogHead());
        if (head !== undefined) {
          this.set(head);
        }
      },
    });
    new Gauge({
      name: 'lapi_projection_lag_events',
      help: 'Events committed to the log that a projection has not applied yet.',
      labelNames: ['projection'],
      registers: [this.registry],
      async collect() {
        const lags = await guard('projection lag', () => sources.projectionLags());
        this.reset();
        for (const l of lags ?? []) {
          this.set({ projection: l.projection }, l.lag);
        }
      },
    });
    // Counted by the barrier itself; reset then inc sets a counter to its total.
    for (const [name, help, key] of [
      ['lapi_read_your_writes_timeouts_total', 'Writes answered before the projection reached them.', 'timeouts'],
      ['lapi_read_your_writes_unavailable_total', 'Writes answered without waiting: Redis away.', 'unavailable'],
    ] as const) {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const outcomes = sources.barrierOutcomes();
          if (outcomes) {
            this.reset();
            this.inc(outcomes[key]);
          }
        },
      });
    }
  }

  /** One answered request; `route` is the matched pattern (`/v1/decisions/:decision_id`), never the raw URL. */
  request(r: { route: string; method: string; seconds: number; machine?: string; bouncer?: string }): void {
    this.routeHits.inc({ route: r.route, method: r.method });
    this.responseTime.observe({ endpoint: r.route, method: r.method }, r.seconds);
    if (r.machine !== undefined) {
      this.machineHits.inc({ machine: r.machine, route: r.route, method: r.method });
    }
    if (r.bouncer !== undefined) {
      this.bouncerHits.inc({ bouncer: r.bouncer, route: r.route, method: r.method });
    }
  }

  /** A bouncer's live lookup: ok when it found decisions (the reference's naive reading of a hit). */
  decisionLookup(bouncer: string, found: boolean): void {
    this.lookups.inc();
    (found ? this.nonNilDecisions : this.nilDecisions).inc({ bouncer });
  }

  streamPull(decisions: number, startup: boolean): void {
    this.streamDelta.observe({ startup: String(startup) }, decisions);
  }

  writeWaited(ms: number): void {
    this.writeWait.observe(ms / 1000);
  }

  /** Stops sampling the event loop. */
  close(): void {
    this.loopDelay.disable();
  }

  /** The text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
