// The per-tenant families as EdgeMetrics kept them before TenantSeries: ordinary prom-client counters and a
// gauge filled at collect time. The reference the rewrite must match line for line (tests) and the peer the
// scrape benchmark runs against (bench/metrics-scrape.ts).

import { Counter, Gauge, Registry } from 'prom-client';
import { REASONS } from '../../src/decision/catalogue.js';
import type { DecisionReason } from '../../src/decision/decision.js';

type BucketReport = (tenant: string, bucketType: 'samples' | 'requests', tokens: number) => void;

export class PromClientTenantMetrics {
  readonly registry = new Registry();
  bucketLevels: ((report: BucketReport) => void) | undefined;
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
  readonly unchecked = new Counter({
    name: 'rls_unchecked_requests_total',
    help: 'Write requests forwarded without being measured or decided, because their enforcement mode is off.',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  });
  readonly samples = new Counter({
    name: 'rls_samples_total',
    help: 'Items counted against ingestion_rate (samples, histogram samples, exemplars, metadata) by tenant and decision.',
    labelNames: ['tenant', 'decision'] as const,
    registers: [this.registry],
  });
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
  private readonly allowedByTenant = new Map<
    string,
    { decisions: Counter.Internal; samples: Counter.Internal }
  >();

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

  forgetTenant(tenant: string): void {
    this.allowedByTenant.delete(tenant);
    this.decisions.remove('allow', tenant, 'allowed');
    for (const decision of ['allow', 'deny']) this.samples.remove(tenant, decision);
    this.unchecked.remove(tenant);
    for (const reason of Object.keys(REASONS)) {
      this.decisions.remove('deny', tenant, reason);
      this.wouldDeny.remove(tenant, reason);
    }
  }
}

/** The non-comment lines of an exposition text, sorted: equal for two texts with the same series and values. */
export function seriesLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .sort();
}

/** The `# HELP` / `# TYPE` lines, sorted. */
export function headerLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .sort();
}
