// Stage of the write pipeline (src/decide/write-pipeline.ts): ingestion_rate, and request_rate when the tenant has
// none to take first (stages/request-rate.ts). One take from the tenant's buckets in the RateStore, in Mimir's
// order (a request, then its items): synchronous in process, one round trip with a shared store. A denied request consumes nothing; a limit only observed lets it through
// as a would-deny.

import type { Decision } from '../../decision/decision.js';
import { ALLOWED, denial, observedOnly, rateLimitMessage } from '../../decision/catalogue.js';
import type { ResolvedTenant } from '../../limits/tenant-limits.js';
import { isEnforced } from '../../limits/tenant-limits.js';
import type { RateAnswer, RateQuery } from '../../stores/rate-store.js';
import { withPartial } from '../mimir-rules.js';
import type { StageDeps, StageOutcome, WriteStage } from '../write-request.js';

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

/**
 * The ingestion_rate bucket size: ingestion_burst_size, or with ingestion_burst_factor above 0, ceil(rate ×
 * factor), as Mimir's global strategy with a burst factor computes it (capped where Mimir caps at MaxInt).
 */
export function ingestionBurst(limits: ResolvedTenant['limits']): number {
  const factor = limits.ingestion_burst_factor;
  if (!(factor > 0)) return limits.ingestion_burst_size;
  const burst = Math.ceil(limits.ingestion_rate * factor);
  return burst >= Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : burst;
}

/** The rate question for a tenant's limits: what a RateStore needs to take from both buckets. */
export function rateQuery(tenant: ResolvedTenant, cost: number, dryRun: boolean): RateQuery {
  const l = tenant.limits;
  return {
    requestRate: l.request_rate,
    requestBurst: requestBurst(l),
    ingestionRate: l.ingestion_rate,
    ingestionBurst: ingestionBurst(l),
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

/**
 * Takes `query` from the store and hands the answer to `conclude`, synchronously when the store answers so. A
 * store that throws or rejects is not a verdict on the request: the pipeline turns it into failed().
 */
export function take(
  deps: StageDeps,
  tenant: string,
  query: RateQuery,
  conclude: (a: RateAnswer) => StageOutcome | Promise<StageOutcome>,
): StageOutcome | Promise<StageOutcome> {
  const answer = deps.store.take(tenant, query, deps.now());
  return answer instanceof Promise ? answer.then(conclude) : conclude(answer);
}

export const rates: WriteStage = {
  name: 'request_rate, ingestion_rate',
  run(s, deps) {
    const query = s.query;
    if (query === undefined) throw new Error('the rates stage needs the cost stage before it');
    return take(deps, s.req.tenant, query, (answer) => {
      s.answer = answer;
      // An observed request_rate would-deny (taken before measuring) ranks after an observed static one, as
      // decideRates() ranks them when it takes both buckets.
      const observed = s.observed ?? (s.requestTaken?.wouldDeny ? s.requestTaken : undefined);
      s.decided = withPartial(decideRates(s.resolved, query, answer, s.dryRun, observed), s.view);
      return s;
    });
  },
};
