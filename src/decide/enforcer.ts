// The one place a write request is judged against its tenant's limits, in two phases: checkStatic()
// (size, series, labels: pure) and decideRates() (the buckets' answer from a RateStore). A limit that is
// only observed records "would deny" and lets the request through. Allocation-free when allowing.

import type { Decision, DecisionReason } from '../decision/decision.js';
import type { LimitName } from '../limits/limit-definitions.js';
import type { ResolvedTenant } from '../limits/tenant-limits.js';
import { isEnforced } from '../limits/tenant-limits.js';
import type { RequestInfo } from '../remote-write/request-info.js';
import { ingestionCost } from '../remote-write/request-info.js';
import type { RateAnswer, RateQuery } from '../stores/rate-store.js';
import {
  REASONS,
  bodyTooLargeMessage,
  rateLimitMessage,
  seriesLimitMessage,
  seriesPerRequestMessage,
} from '../decision/catalogue.js';

export const ALLOWED: Decision = Object.freeze({
  allowed: true,
  reason: 'allowed',
  status: 200,
  retryAfterSeconds: 0,
  errorId: '',
  message: '',
  limit: 0,
  observed: 0,
  wouldDeny: false,
});

/** A denial for `reason`; `wouldDeny` marks one that is only observed. */
export function denial(
  reason: Exclude<DecisionReason, 'allowed'>,
  message: string,
  limit: number,
  observed: number,
  retryAfterSeconds = 0,
): Decision {
  const info = REASONS[reason];
  return {
    allowed: false,
    reason,
    status: info.status,
    retryAfterSeconds,
    errorId: info.errorId,
    message,
    limit,
    observed,
    wouldDeny: false,
  };
}

function observedOnly(d: Decision): Decision {
  return { ...d, allowed: true, status: 200, wouldDeny: true };
}

export interface StaticInput {
  tenant: ResolvedTenant;
  info: RequestInfo;
  dryRun: boolean;
  /** The decompressed body, handed to `describeSeries` only when a per-series limit is exceeded. */
  body: Uint8Array;
  describeSeries: (body: Uint8Array, index: number) => string;
}

/** Seconds to tell a sender to wait: the refill time, at least 1 s; a cost that can never fit gets one full refill. */
export function retryAfter(waitMs: number, rate: number, burst: number): number {
  if (Number.isFinite(waitMs)) return Math.max(1, Math.ceil(waitMs / 1000));
  return rate > 0 ? Math.max(1, Math.ceil(burst / rate)) : 60;
}

/**
 * The request_rate bucket size: Mimir's request_burst_size; 0 means unbounded (Mimir uses math.MaxInt,
 * which in practice disables the request limit), so it is not an error to set a rate without a burst.
 */
export function requestBurst(limits: ResolvedTenant['limits']): number {
  const burst = limits.request_burst_size;
  return burst > 0 ? burst : Number.MAX_SAFE_INTEGER;
}

function over(limit: number, value: number): boolean {
  return limit > 0 && value > limit;
}

/**
 * Size, series and label checks. Returns an enforced denial (allowed: false), else the first observed
 * one (allowed, wouldDeny), else undefined. A request within every limit costs five comparisons and
 * allocates nothing.
 */
export function checkStatic(input: StaticInput): Decision | undefined {
  const { tenant, info } = input;
  const l = tenant.limits;
  // Under label_value_length_over_limit_strategy truncate or drop (index 1, 2), Mimir shortens long values.
  const maxValue = l.label_value_length_over_limit_strategy === 0 ? l.max_label_value_length : 0;
  if (
    !over(l.max_body_bytes, info.bytesCompressed) &&
    !over(l.max_series_per_request, info.series) &&
    !over(l.max_label_names_per_series, info.maxLabelNames) &&
    !over(l.max_label_name_length, info.maxLabelNameLength) &&
    !over(maxValue, info.maxLabelValueLength)
  ) {
    return undefined;
  }
  let observed: Decision | undefined;
  for (const [limit, d] of staticViolations(input, maxValue)) {
    if (isEnforced(tenant.enforcement, limit, input.dryRun)) return d;
    observed ??= observedOnly(d);
  }
  return observed;
}

/** Every static limit the request exceeds, in the order they are checked. Only built when one is exceeded. */
function staticViolations(input: StaticInput, maxValue: number): [LimitName, Decision][] {
  const { info } = input;
  const l = input.tenant.limits;
  const found: [LimitName, Decision][] = [];
  if (over(l.max_body_bytes, info.bytesCompressed)) {
    const message = bodyTooLargeMessage(info.bytesCompressed, l.max_body_bytes);
    found.push(['max_body_bytes', denial('body_too_large', message, l.max_body_bytes, info.bytesCompressed)]);
  }
  if (over(l.max_series_per_request, info.series)) {
    const message = seriesPerRequestMessage(info.series, l.max_series_per_request);
    found.push([
      'max_series_per_request',
      denial('max_series_per_request', message, l.max_series_per_request, info.series),
    ]);
  }
  const perSeries = (
    reason: 'max_label_names_per_series' | 'max_label_name_length' | 'max_label_value_length',
    observed: number,
    limit: number,
    seriesIndex: number,
  ): void => {
    if (!over(limit, observed)) return;
    const series = input.describeSeries(input.body, seriesIndex);
    found.push([
      reason,
      denial(reason, seriesLimitMessage(reason, observed, limit, series), limit, observed),
    ]);
  };
  perSeries(
    'max_label_names_per_series',
    info.maxLabelNames,
    l.max_label_names_per_series,
    info.maxLabelNamesSeries,
  );
  perSeries(
    'max_label_name_length',
    info.maxLabelNameLength,
    l.max_label_name_length,
    info.maxLabelNameSeries,
  );
  perSeries('max_label_value_length', info.maxLabelValueLength, maxValue, info.maxLabelValueSeries);
  return found;
}

/** The rate question for a tenant's limits: what a RateStore needs to take from both buckets. */
export function rateQuery(tenant: ResolvedTenant, cost: number, dryRun: boolean): RateQuery {
  const l = tenant.limits;
  return {
    requestRate: l.request_rate,
    requestBurst: requestBurst(l),
    ingestionRate: l.ingestion_rate,
    ingestionBurst: l.ingestion_burst_size,
    cost,
    requestEnforced: isEnforced(tenant.enforcement, 'request_rate', dryRun),
  };
}

/** Turns the buckets' answer into the decision, after checkStatic() found nothing enforced. */
export function decideRates(
  tenant: ResolvedTenant,
  query: RateQuery,
  answer: RateAnswer,
  dryRun: boolean,
  observedStatic: Decision | undefined,
): Decision {
  let observed = observedStatic;
  if (answer.requestWaitMs > 0) {
    const { requestRate: rate, requestBurst: burst } = query;
    const d = denial(
      'request_rate',
      rateLimitMessage('request_rate', rate, burst, 1),
      rate,
      1,
      retryAfter(answer.requestWaitMs, rate, burst),
    );
    if (isEnforced(tenant.enforcement, 'request_rate', dryRun)) return d;
    observed ??= observedOnly(d);
  }
  if (answer.ingestionWaitMs > 0) {
    const { ingestionRate: rate, ingestionBurst: burst, cost } = query;
    const d = denial(
      'ingestion_rate',
      rateLimitMessage('ingestion_rate', rate, burst, cost),
      rate,
      cost,
      retryAfter(answer.ingestionWaitMs, rate, burst),
    );
    if (isEnforced(tenant.enforcement, 'ingestion_rate', dryRun)) return d;
    observed ??= observedOnly(d);
  }
  return observed ?? ALLOWED;
}

export interface DecideInput extends StaticInput {
  tenantId: string;
  store: { take(tenant: string, q: RateQuery, nowMs: number): RateAnswer };
  nowMs: number;
}

/** Both phases against a synchronous store (the in-process one): the whole decision in one call. */
export function decide(input: DecideInput): Decision {
  const staticResult = checkStatic(input);
  if (staticResult && !staticResult.allowed) return staticResult;
  const query = rateQuery(input.tenant, ingestionCost(input.info), input.dryRun);
  return decideRates(
    input.tenant,
    query,
    input.store.take(input.tenantId, query, input.nowMs),
    input.dryRun,
    staticResult,
  );
}
