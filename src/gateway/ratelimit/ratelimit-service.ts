// Envoy's rate limit service (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit) with
// envoyproxy/ratelimit's semantics: descriptor rules from RATELIMIT_CONFIG counted in fixed windows, and,
// for a descriptor naming a tenant that no rule matches, the tenant's Mimir request_rate bucket — the very
// bucket the proxy and ext_authz draw from. It never awaits when its stores answer synchronously.

import type { EnforcementMode } from '../../decide/enforcement-mode.js';
import type { Settings } from '../../settings/settings.js';
import { rateQuery } from '../../decide/stages/rates.js';
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
/** Metric label for a domain the config does not name: request strings never become labels. */
export const UNKNOWN_LABEL = '<unknown>';
/** Metric label for a descriptor whose limit Envoy sent itself and that no config key matches. */
export const OVERRIDE_LABEL = '<override>';
/**
 * Longest window-counter key (domain and every entry of one descriptor), in characters. A counter may live
 * a year, so one descriptor may not pin more than this; longer is INVALID_ARGUMENT.
 */
export const MAX_COUNTER_KEY_CHARS = 4096;
/**
 * The largest hits_addend accepted: the field's uint32 range, as envoyproxy/ratelimit accepts. Every store
 * adds or takes it in one step, so its size costs nothing; above it the call is INVALID_ARGUMENT.
 */
export const MAX_HITS_ADDEND = MAX_UINT32;
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
  /**
   * Counts one descriptor's outcome. `domain` is a configured domain or UNKNOWN_LABEL, `descriptor` a config
   * key (or a fixed word); `detailedBase` is set when detailed_metric added the request value.
   */
  record: (domain: string, descriptor: string, result: DescriptorResult, detailedBase?: string) => void;
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
    if (req.hitsAddend > MAX_HITS_ADDEND) {
      throw new GrpcError(
        GrpcStatus.INVALID_ARGUMENT,
        `hits_addend must be at most ${MAX_HITS_ADDEND} (a uint32), got ${req.hitsAddend}`,
      );
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
        // Its fullKey holds request values: the metric names the config key it matches, if any, instead.
        limit = overrideLimit(req.domain, d);
        metricKey = findLimit(config, req.domain, d.entries)?.limit.fullKey ?? OVERRIDE_LABEL;
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
      if (key.length > MAX_COUNTER_KEY_CHARS) {
        throw new GrpcError(
          GrpcStatus.INVALID_ARGUMENT,
          `descriptor ${i} is ${key.length} characters long with its domain; at most ${MAX_COUNTER_KEY_CHARS}`,
        );
      }
      counters.push({ key: `${key}\u0000${start}`, windowEndMs: (start + unitSeconds) * 1000 });
    }

    const domainLabel = config.domains.has(req.domain) ? req.domain : UNKNOWN_LABEL;
    const totals = counters.length > 0 ? this.deps.windows.add(counters, hits, nowMs) : [];
    const tenantAnswers = plans.map((p) =>
      p.kind === 'tenant' ? this.takeRequests(p.tenant, p.query!, hits, nowMs) : undefined,
    );
    if (totals instanceof Promise || tenantAnswers.some((a) => a instanceof Promise)) {
      return Promise.all([totals, Promise.all(tenantAnswers)]).then(([t, a]) =>
        this.respond(domainLabel, plans, t, a, nowMs),
      );
    }
    return this.respond(domainLabel, plans, totals, tenantAnswers as (RateAnswer | undefined)[], nowMs);
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

  /**
   * Takes `hits` request tokens in one step, all or nothing (the bucket is Mimir's: a denied take consumes
   * nothing, and more than the burst never passes). One store call whatever hits_addend says, so a call
   * asking for 2^32 − 1 hits costs what one hit costs.
   */
  private takeRequests(
    tenant: string,
    query: RateQuery,
    hits: number,
    nowMs: number,
  ): RateAnswer | Promise<RateAnswer> {
    return this.deps.tenantStore.take(tenant, hits === 1 ? query : { ...query, requests: hits }, nowMs);
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
      const limit = plan.limit;
      // detailed_metric appends the request value: the recorder caps how many such series exist.
      const detailed =
        limit !== undefined && limit.detailedMetric && plan.metricKey !== limit.fullKey
          ? limit.fullKey
          : undefined;
      this.deps.record(domain, plan.metricKey, result, detailed);
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
