// Metrics of the Envoy-facing transports, registered on the service's registry beside the rls_* metrics.
// Label children are cached per (domain, descriptor, result), so recording is a map lookup and an add.

import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ReloadOutcome } from './ratelimit-config/index.js';
import type { DescriptorResult } from './ratelimit/ratelimit-service.js';

export class GatewayMetrics {
  private readonly descriptorDecisions: Counter<'domain' | 'descriptor' | 'result'>;
  private readonly configReloads: Counter<'result'>;
  private readonly children = new Map<string, Counter.Internal>();

  constructor(registry: Registry) {
    this.descriptorDecisions = new Counter({
      name: 'rls_ratelimit_descriptor_decisions_total',
      help: 'ShouldRateLimit outcomes per descriptor: the config key that matched (tenant.request_rate for the tenant fallback) and the result.',
      labelNames: ['domain', 'descriptor', 'result'] as const,
      registers: [registry],
    });
    this.configReloads = new Counter({
      name: 'rls_ratelimit_config_reloads_total',
      help: 'RATELIMIT_CONFIG reloads by result (applied, error).',
      labelNames: ['result'] as const,
      registers: [registry],
    });
  }

  readonly recordDescriptor = (domain: string, descriptor: string, result: DescriptorResult): void => {
    const id = `${domain}\u0000${descriptor}\u0000${result}`;
    let child = this.children.get(id);
    if (child === undefined) {
      child = this.descriptorDecisions.labels(domain, descriptor, result);
      this.children.set(id, child);
    }
    child.inc();
  };

  recordReload(outcome: ReloadOutcome): void {
    this.configReloads.labels(outcome).inc();
  }
}
