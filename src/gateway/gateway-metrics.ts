// Metrics of the Envoy-facing transports, registered on the service's registry beside the rls_* metrics.
// Label children are cached per (domain, descriptor, result), so recording is a map lookup and an add.
// Labels are bounded: the service passes only configured domains and config keys (see RateLimitService),
// and the one operator-chosen exception, detailed_metric's value-suffixed keys, is capped here.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ReloadOutcome } from './ratelimit-config/index.js';
import type { GrpcLimitEvent } from './grpc/grpc-server.js';
import type { DescriptorResult } from './ratelimit/ratelimit-service.js';
import type { InProcessWindowStore } from './ratelimit/window-counter-store.js';

/** detailed_metric series (a config key plus a request value) kept at most; later values share one. */
export const MAX_DETAILED_SERIES = 1000;
/** Longest detailed_metric label value; the request value is cut there. */
const MAX_DETAILED_LABEL_CHARS = 256;

export class GatewayMetrics {
  private readonly descriptorDecisions: Counter<'domain' | 'descriptor' | 'result'>;
  private readonly configReloads: Counter<'result'>;
  private readonly limitEvents: Counter<'listener' | 'event'>;
  private readonly children = new Map<string, Counter.Internal>();
  private detailedSeries = 0;
  private windows: InProcessWindowStore | undefined;

  constructor(registry: Registry) {
    this.descriptorDecisions = new Counter({
      name: 'rls_ratelimit_descriptor_decisions_total',
      help: 'ShouldRateLimit outcomes per descriptor: the config key that matched (tenant.request_rate for the tenant fallback, <override> for a limit Envoy sent) and the result; an unconfigured domain is <unknown>.',
      labelNames: ['domain', 'descriptor', 'result'] as const,
      registers: [registry],
    });
    this.configReloads = new Counter({
      name: 'rls_ratelimit_config_reloads_total',
      help: 'RATELIMIT_CONFIG reloads by result (applied, error).',
      labelNames: ['result'] as const,
      registers: [registry],
    });
    this.limitEvents = new Counter({
      name: 'rls_grpc_limit_events_total',
      help: 'Connections and calls the gRPC listeners ended on their own: idle, max_age, too_many_pings (GOAWAY), deadline_exceeded, overloaded (byte budget full).',
      labelNames: ['listener', 'event'] as const,
      registers: [registry],
    });
    const held: Gauge = new Gauge({
      name: 'rls_ratelimit_window_counters',
      help: 'Fixed-window counters the rate limit service holds (at most RATELIMIT_MAX_COUNTERS).',
      registers: [registry],
      collect: () => held.set(this.windows?.size ?? 0),
    });
    const refused: Counter = new Counter({
      name: 'rls_ratelimit_window_counters_refused_total',
      help: 'Descriptors answered OVER_LIMIT because RATELIMIT_MAX_COUNTERS counters were already held.',
      registers: [registry],
      collect: () => {
        refused.reset();
        refused.inc(this.windows?.refused ?? 0);
      },
    });
  }

  /** A GrpcServer's onLimit for one listener (ext_authz, ratelimit); children are made on first use. */
  limitRecorder(listener: 'ext_authz' | 'ratelimit'): (event: GrpcLimitEvent) => void {
    return (event) => this.limitEvents.labels(listener, event).inc();
  }

  /** The counter store the gauges report on. */
  observeWindows(store: InProcessWindowStore): void {
    this.windows = store;
  }

  /**
   * `domain` and `descriptor` must come from the config (or be fixed words); `detailedBase` is set when
   * `descriptor` carries a request value (detailed_metric): such series are capped at MAX_DETAILED_SERIES.
   */
  readonly recordDescriptor = (
    domain: string,
    descriptor: string,
    result: DescriptorResult,
    detailedBase?: string,
  ): void => {
    let label = descriptor;
    if (detailedBase !== undefined && label.length > MAX_DETAILED_LABEL_CHARS)
      label = label.slice(0, MAX_DETAILED_LABEL_CHARS);
    let id = `${domain}\u0000${label}\u0000${result}`;
    let child = this.children.get(id);
    if (child === undefined) {
      if (detailedBase !== undefined) {
        if (this.detailedSeries >= MAX_DETAILED_SERIES) {
          label = `${detailedBase}_<other>`;
          id = `${domain}\u0000${label}\u0000${result}`;
          child = this.children.get(id);
        } else this.detailedSeries++;
      }
      if (child === undefined) {
        child = this.descriptorDecisions.labels(domain, label, result);
        this.children.set(id, child);
      }
    }
    child.inc();
  };

  recordReload(outcome: ReloadOutcome): void {
    this.configReloads.labels(outcome).inc();
  }
}
