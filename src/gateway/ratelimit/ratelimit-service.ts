// Envoy's rate limit service (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit) with
// envoyproxy/ratelimit's semantics: descriptor rules from RATELIMIT_CONFIG counted in fixed windows, and,
// for a descriptor naming a tenant that no rule matches, the tenant's Mimir request_rate bucket — the very
// bucket the proxy and ext_authz draw from. It never awaits when its stores answer synchronously.

import type { EnforcementMode } from '../../decide/enforcement-mode.js';
import type { Settings } from '../../settings/settings.js';
import { rateQuery } from '../../decide/enforcer.js';
import { tenantIdProblem } from '../../lib/identify/tenant-id.js';
import type { LimitsRegistry } from '../../limits/limits-registry.js';
import { UNIT_SECONDS, findLimit } from '../ratelimit-config/index.js';
import type { DescriptorLimit, RateLimitConfigSource } from '../ratelimit-config/index.js';
import type { RateAnswer, RateQuery, RateStore } from '../../stores/rate-store.js';
import type { GrpcServer } from '../grpc/grpc-server.js';
import { GrpcError, GrpcStatus } from '../grpc/grpc-status.js';
import { secondsUntilReset, windowStartSeconds } from './fixed-window.js';
import { decodeRateLimitRequest } from './rate-limit-request.js';
import type { RequestDescriptor } from './rate-limit-request.js';
import { RateLimitCode, encodeRateLimitResponse } from './rate-limit-response.js';
import type { DescriptorStatus } from './rate-limit-response.js';
import type { WindowCounter, WindowCounterStore } from './window-counter-store.js';

export const RATELIMIT_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';
export const SHOULD_RATE_LIMIT_PATH = `/${RATELIMIT_SERVICE}/ShouldRateLimit`;

const MAX_UINT32 = 0xffff_ffff;
const SECOND = 1;

/** How each descriptor's outcome is counted in rls_ratelimit_descriptor_decisions_total. */
export type DescriptorResult = 'ok' | 'over_limit' | 'shadow_over_limit' | 'unlimited' | 'no_limit';

export interface RateLimitServiceDeps {
  settings: Settings;
  limits: LimitsRegistry;
  /** The tenants' buckets (shared with the proxy and ext_authz). */
  tenantStore: RateStore;
  windows: WindowCounterStore;
  config: RateLimitConfigSource;
  now: () => number;
  /** Descriptor key whose value names the tenant (compared case-insensitively). */
  tenantKey: string;
  /** Add x-ratelimit-limit/-remaining/-reset to the response (envoyproxy's LIMIT_RESPONSE_HEADERS_ENABLED). */
  responseHeaders: boolean;
  record: (domain: string, descriptor: string, result: DescriptorResult) => void;
  /** The runtime enforcement mode of a tenant (enforce / dry-run / off), as the proxy sees it. */
  modeOf?: (tenant: string) => EnforcementMode;
}

/** One descriptor's plan before the stores answer. */
interface Plan {
  kind: 'none' | 'unlimited' | 'window' | 'tenant';
  limit: DescriptorLimit | undefined;
  metricKey: string;
  /** For 'window': index into the batch of counters. */
  counter: number;
  /** For 'tenant'. */
  tenant: string;
  query: RateQuery | undefined;
  enforced: boolean;
}

function overrideLimit(domain: string, d: RequestDescriptor): DescriptorLimit {
  const key = d.entries.map((e) => (e.value ? `${e.key}_${e.value}` : e.key)).join('.');
  return {
    fullKey: `${domain}.${key}`,
    requestsPerUnit: d.limit!.requestsPerUnit,
    unit: d.limit!.unit,
    unlimited: false,
    shadowMode: false,
    name: '',
    replaces: [],
    detailedMetric: false,
    quotaMode: false,
    metadata: undefined,
  };
}

export class RateLimitService {
  constructor(private readonly deps: RateLimitServiceDeps) {}

  register(server: GrpcServer): void {
    server.addUnary(SHOULD_RATE_LIMIT_PATH, this.shouldRateLimit);
  }

  readonly shouldRateLimit = (message: Buffer): Buffer | Promise<Buffer> => {
    const req = decodeRateLimitRequest(message);
    if (req.domain === '')
      throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'rate limit domain must not be empty');
    if (req.descriptors.length === 0) {
      throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'rate limit descriptor list must not be empty');
    }
    const hits = req.hitsAddend > 0 ? req.hitsAddend : 1;
    const nowMs = this.deps.now();
    const config = this.deps.config.current();
    const plans: Plan[] = [];
    const replaced = new Set<string>();
    for (const d of req.descriptors) {
      let limit: DescriptorLimit | undefined;
      let metricKey = '';
      if (d.limit !== undefined && config.domains.has(req.domain)) {
        // envoyproxy/ratelimit: a limit Envoy supplies wins over the config (only for a configured domain).
        limit = overrideLimit(req.domain, d);
        metricKey = limit.fullKey;
      } else {
        const match = findLimit(config, req.domain, d.entries);
        if (match) {
          limit = match.limit;
          metricKey = match.metricKey;
        }
      }
      if (limit) for (const name of limit.replaces) replaced.add(name);
      plans.push(this.plan(d, limit, metricKey));
    }
    const counters: WindowCounter[] = [];
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      const limit = plan.limit;
      if (plan.kind !== 'window' || limit === undefined) continue;
      if (limit.name !== '' && replaced.has(limit.name)) {
        plan.kind = 'none';
        continue;
      }
      const unitSeconds = UNIT_SECONDS[limit.unit];
      if (unitSeconds === undefined) {
        throw new GrpcError(
          GrpcStatus.INVALID_ARGUMENT,
          `unknown rate limit unit ${limit.unit} for ${limit.fullKey}`,
        );
      }
      const start = windowStartSeconds(nowMs, unitSeconds);
      plan.counter = counters.length;
      // As envoyproxy/ratelimit's cache key: domain, every entry of the request descriptor, window start.
      let key = req.domain;
      for (const e of req.descriptors[i]!.entries) key += `\u0000${e.key}\u0000${e.value}`;
      counters.push({ key: `${key}\u0000${start}`, windowEndMs: (start + unitSeconds) * 1000 });
    }

    const totals = counters.length > 0 ? this.deps.windows.add(counters, hits, nowMs) : [];
    const tenantAnswers = plans.map((p) =>
      p.kind === 'tenant' ? this.takeRequests(p.tenant, p.query!, hits, nowMs) : undefined,
    );
    if (totals instanceof Promise || tenantAnswers.some((a) => a instanceof Promise)) {
      return Promise.all([totals, Promise.all(tenantAnswers)]).then(([t, a]) =>
        this.respond(req.domain, plans, t, a, nowMs),
      );
    }
    return this.respond(req.domain, plans, totals, tenantAnswers as (RateAnswer | undefined)[], nowMs);
  };

  private plan(d: RequestDescriptor, limit: DescriptorLimit | undefined, metricKey: string): Plan {
    const plan: Plan = {
      kind: 'none',
      limit,
      metricKey,
      counter: -1,
      tenant: '',
      query: undefined,
      enforced: true,
    };
    if (limit !== undefined) {
      plan.kind = limit.unlimited ? 'unlimited' : 'window';
      return plan;
    }
    // No rule: a descriptor naming a tenant falls back to that tenant's Mimir request_rate.
    const key = this.deps.tenantKey;
    for (const entry of d.entries) {
      if (entry.key.toLowerCase() !== key) continue;
      if (tenantIdProblem(entry.value) !== undefined) break;
      const resolved = this.deps.limits.forTenant(entry.value);
      if (resolved.limits.request_rate <= 0) break;
      plan.kind = 'tenant';
      plan.tenant = entry.value;
      // Observe only unless the tenant's runtime mode enforces (as on the proxy and ext_authz).
      const observeOnly = this.deps.modeOf
        ? this.deps.modeOf(entry.value) !== 'enforce'
        : this.deps.settings.dryRun;
      plan.query = rateQuery(resolved, 0, observeOnly);
      plan.enforced = plan.query.requestEnforced;
      plan.metricKey = 'tenant.request_rate';
      break;
    }
    return plan;
  }

  /** Takes `hits` request tokens one at a time, stopping at the first refusal (the bucket is Mimir's). */
  private takeRequests(
    tenant: string,
    query: RateQuery,
    hits: number,
    nowMs: number,
  ): RateAnswer | Promise<RateAnswer> {
    const store = this.deps.tenantStore;
    for (let i = 0; i < hits; i++) {
      const answer = store.take(tenant, query, nowMs);
      if (answer instanceof Promise) {
        const rest = hits - i - 1;
        return answer.then((a) =>
          a.requestWaitMs > 0 || rest === 0 ? a : this.takeRequests(tenant, query, rest, nowMs),
        );
      }
      if (answer.requestWaitMs > 0 || i === hits - 1) return answer;
    }
    return { requestWaitMs: 0, ingestionWaitMs: 0 };
  }

  private respond(
    domain: string,
    plans: readonly Plan[],
    totals: readonly number[],
    tenantAnswers: readonly (RateAnswer | undefined)[],
    nowMs: number,
  ): Buffer {
    let overall: number = RateLimitCode.OK;
    const statuses: DescriptorStatus[] = [];
    // The descriptor closest to its limit, for the optional response headers (as envoyproxy/ratelimit).
    let closest: DescriptorStatus | undefined;
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      let status: DescriptorStatus;
      let result: DescriptorResult;
      if (plan.kind === 'window') {
        const limit = plan.limit!;
        const total = totals[plan.counter]!;
        const over = total > limit.requestsPerUnit;
        status = {
          code: over && !limit.shadowMode ? RateLimitCode.OVER_LIMIT : RateLimitCode.OK,
          currentLimit: { requestsPerUnit: limit.requestsPerUnit, unit: limit.unit, name: limit.name },
          limitRemaining: over ? 0 : limit.requestsPerUnit - total,
          durationUntilResetSeconds: secondsUntilReset(nowMs, UNIT_SECONDS[limit.unit]!),
        };
        result = over ? (limit.shadowMode ? 'shadow_over_limit' : 'over_limit') : 'ok';
      } else if (plan.kind === 'tenant') {
        const answer = tenantAnswers[i]!;
        const query = plan.query!;
        const tokens = this.deps.tenantStore.peek(plan.tenant, query, nowMs)?.requests ?? query.requestBurst;
        const over = answer.requestWaitMs > 0;
        const rate = query.requestRate;
        status = {
          code: over && plan.enforced ? RateLimitCode.OVER_LIMIT : RateLimitCode.OK,
          currentLimit: {
            requestsPerUnit: Math.max(1, Math.round(rate)),
            unit: SECOND,
            name: 'request_rate',
          },
          limitRemaining: over ? 0 : Math.max(0, Math.floor(tokens)),
          durationUntilResetSeconds: over
            ? Number.isFinite(answer.requestWaitMs)
              ? Math.max(1, Math.ceil(answer.requestWaitMs / 1000))
              : Math.ceil(query.requestBurst / rate)
            : Math.ceil(Math.max(0, query.requestBurst - tokens) / rate),
        };
        result = over ? (plan.enforced ? 'over_limit' : 'shadow_over_limit') : 'ok';
      } else if (plan.kind === 'unlimited') {
        status = {
          code: RateLimitCode.OK,
          currentLimit: undefined,
          limitRemaining: MAX_UINT32,
          durationUntilResetSeconds: 0,
        };
        result = 'unlimited';
      } else {
        status = {
          code: RateLimitCode.OK,
          currentLimit: undefined,
          limitRemaining: 0,
          durationUntilResetSeconds: 0,
        };
        result = 'no_limit';
      }
      if (status.code === RateLimitCode.OVER_LIMIT) {
        overall = RateLimitCode.OVER_LIMIT;
        closest = status;
      } else if (
        status.currentLimit !== undefined &&
        overall !== RateLimitCode.OVER_LIMIT &&
        (closest === undefined || status.limitRemaining < closest.limitRemaining)
      ) {
        closest = status;
      }
      statuses.push(status);
      this.deps.record(domain, plan.metricKey, result);
    }
    const headers: [string, string][] = [];
    if (this.deps.responseHeaders && closest?.currentLimit !== undefined) {
      headers.push(
        ['x-ratelimit-limit', String(closest.currentLimit.requestsPerUnit)],
        ['x-ratelimit-remaining', String(closest.limitRemaining)],
        ['x-ratelimit-reset', String(closest.durationUntilResetSeconds)],
      );
    }
    return encodeRateLimitResponse(overall, statuses, headers);
  }
}
