// envoyproxy/ratelimit's statistics, so its dashboards carry over: per limit
// ratelimit.service.rate_limit.<key>.{total_hits,over_limit,near_limit,within_limit,shadow_mode}, and
// ratelimit.service.{global_shadow_mode,config_load_success,config_load_error,call.should_rate_limit.*}, as
// the Prometheus series its documented statsd-exporter mapping (src/stats/prom/default_mapper.yaml, also
// what its USE_PROMETHEUS sink serves) makes of them: ratelimit_service_rate_limit_total_hits{domain, key1,
// key2} and so on. Hit counts split into over/near/within exactly as its base limiter does.
// Series are bounded: a key built from request values (detailed_metric, value_to_metric, a limit Envoy
// sends) gets its own series only for the first MAX_REQUEST_KEYS such keys; later ones count under the
// configured key (or are not counted, for an Envoy-sent limit).

import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/** envoyproxy/ratelimit's NEAR_LIMIT_RATIO default. */
export const NEAR_LIMIT_RATIO = 0.8;
/** Distinct stats keys built from request values that get their own series. */
export const MAX_REQUEST_KEYS = 1000;

const IPV4 = /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/g;

/** envoyproxy/ratelimit's SanitizeStatName: ':' and '|' become '_', and so do the dots of an IPv4 address. */
export function sanitizeStatName(name: string): string {
  return name.replace(/[:|]/g, '_').replace(IPV4, (ip) => ip.replaceAll('.', '_'));
}

/**
 * The labels the statsd-exporter mapping gives ratelimit.service.rate_limit.<key>.<stat>: with two
 * dot-separated parts, {domain, key1} (its glob rule); with more, {domain, key1, key2} and the rest
 * dropped (its regex rule). key2 is '' (no label, to Prometheus) when absent.
 */
export function statLabels(statsKey: string): [domain: string, key1: string, key2: string] {
  const parts = sanitizeStatName(statsKey).split('.');
  return [parts[0] ?? '', parts[1] ?? '', parts.length >= 3 ? parts[2]! : ''];
}

interface LimitCounters {
  totalHits: Counter.Internal;
  overLimit: Counter.Internal;
  nearLimit: Counter.Internal;
  withinLimit: Counter.Internal;
  shadowMode: Counter.Internal;
}

type Labels = 'domain' | 'key1' | 'key2';

export class PeerStats {
  private readonly totalHits: Counter<Labels>;
  private readonly overLimit: Counter<Labels>;
  private readonly nearLimit: Counter<Labels>;
  private readonly withinLimit: Counter<Labels>;
  private readonly shadowMode: Counter<Labels>;
  private readonly globalShadowMode: Counter;
  private readonly configLoadSuccess: Counter;
  private readonly configLoadError: Counter;
  private readonly shouldRateLimitError: Counter<'err_type'>;
  /** By unsanitized stats key. */
  private readonly byKey = new Map<string, LimitCounters>();
  private requestKeys = 0;

  constructor(
    registry: Registry,
    private readonly nearLimitRatio = NEAR_LIMIT_RATIO,
    private readonly maxRequestKeys = MAX_REQUEST_KEYS,
  ) {
    const limitCounter = (stat: string, what: string) =>
      new Counter({
        name: `ratelimit_service_rate_limit_${stat}`,
        help: `envoyproxy/ratelimit's ratelimit.service.rate_limit.<key>.${stat}: ${what}`,
        labelNames: ['domain', 'key1', 'key2'] as const,
        registers: [registry],
      });
    this.totalHits = limitCounter('total_hits', 'hits counted against a configured limit.');
    this.overLimit = limitCounter('over_limit', 'hits above the limit.');
    this.nearLimit = limitCounter('near_limit', 'hits between NEAR_LIMIT_RATIO of the limit and the limit.');
    this.withinLimit = limitCounter('within_limit', 'hits within the limit.');
    this.shadowMode = limitCounter('shadow_mode', 'hits above a shadow_mode limit (let through).');
    this.globalShadowMode = new Counter({
      name: 'ratelimit_service_global_shadow_mode',
      help: 'Answers turned from OVER_LIMIT to OK by SHADOW_MODE (envoyproxy/ratelimit).',
      registers: [registry],
    });
    this.configLoadSuccess = new Counter({
      name: 'ratelimit_service_config_load_success',
      help: 'RATELIMIT_CONFIG loads applied (envoyproxy/ratelimit).',
      registers: [registry],
    });
    this.configLoadError = new Counter({
      name: 'ratelimit_service_config_load_error',
      help: 'RATELIMIT_CONFIG loads refused (envoyproxy/ratelimit).',
      registers: [registry],
    });
    this.shouldRateLimitError = new Counter({
      name: 'ratelimit_service_should_rate_limit_error',
      help: 'ShouldRateLimit calls answered with an error, by err_type (envoyproxy/ratelimit).',
      labelNames: ['err_type'] as const,
      registers: [registry],
    });
  }

  private counters(statsKey: string, configuredKey: string | undefined): LimitCounters | undefined {
    let c = this.byKey.get(statsKey);
    if (c !== undefined) return c;
    if (statsKey !== configuredKey) {
      if (this.requestKeys >= this.maxRequestKeys) {
        return configuredKey === undefined ? undefined : this.counters(configuredKey, configuredKey);
      }
      this.requestKeys++;
    }
    const labels = statLabels(statsKey);
    c = {
      totalHits: this.totalHits.labels(...labels),
      overLimit: this.overLimit.labels(...labels),
      nearLimit: this.nearLimit.labels(...labels),
      withinLimit: this.withinLimit.labels(...labels),
      shadowMode: this.shadowMode.labels(...labels),
    };
    this.byKey.set(statsKey, c);
    return c;
  }

  /**
   * One descriptor counted in a fixed window: `after` is the window's count with `hits` added. As
   * envoyproxy/ratelimit's base limiter: hits past the limit are over_limit (and shadow_mode when the
   * limit is in shadow mode), hits past floor(limit × NEAR_LIMIT_RATIO) up to the limit near_limit.
   * `configuredKey`: the config's own key for this limit (undefined for a limit Envoy sent).
   */
  recordWindow(
    statsKey: string,
    configuredKey: string | undefined,
    requestsPerUnit: number,
    after: number,
    hits: number,
    shadow: boolean,
  ): void {
    const c = this.counters(statsKey, configuredKey);
    if (c === undefined) return;
    const before = after - hits;
    const overThreshold = requestsPerUnit;
    // Go's float32 arithmetic: float32(limit) * float32(ratio), floored.
    const nearThreshold = Math.floor(
      Math.fround(Math.fround(requestsPerUnit) * Math.fround(this.nearLimitRatio)),
    );
    c.totalHits.inc(hits);
    if (after > overThreshold) {
      if (before >= overThreshold) c.overLimit.inc(hits);
      else {
        c.overLimit.inc(after - overThreshold);
        c.nearLimit.inc(overThreshold - Math.max(nearThreshold, before));
      }
      if (shadow) c.shadowMode.inc(before >= overThreshold ? hits : after - overThreshold);
      return;
    }
    if (after > nearThreshold) c.nearLimit.inc(before >= nearThreshold ? hits : after - nearThreshold);
    c.withinLimit.inc(hits);
  }

  recordGlobalShadowMode(): void {
    this.globalShadowMode.inc();
  }

  recordConfigLoad(applied: boolean): void {
    (applied ? this.configLoadSuccess : this.configLoadError).inc();
  }

  /** A call refused as envoyproxy/ratelimit refuses it (empty domain or descriptor list): service_error. */
  recordServiceError(): void {
    this.shouldRateLimitError.labels('service_error').inc();
  }
}
