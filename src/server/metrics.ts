// Prometheus metrics of the service, named as document 000 names them (rls_*).
// Per-tenant label children are looked up once per tenant and cached, so recording a decision on the
// hot path is a property read and an add, not a label hash.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DecisionReason } from '../engine/decision.js';

/** Tenant label value for requests without a (valid) tenant: keeps hostile ids out of label values. */
export const NO_TENANT = '__none__';

const FAST_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1,
];
const UPSTREAM_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class EdgeMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: 'rls_decisions_total',
    help: 'Enforcement decisions by tenant and reason (reason "allowed" for allows).',
    labelNames: ['decision', 'tenant', 'reason'] as const,
    registers: [this.registry],
  });
  readonly wouldDeny = new Counter({
    name: 'rls_would_deny_total',
    help: 'Requests forwarded although a limit was exceeded, because that limit is only observed (dry run or enforcement off).',
    labelNames: ['tenant', 'reason'] as const,
    registers: [this.registry],
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
  readonly samples = new Counter({
    name: 'rls_samples_total',
    help: 'Items counted against ingestion_rate (samples, histogram samples, exemplars, metadata) by tenant and decision.',
    labelNames: ['tenant', 'decision'] as const,
    registers: [this.registry],
  });
  /** Set by the service: reports each tenant's bucket levels when /metrics is scraped. */
  bucketLevels:
    | ((report: (tenant: string, bucketType: 'samples' | 'requests', tokens: number) => void) => void)
    | undefined;
  /** Set by the service: seconds since the overrides file was last read successfully. */
  limitsStaleSeconds: (() => number) | undefined;

  readonly bucketTokens: Gauge<'tenant' | 'bucket_type'> = new Gauge({
    name: 'rls_tenant_bucket_tokens',
    help: 'Tokens left in a tenant bucket at scrape time (samples: ingestion_rate, requests: request_rate).',
    labelNames: ['tenant', 'bucket_type'] as const,
    registers: [this.registry],
    collect: () => {
      const gauge = this.bucketTokens;
      gauge.reset();
      this.bucketLevels?.((tenant, bucketType, tokens) => gauge.labels(tenant, bucketType).set(tokens));
    },
  });
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
  readonly limitsVersion = new Gauge({
    name: 'rls_limits_version',
    help: 'Version number of the limits in force; increases on every applied change.',
    registers: [this.registry],
  });

  private readonly allowedByTenant = new Map<
    string,
    { decisions: Counter.Internal; samples: Counter.Internal }
  >();

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts an allowed request: cached child, no label hashing after a tenant's first request. */
  recordAllowed(tenant: string, samples: number): void {
    let children = this.allowedByTenant.get(tenant);
    if (!children) {
      children = {
        decisions: this.decisions.labels('allow', tenant, 'allowed'),
        samples: this.samples.labels(tenant, 'allow'),
      };
      this.allowedByTenant.set(tenant, children);
    }
    children.decisions.inc();
    if (samples > 0) children.samples.inc(samples);
  }

  recordDenied(tenant: string, reason: DecisionReason, samples: number): void {
    this.decisions.labels('deny', tenant, reason).inc();
    if (samples > 0) this.samples.labels(tenant, 'deny').inc(samples);
  }
}
