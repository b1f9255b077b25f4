// Prometheus metrics of the service, named as document 000 names them (rls_*).
// The per-tenant families live in TenantSeries (plain numbers, rendered straight to text in short slices), so
// a scrape with thousands of tenants never holds the event loop; the rest are ordinary prom-client metrics.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';
import type { DecisionReason } from '../decision/decision.js';
import type { StoreStatus } from '../stores/rate-store.js';
import { REASONS } from '../decision/catalogue.js';
import { InsightSeries } from './insight/insight-series.js';
import { TenantSeries, type TextFamily } from './tenant-series.js';
import { AdaptiveMetrics } from './adaptive-metrics.js';
import { registerActiveSeriesMetrics } from './active-series/active-series-metrics.js';

/** A registry that renders the per-tenant families from their own text instead of from label objects. */
class EdgeRegistry extends Registry {
  private readonly textFamilies = new Set<unknown>();

  addTextFamily(family: TextFamily): void {
    this.textFamilies.add(family);
    // TextFamily has the fields the registry reads from a metric (name, help, type, get, reset).
    this.registerMetric(family as unknown as Metric);
  }

  /** Called by Registry.metrics() for each registered metric (prom-client 15, lib/registry.js). */
  getMetricsAsString(metric: unknown): Promise<string> {
    if (this.textFamilies.has(metric)) return (metric as TextFamily).render();
    const base = Registry.prototype as unknown as { getMetricsAsString(m: unknown): Promise<string> };
    return base.getMetricsAsString.call(this, metric);
  }
}

/**
 * Tenant label value for requests without a (valid) tenant: keeps hostile ids out of label values. '<' is
 * not allowed in a Mimir tenant id, so no real tenant can collide with it.
 */
export const NO_TENANT = '<none>';

const FAST_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1,
];
const UPSTREAM_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class EdgeMetrics {
  readonly registry = new EdgeRegistry();
  /** rls_decisions_total, rls_samples_total, rls_would_deny_total, rls_unchecked_requests_total, rls_tenant_bucket_tokens. */
  readonly tenantSeries = new TenantSeries(Object.keys(REASONS));
  /** rls_tenant_burst, rls_tenant_burst_ratio, rls_tenant_accepted_bytes_total, rls_tenant_cost_total. */
  readonly insight = new InsightSeries();
  /** rls_would_deny_total{tenant,reason}: `labels(tenant, reason).inc()`, as on a prom-client counter. */
  readonly wouldDeny = {
    labels: (tenant: string, reason: string) => ({
      inc: (n = 1) => this.tenantSeries.recordWouldDeny(tenant, reason, n),
    }),
  };
  /** rls_unchecked_requests_total{tenant}: `labels(tenant).inc()`, as on a prom-client counter. */
  readonly unchecked = {
    labels: (tenant: string) => ({ inc: (n = 1) => this.tenantSeries.recordUnchecked(tenant, n) }),
  };
  /** Set by the service: the service-wide enforcement mode, read at scrape time. */
  enforcementMode: (() => string) | undefined;
  readonly enforcementModeGauge: Gauge<'mode'> = new Gauge({
    name: 'rls_enforcement_mode',
    help: 'The service-wide enforcement mode: 1 for the mode in force (enforce, dry-run, off), 0 for the others.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
    collect: () => {
      const mode = this.enforcementMode?.() ?? 'enforce';
      for (const m of ['enforce', 'dry-run', 'off'])
        this.enforcementModeGauge.labels(m).set(m === mode ? 1 : 0);
    },
  });
  readonly checkDuration = new Histogram({
    name: 'rls_authz_check_duration_seconds',
    help: 'Time to measure and decide one request (decompression, body scan and limit checks).',
    labelNames: ['transport'] as const,
    buckets: FAST_BUCKETS,
    registers: [this.registry],
  });
  readonly parseDuration = new Histogram({
    name: 'rls_body_parse_duration_seconds',
    help: 'Time to decompress and scan a write body.',
    labelNames: ['format'] as const,
    buckets: FAST_BUCKETS,
    registers: [this.registry],
  });
  readonly parseErrors = new Counter({
    name: 'rls_body_parse_errors_total',
    help: 'Write bodies that could not be decoded, by cause.',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  /** Set by the service: reports each tenant's bucket levels when /metrics is scraped. */
  bucketLevels:
    | ((report: (tenant: string, bucketType: 'samples' | 'requests', tokens: number) => void) => void)
    | undefined;
  /** Set by the service: seconds since the overrides file was last read successfully. */
  limitsStaleSeconds: (() => number) | undefined;

  readonly upstreamDuration = new Histogram({
    name: 'rls_upstream_request_duration_seconds',
    help: 'Time from forwarding a request to the upstream until its response headers arrive.',
    labelNames: ['status_class'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamResponses = new Counter({
    name: 'rls_upstream_responses_total',
    help: 'Upstream responses by HTTP status code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'rls_upstream_errors_total',
    help: 'Forwarded requests that got no upstream response (connect errors, resets, timeouts).',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  /** Set by the service: requests and write-body bytes in flight on the proxy, read at scrape time. */
  inflight: (() => { requests: number; bytes: number; draining: boolean }) | undefined;
  readonly inflightRequests: Gauge = new Gauge({
    name: 'rls_inflight_requests',
    help: 'Requests the proxy is handling now (bounded by MAX_INFLIGHT_REQUESTS).',
    registers: [this.registry],
    collect: () => {
      this.inflightRequests.set(this.inflight?.().requests ?? 0);
    },
  });
  readonly inflightBytes: Gauge = new Gauge({
    name: 'rls_inflight_bytes',
    help: 'Bytes of write bodies the proxy holds now (bounded by MAX_INFLIGHT_BYTES).',
    registers: [this.registry],
    collect: () => {
      this.inflightBytes.set(this.inflight?.().bytes ?? 0);
    },
  });
  readonly draining: Gauge = new Gauge({
    name: 'rls_draining',
    help: '1 once a graceful shutdown has begun (SIGTERM): /api/health answers 503 and the proxy finishes in-flight requests.',
    registers: [this.registry],
    collect: () => {
      this.draining.set(this.inflight?.().draining ? 1 : 0);
    },
  });
  readonly overloadRejections = new Counter({
    name: 'rls_overload_rejections_total',
    help: 'Requests answered 503 because a bound of the process was reached (limit: requests or bytes).',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly haDecisions: Counter<'outcome'> = new Counter({
    name: 'rls_ha_decisions_total',
    help: 'HA tracker verdicts on writes from HA pairs: accepted, elected (new cluster), failover, deduplicated (202, dropped), deduplicated_observed, too_many_clusters.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly selectiveFilter: Counter<'outcome'> = new Counter({
    name: 'rls_selective_filter_total',
    help: 'Over-budget writes of tenants with selective_filtering: part_forwarded (the series that fit went upstream, 429 for the rest), tokens_gone (another request took the tokens first; 429 for all).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly clientErrors = new Counter({
    name: 'rls_client_errors_total',
    help: 'Client connections closed by the HTTP parser: request_timeout (408), headers_too_large (431), malformed (400), reset; and bad_target (400: a request target that is not origin-form or disguises a write path).',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  readonly limitsStale: Gauge = new Gauge({
    name: 'rls_limits_stale_seconds',
    help: 'Seconds since the overrides file was last read successfully (0 when no file is configured).',
    registers: [this.registry],
    collect: () => {
      this.limitsStale.set(this.limitsStaleSeconds?.() ?? 0);
    },
  });
  readonly overridesReloads = new Counter({
    name: 'rls_overrides_reloads_total',
    help: 'Overrides file reloads by result (applied, unchanged is not counted, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly configSyncs: Counter<'trigger' | 'result'> = new Counter({
    name: 'rls_config_syncs_total',
    help: 'Syncs of the limits configuration with Redis, by trigger (start, notification, reconnect, periodic) and result (applied, written, unchanged, error).',
    labelNames: ['trigger', 'result'] as const,
    registers: [this.registry],
  });
  readonly configSharedVersion: Gauge = new Gauge({
    name: 'rls_config_shared_version',
    help: 'Newest limits configuration version this replica has seen in Redis (compare with rls_config_version).',
    registers: [this.registry],
  });
  /** POLICY_FILE (docs/policies.md): one count per policy that took part in a decision. */
  readonly policyDecisions: Counter<'policy' | 'decision'> = new Counter({
    name: 'rls_policy_decisions_total',
    help: 'Policy decisions by policy and decision: allowed, denied (the policy that refused), shadow_allowed, shadow_denied; policy block_list/allow_list for the lists (blocked, allow_listed).',
    labelNames: ['policy', 'decision'] as const,
    registers: [this.registry],
  });
  readonly policyReloads: Counter<'result'> = new Counter({
    name: 'rls_policy_reloads_total',
    help: 'POLICY_FILE reloads by result: applied, or error (the last good policy set stays in force).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly policyCount: Gauge = new Gauge({
    name: 'rls_policy_set_policies',
    help: 'Policies in the policy set in force (POLICY_FILE).',
    registers: [this.registry],
  });
  /** Set by the service: the named lists of the policy set (docs/policies.md#lists-at-scale), read at scrape time. */
  listInfos: (() => readonly { name: string; size: number; version: number }[]) | undefined;
  readonly listEntries: Gauge<'list'> = new Gauge({
    name: 'rls_list_entries',
    help: 'Entries in force in each named list of the policy set (file, inline and runtime entries).',
    labelNames: ['list'] as const,
    registers: [this.registry],
    collect: () => {
      this.listEntries.reset();
      for (const l of this.listInfos?.() ?? []) this.listEntries.labels(l.name).set(l.size);
    },
  });
  readonly listVersion: Gauge<'list'> = new Gauge({
    name: 'rls_list_version',
    help: 'Version of each named list: rises by one per file reload or runtime change that altered it.',
    labelNames: ['list'] as const,
    registers: [this.registry],
    collect: () => {
      this.listVersion.reset();
      for (const l of this.listInfos?.() ?? []) this.listVersion.labels(l.name).set(l.version);
    },
  });
  readonly listReloads: Counter<'list' | 'result'> = new Counter({
    name: 'rls_list_reloads_total',
    help: 'List file reloads by list and result: applied, or error (the last good entries stay in force).',
    labelNames: ['list', 'result'] as const,
    registers: [this.registry],
  });
  readonly listChanges: Counter<'list' | 'operation'> = new Counter({
    name: 'rls_list_changes_total',
    help: 'Runtime list changes through the admin API by list and operation (add, remove) that changed entries.',
    labelNames: ['list', 'operation'] as const,
    registers: [this.registry],
  });
  readonly listSyncs: Counter<'trigger' | 'result'> = new Counter({
    name: 'rls_list_syncs_total',
    help: 'Syncs of the runtime list changes with Redis, by trigger (start, notification, reconnect, periodic, change) and result (applied, written, unchanged, conflict, error).',
    labelNames: ['trigger', 'result'] as const,
    registers: [this.registry],
  });
  /** Set by the service: the version in force of each reloadable file source, read at scrape time. */
  sourceVersions: (() => Partial<Record<'policy_file' | 'ratelimit_config', number>>) | undefined;
  readonly sourceVersion: Gauge<'source'> = new Gauge({
    name: 'rls_source_config_version',
    help: 'Version in force of POLICY_FILE (source=policy_file) and RATELIMIT_CONFIG (source=ratelimit_config); rises by one per applied reload.',
    labelNames: ['source'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [source, version] of Object.entries(this.sourceVersions?.() ?? {}))
        this.sourceVersion.labels(source).set(version);
    },
  });
  readonly tlsReloads = new Counter({
    name: 'rls_tls_reloads_total',
    help: 'TLS certificate files re-read after a change, by listener (proxy, admin, grpc) and result (applied, error).',
    labelNames: ['listener', 'result'] as const,
    registers: [this.registry],
  });
  /** Set by the service: tenants named in labels now (bound: MAX_TENANT_LABELS plus configured tenants). */
  namedTenants: (() => number) | undefined;
  readonly tenantLabels: Gauge = new Gauge({
    name: 'rls_tenant_labels',
    help: 'Tenants named in tenant labels now; the others are counted as tenant="__other__" (MAX_TENANT_LABELS).',
    registers: [this.registry],
    collect: () => {
      this.tenantLabels.set(this.namedTenants?.() ?? 0);
    },
  });
  readonly tenantEvictions = new Counter({
    name: 'rls_tenant_evictions_total',
    help: 'Tenants without configuration forgotten after TENANT_IDLE_TIMEOUT without a request (label, stats, history).',
    registers: [this.registry],
  });
  readonly limitsVersion = new Gauge({
    name: 'rls_limits_version',
    help: 'Version number of the limits in force; increases on every applied change.',
    registers: [this.registry],
  });

  /** Set by the service: the rate store's state and counters, read at scrape time. */
  storeStatus: (() => StoreStatus) | undefined;
  readonly storeRoundTrip = new Histogram({
    name: 'rls_store_round_trip_duration_seconds',
    help: 'Time of one round trip to the shared store (one batch of checks), by result.',
    labelNames: ['result'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly storeFallback: Gauge = new Gauge({
    name: 'rls_store_fallback',
    help: "1 while decisions use this replica's local share because the shared store (Redis) is unreachable.",
    registers: [this.registry],
    collect: () => {
      this.storeFallback.set(this.storeStatus?.().inFallback ? 1 : 0);
    },
  });
  readonly storeBreaker: Gauge<'state'> = new Gauge({
    name: 'rls_store_breaker_state',
    help: 'Circuit breaker around the shared store: 1 for the current state (closed, open, half_open).',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      const state = this.storeStatus?.().breaker ?? 'closed';
      for (const s of ['closed', 'open', 'half_open']) this.storeBreaker.labels(s).set(s === state ? 1 : 0);
    },
  });
  readonly storeReplicas: Gauge = new Gauge({
    name: 'rls_store_replicas',
    help: 'Replicas each limit is split among while in fallback (live ones from heartbeats, or REDIS_FALLBACK_REPLICAS).',
    registers: [this.registry],
    collect: () => {
      this.storeReplicas.set(this.storeStatus?.().replicas ?? 1);
    },
  });
  readonly storeChecks: Counter<'answered_by'> = new Counter({
    name: 'rls_store_checks_total',
    help: 'Rate checks by who answered: shared (Redis), cache (local over-limit bound), local (fallback share).',
    labelNames: ['answered_by'] as const,
    registers: [this.registry],
    collect: () => {
      const s = this.storeStatus?.();
      if (!s) return;
      this.storeChecks.reset();
      this.storeChecks.labels('shared').inc(s.checksShared);
      this.storeChecks.labels('cache').inc(s.checksCached);
      this.storeChecks.labels('local').inc(s.checksLocal);
      if (s.checksNearGlobal > 0) this.storeChecks.labels('near_global').inc(s.checksNearGlobal);
    },
  });
  readonly storeErrors: Counter = new Counter({
    name: 'rls_store_errors_total',
    help: 'Round trips to the shared store that failed (connection lost, timeout, error reply).',
    registers: [this.registry],
    collect: () => {
      const s = this.storeStatus?.();
      if (!s) return;
      this.storeErrors.reset();
      this.storeErrors.inc(s.roundTripErrors);
    },
  });
  readonly storeScriptReloads: Counter = new Counter({
    name: 'rls_store_script_reloads_total',
    help: 'Times Redis had lost our Lua scripts (restart, failover, SCRIPT FLUSH) and they were sent again.',
    registers: [this.registry],
    collect: () => {
      const s = this.storeStatus?.();
      if (!s) return;
      this.storeScriptReloads.reset();
      // Policy limits' algorithm scripts (POLICY_FILE with Redis) are ours too.
      this.storeScriptReloads.inc(s.scriptReloads + (this.policyStatus?.().scriptReloads ?? 0));
    },
  });
  /** Set by the policy gate when POLICY_FILE's counters are in Redis; read at scrape time. */
  policyStatus: (() => { fallback: boolean; scriptReloads: number }) | undefined;
  readonly policyStoreFallback: Gauge = new Gauge({
    name: 'rls_policy_store_fallback',
    help: "1 while policy limits (POLICY_FILE) use this replica's local share because Redis is unreachable.",
    registers: [this.registry],
    collect: () => {
      this.policyStoreFallback.set(this.policyStatus?.().fallback ? 1 : 0);
    },
  });
  /** Set by the policy gate: penalty blocks in force now (docs/policies.md#progressive-penalties). */
  policyBlocksNow: (() => number) | undefined;
  readonly policyBlocksActive: Gauge = new Gauge({
    name: 'rls_policy_blocks_active',
    help: 'Identities blocked now by a policy penalty (as this replica sees them; with Redis, the fleet).',
    registers: [this.registry],
    collect: () => {
      this.policyBlocksActive.set(this.policyBlocksNow?.() ?? 0);
    },
  });
  /** Labels bounded by the policy file: policy names and ladder levels (at most 10), never from input. */
  readonly policyBlocks: Counter<'policy' | 'level'> = new Counter({
    name: 'rls_policy_blocks_total',
    help: 'Penalty blocks started by this replica, by policy and level (the rung of the ladder).',
    labelNames: ['policy', 'level'] as const,
    registers: [this.registry],
  });
  readonly policyBlockLifts: Counter<'policy'> = new Counter({
    name: 'rls_policy_block_lifts_total',
    help: 'Penalty blocks lifted by an operator through the admin API, by policy.',
    labelNames: ['policy'] as const,
    registers: [this.registry],
  });

  /** Country and ASN rules (docs/policies.md#geography-and-asn): labelled only by what the rules name. */
  readonly geoRequests: Counter<'country' | 'decision'> = new Counter({
    name: 'rls_geo_requests_total',
    help: 'Requests decided by policies naming countries, by client country (only countries a rule names; <other>, <unknown> when not in the database) and decision: allowed, rate_limited, blocked.',
    labelNames: ['country', 'decision'] as const,
    registers: [this.registry],
  });
  readonly geoAsnRequests: Counter<'asn' | 'decision'> = new Counter({
    name: 'rls_geo_asn_requests_total',
    help: 'Requests decided by policies naming ASNs, by client ASN (only ASNs a rule names; <other>, <unknown>) and decision: allowed, rate_limited, blocked.',
    labelNames: ['asn', 'decision'] as const,
    registers: [this.registry],
  });
  readonly geoDatabaseLoads: Counter<'database' | 'result'> = new Counter({
    name: 'rls_geo_database_loads_total',
    help: 'GEOIP_COUNTRY_DATABASE (database=country) and GEOIP_ASN_DATABASE (asn) reads by result: applied (at start or a changed file), or error (the last good database stays in force).',
    labelNames: ['database', 'result'] as const,
    registers: [this.registry],
  });
  /** Set by the policy gate when GEOIP_* databases are open; read at scrape time. */
  geoStatus:
    (() => readonly { kind: string; info: { buildEpoch: number }; lookupErrors: number }[]) | undefined;
  readonly geoBuildEpoch: Gauge<'database'> = new Gauge({
    name: 'rls_geo_database_build_epoch_seconds',
    help: 'Build time (Unix seconds, the file metadata build_epoch) of the country and ASN databases in force.',
    labelNames: ['database'] as const,
    registers: [this.registry],
    collect: () => {
      for (const s of this.geoStatus?.() ?? []) this.geoBuildEpoch.labels(s.kind).set(s.info.buildEpoch);
    },
  });
  readonly geoLookupErrors: Counter<'database'> = new Counter({
    name: 'rls_geo_lookup_errors_total',
    help: 'Lookups that failed inside a database damaged past the checks made when it was read (the request is decided as if the address were not in it).',
    labelNames: ['database'] as const,
    registers: [this.registry],
    collect: () => {
      const all = this.geoStatus?.();
      if (all === undefined) return;
      this.geoLookupErrors.reset();
      for (const s of all) this.geoLookupErrors.labels(s.kind).inc(s.lookupErrors);
    },
  });
  readonly upstreamAgreement: Counter<'outcome' | 'reason'> = new Counter({
    name: 'rls_upstream_agreement_total',
    help: "Forwarded writes whose edge decision was compared with the upstream's answer: agree, edge_stricter (the edge would refuse what the upstream accepted), edge_looser (the upstream refused what the edge allowed); reason: the catalogue's, or not_checked.",
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  /** rls_adaptive_*: adaptive protection of the upstream (src/observe/adaptive-metrics.ts). */
  readonly adaptive = new AdaptiveMetrics(this.registry);

  /** rls_tenant_active_series and the other active-series families (docs/active-series.md#metrics). */
  readonly activeSeries = registerActiveSeriesMetrics(this.registry);

  constructor(withProcessMetrics = true) {
    this.tenantSeries.reportBuckets = (report) => this.bucketLevels?.(report);
    for (const family of this.tenantSeries.families()) this.registry.addTextFamily(family);
    for (const family of this.insight.families()) this.registry.addTextFamily(family);
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts an allowed request: a Map lookup and two adds, no label hashing. */
  recordAllowed(tenant: string, samples: number): void {
    this.tenantSeries.recordAllowed(tenant, samples);
  }

  /** Removes every series labelled `tenant` (an idle tenant evicted by the TenantLabelCap). */
  forgetTenant(tenant: string): void {
    this.tenantSeries.forget(tenant);
  }

  recordDenied(tenant: string, reason: DecisionReason, samples: number): void {
    this.tenantSeries.recordDenied(tenant, reason, samples);
  }
}
