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
import type { DecodedRateLimitRequest, RequestDescriptor } from './rate-limit-request.js';
import { RateLimitCode, encodeRateLimitResponse } from './rate-limit-response.js';
import type { DescriptorStatus } from './rate-limit-response.js';
import type { PeerStats } from './peer-stats.js';
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
  /** The names of those headers (envoyproxy/ratelimit's LIMIT_LIMIT_HEADER …); default x-ratelimit-*. */
  headerNames?: { limit: string; remaining: string; reset: string };
  /** envoyproxy/ratelimit's SHADOW_MODE: the overall answer is never OVER_LIMIT; statuses stay as they are. */
  globalShadowMode?: boolean;
  /** envoyproxy/ratelimit's QUOTA_MODE: every configured limit is in quota mode. */
  globalQuotaMode?: boolean;
  /** envoyproxy/ratelimit's statistics under its statsd-exporter names. */
  stats?: PeerStats;
  /** envoyproxy/ratelimit's RESPONSE_DYNAMIC_METADATA: describe the request and passed limits' metadata. */
  dynamicMetadata?: boolean;
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
  /** Hits for this descriptor: its own hits_addend, else the request's (0 there counts as 1). */
  hits: number;
  /** share_threshold: per entry, the pattern standing for the value in the counter key. */
  shared: readonly (string | undefined)[] | undefined;
  /** The config's own key for the limit (undefined for a limit Envoy sent): bounds the peer stats. */
  configuredKey: string | undefined;
}

const DEFAULT_HEADER_NAMES = {
  limit: 'x-ratelimit-limit',
  remaining: 'x-ratelimit-remaining',
  reset: 'x-ratelimit-reset',
};

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
    // envoyproxy/ratelimit answers these with a plain error, which gRPC sends as UNKNOWN.
    if (req.domain === '') {
      this.deps.stats?.recordServiceError();
      throw new GrpcError(GrpcStatus.UNKNOWN, 'rate limit domain must not be empty');
    }
    if (req.descriptors.length === 0) {
      this.deps.stats?.recordServiceError();
      throw new GrpcError(GrpcStatus.UNKNOWN, 'rate limit descriptor list must not be empty');
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
      let shared: readonly (string | undefined)[] | undefined;
      let configuredKey: string | undefined;
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
          shared = match.sharedValues;
          configuredKey = limit.fullKey;
        }
      }
      if (limit) for (const name of limit.replaces) replaced.add(name);
      const plan = this.plan(d, limit, metricKey);
      plan.hits = d.hitsAddend ?? hits;
      plan.shared = shared;
      plan.configuredKey = configuredKey;
      plans.push(plan);
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
      // share_threshold: the pattern stands for the value, so every matching value shares the counter.
      let key = req.domain;
      const entries = req.descriptors[i]!.entries;
      const shared = plan.shared;
      for (let j = 0; j < entries.length; j++) {
        const e = entries[j]!;
        key += `\u0000${e.key}\u0000${shared?.[j] ?? e.value}`;
      }
      if (key.length > MAX_COUNTER_KEY_CHARS) {
        throw new GrpcError(
          GrpcStatus.INVALID_ARGUMENT,
          `descriptor ${i} is ${key.length} characters long with its domain; at most ${MAX_COUNTER_KEY_CHARS}`,
        );
      }
      counters.push({
        key: `${key}\u0000${start}`,
        windowEndMs: (start + unitSeconds) * 1000,
        hits: plan.hits,
      });
    }

    const domainLabel = config.domains.has(req.domain) ? req.domain : UNKNOWN_LABEL;
    const totals = counters.length > 0 ? this.deps.windows.add(counters, hits, nowMs) : [];
    const tenantAnswers = plans.map((p) =>
      p.kind === 'tenant' ? this.takeRequests(p.tenant, p.query!, p.hits, nowMs) : undefined,
    );
    if (totals instanceof Promise || tenantAnswers.some((a) => a instanceof Promise)) {
      return Promise.all([totals, Promise.all(tenantAnswers)]).then(([t, a]) =>
        this.respond(req, domainLabel, plans, t, a, nowMs),
      );
    }
    return this.respond(req, domainLabel, plans, totals, tenantAnswers as (RateAnswer | undefined)[], nowMs);
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
      hits: 1,
      shared: undefined,
      configuredKey: undefined,
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
    req: DecodedRateLimitRequest,
    /** req.domain when it is configured, else UNKNOWN_LABEL: only configured domains become labels. */
    domainLabel: string,
    plans: readonly Plan[],
    totals: readonly number[],
    tenantAnswers: readonly (RateAnswer | undefined)[],
    nowMs: number,
  ): Buffer {
    const statuses: DescriptorStatus[] = [];
    // The descriptor closest to its limit, for the optional response headers (as envoyproxy/ratelimit).
    let closest: DescriptorStatus | undefined;
    let closestRemaining = MAX_UINT32;
    // As envoyproxy/ratelimit: OVER_LIMIT when a non-quota descriptor is over, or every quota one is.
    let failedRate = 0;
    let failedQuota = 0;
    let totalQuota = 0;
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
        this.deps.stats?.recordWindow(
          plan.metricKey,
          plan.configuredKey,
          limit.requestsPerUnit,
          total,
          plan.hits,
          limit.shadowMode,
        );
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
      if (status.currentLimit !== undefined && status.limitRemaining < closestRemaining) {
        closest = status;
        closestRemaining = status.limitRemaining;
      }
      // QUOTA_MODE makes every descriptor but an unlimited one a quota descriptor, as there.
      const quota =
        plan.kind !== 'unlimited' &&
        (this.deps.globalQuotaMode === true || (plan.kind === 'window' && plan.limit!.quotaMode));
      if (quota) totalQuota++;
      if (status.code === RateLimitCode.OVER_LIMIT) {
        if (quota) failedQuota++;
        else {
          failedRate++;
          closest = status;
          closestRemaining = 0;
        }
      }
      statuses.push(status);
      // detailed_metric and value_to_metric append request values: the recorder caps how many such series exist.
      const detailed =
        plan.configuredKey !== undefined && plan.metricKey !== plan.configuredKey
          ? plan.configuredKey
          : undefined;
      this.deps.record(domainLabel, plan.metricKey, result, detailed);
    }
    let overall: number =
      failedRate > 0 || (totalQuota > 0 && totalQuota === failedQuota)
        ? RateLimitCode.OVER_LIMIT
        : RateLimitCode.OK;
    const headers: [string, string][] = [];
    if (this.deps.responseHeaders && closest?.currentLimit !== undefined) {
      const names = this.deps.headerNames ?? DEFAULT_HEADER_NAMES;
      headers.push(
        [names.limit, String(closest.currentLimit.requestsPerUnit)],
        [names.remaining, String(closest.limitRemaining)],
        [names.reset, String(closest.durationUntilResetSeconds)],
      );
    }
    // SHADOW_MODE: the answer lets the request through; each descriptor's status still tells the truth.
    if (overall === RateLimitCode.OVER_LIMIT && this.deps.globalShadowMode === true) {
      overall = RateLimitCode.OK;
      this.deps.stats?.recordGlobalShadowMode();
    }
    const metadata = this.deps.dynamicMetadata === true ? dynamicMetadata(req, plans, statuses) : undefined;
    return encodeRateLimitResponse(overall, statuses, headers, metadata);
  }
}

const UNIT_NAMES = ['UNKNOWN', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'YEAR'];

/**
 * RESPONSE_DYNAMIC_METADATA as envoyproxy/ratelimit builds it: the domain; each descriptor's entries as
 * "key=value", its limit override (as text) and its own hits_addend; the request's hits_addend when not 0;
 * and the `metadata` of every configured limit whose descriptor passed (not over, not unlimited), merged
 * with the first value winning and nested mappings merged.
 */
function dynamicMetadata(
  req: DecodedRateLimitRequest,
  plans: readonly Plan[],
  statuses: readonly DescriptorStatus[],
): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  out['domain'] = req.domain;
  out['descriptors'] = req.descriptors.map((d) => {
    const o: Record<string, unknown> = { entries: d.entries.map((e) => `${e.key}=${e.value}`) };
    if (d.limit !== undefined) {
      o['limit'] =
        `requests_per_unit:${d.limit.requestsPerUnit} unit:${UNIT_NAMES[d.limit.unit] ?? d.limit.unit}`;
    }
    if (d.hitsAddend !== undefined) o['hitsAddend'] = d.hitsAddend;
    return o;
  });
  if (req.hitsAddend !== 0) out['hitsAddend'] = req.hitsAddend;
  const passed: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i]!;
    const meta = plan.kind === 'window' ? plan.limit?.metadata : undefined;
    if (meta !== undefined && statuses[i]!.code !== RateLimitCode.OVER_LIMIT) mergeMetadata(passed, meta);
  }
  if (Object.keys(passed).length > 0) out['metadata'] = passed;
  return out;
}

function isStruct(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Adds `src` into `dest` (a fresh object): keys already there stay, unless both sides are mappings. */
function mergeMetadata(dest: Record<string, unknown>, src: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(src)) {
    const have = dest[key];
    const add = src[key];
    if (have === undefined) {
      // Copied, so a later merge never writes into the config's frozen objects.
      dest[key] = isStruct(add) ? copyStruct(add) : add;
    } else if (isStruct(have) && isStruct(add)) mergeMetadata(have as Record<string, unknown>, add);
  }
}

function copyStruct(src: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(src)) out[key] = isStruct(src[key]) ? copyStruct(src[key]) : src[key];
  return out;
}
