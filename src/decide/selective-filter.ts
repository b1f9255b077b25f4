// Selective filtering, an edge option (`selective_filtering`, off by default: Mimir has no such thing). When a
// remote write costs more ingestion_rate tokens than the tenant has left, the series that fit are forwarded and
// the sender gets 429 with Retry-After for the rest, instead of a 429 for everything. Nothing is dropped
// silently: the sender retries the same request, the edge recognises it (delivered-prefixes.ts) and forwards
// only what it has not delivered yet, so no sample reaches the upstream twice.

import type { Decision } from '../decision/decision.js';
import { limitIs } from '../limits/limit-definitions.js';
import type { ResolvedTenant } from '../limits/tenant-limits.js';
import { fittingPrefix, reencodeKept } from '../remote-write/index.js';
import type { FittingPrefix, MeasuredBody, RequestInfo } from '../remote-write/index.js';
import type { RateAnswer, RateQuery } from '../stores/rate-store.js';
import { DeliveredPrefixes } from './delivered-prefixes.js';
import { ALLOWED, denial } from '../decision/catalogue.js';
import { retryAfter } from './stages/rates.js';
import { selectiveFilterMessage } from '../decision/catalogue.js';

/** A request an earlier try delivered in part: which one, how many series went, and the rest as a request. */
export interface Resumed {
  key: string;
  skip: number;
  rest: FittingPrefix;
}

/** The part of a request to offer the bucket: its series, what they cost, and the take that charges them. */
export interface SelectivePlan {
  keep: Uint8Array;
  /** The forwarded part as a request of its own, for the tenant's figures. */
  info: RequestInfo;
  cost: number;
  /** The second take: only the ingestion bucket, for the part (request_rate was charged by the first). */
  query: RateQuery;
  /** Tokens the bucket was believed to hold when the whole request was denied. */
  tokens: number;
  /** Series delivered by earlier tries (0 for a request seen whole). */
  skip: number;
  key: string | undefined;
}

/** Whether the tenant has selective filtering on and the body is one the edge can re-encode (RW1, RW2). */
export function selectiveApplies(tenant: ResolvedTenant, measured: MeasuredBody): boolean {
  if (!limitIs(tenant.limits, 'selective_filtering', 'true')) return false;
  const { format } = measured.info;
  return format === 'prw1' || format === 'prw2';
}

const exemplarsCharged = (tenant: ResolvedTenant): boolean => tenant.limits.max_global_exemplars_per_user > 0;

/**
 * The tokens the ingestion bucket held when it denied `query`: exact from a store that reports them, else
 * worked back from the wait (cost − wait × rate). A cost over the burst waits forever, so then the burst is
 * assumed; the part's own take, atomic in every store, has the last word either way.
 */
export function availableTokens(query: RateQuery, answer: RateAnswer): number {
  if (answer.ingestionTokens !== undefined) return answer.ingestionTokens;
  if (Number.isFinite(answer.ingestionWaitMs))
    return query.cost - (answer.ingestionWaitMs * query.ingestionRate) / 1000;
  return query.ingestionBurst;
}

export class SelectiveFilter {
  constructor(readonly delivered = new DeliveredPrefixes()) {}

  /**
   * The rest of a request that an earlier try delivered in part, as a request of its own (RW1 metadata,
   * which no part carried, goes with the rest); undefined for a request seen whole. Hashes the body only when
   * the tenant has such a request pending.
   */
  resume(
    tenant: string,
    resolved: ResolvedTenant,
    measured: MeasuredBody,
    nowMs: number,
  ): Resumed | undefined {
    if (!this.delivered.hasPending(tenant)) return undefined;
    const key = DeliveredPrefixes.key(tenant, measured.decoded);
    const skip = this.delivered.get(key, nowMs);
    if (skip === undefined) return undefined;
    const { info } = measured;
    if (skip >= info.series) {
      this.delivered.delete(key);
      return undefined;
    }
    const rest = fittingPrefix(measured.decoded, info, exemplarsCharged(resolved), Infinity, skip);
    if (info.format === 'prw1' && info.metadata > 0) {
      rest.cost += info.metadata;
      rest.info = { ...rest.info, metadata: info.metadata };
    }
    return { key, skip, rest };
  }

  /** The rest of a resumed request, allowed whole: it goes upstream, and the upstream's answer is the client's. */
  completing(resumed: Resumed, measured: MeasuredBody, allowed: Decision): Decision {
    const body = reencodeKept(measured.decoded, measured.info.format, resumed.rest.keep);
    const delivered = (): void => this.delivered.delete(resumed.key);
    return { ...allowed, partial: { body, delivered } };
  }

  /**
   * The part to forward when `whole` is an enforced ingestion_rate 429: the longest run of the series not yet
   * delivered that fits the tokens left. Undefined when the 429 is for another reason or not even the next
   * series fits.
   */
  plan(
    resolved: ResolvedTenant,
    measured: MeasuredBody,
    query: RateQuery,
    answer: RateAnswer,
    whole: Decision,
    resumed: Resumed | undefined,
  ): SelectivePlan | undefined {
    if (whole.allowed || whole.reason !== 'ingestion_rate') return undefined;
    const tokens = availableTokens(query, answer);
    const budget = Math.floor(tokens);
    if (budget < 1) return undefined;
    const skip = resumed?.skip ?? 0;
    const fit = fittingPrefix(measured.decoded, measured.info, exemplarsCharged(resolved), budget, skip);
    if (fit.info.series === 0 || fit.cost === 0) return undefined;
    return {
      keep: fit.keep,
      info: fit.info,
      cost: fit.cost,
      query: { ...query, requestRate: 0, cost: fit.cost },
      tokens,
      skip,
      key: resumed?.key,
    };
  }

  /**
   * The decision once the part's take was answered: the part forwarded with the 429 owed for the rest (and,
   * once the upstream accepts it, remembered as delivered), or the whole request's 429 when the tokens were
   * gone by then (another request took them).
   */
  decision(
    tenant: string,
    plan: SelectivePlan,
    measured: MeasuredBody,
    query: RateQuery,
    partAnswer: RateAnswer,
    whole: Decision,
    now: () => number,
  ): Decision {
    if (partAnswer.ingestionWaitMs > 0) return whole;
    const { ingestionRate: rate, ingestionBurst: burst, cost } = query;
    const { info, decoded } = measured;
    const deliveredSeries = plan.skip + plan.info.series;
    // Retry-After: until the bucket, emptied by this part, holds the rest again (or a full burst of it).
    const left = Math.max(0, plan.tokens - plan.cost);
    const next = Math.min(cost - plan.cost, burst);
    const waitMs = rate > 0 ? (Math.max(0, next - left) * 1000) / rate : Infinity;
    const message = selectiveFilterMessage(
      rate,
      burst,
      cost,
      plan.info.series,
      plan.cost,
      deliveredSeries,
      info.series,
    );
    const refusal = denial('ingestion_rate', message, rate, cost, retryAfter(waitMs, rate, burst));
    // RW1 metadata sits outside the series and belongs to no part: it goes with the last one.
    const keepMetadata =
      info.format === 'prw1' && info.metadata > 0 ? new Uint8Array(info.metadata) : undefined;
    const body = reencodeKept(decoded, info.format, plan.keep, keepMetadata);
    const delivered = (): void =>
      this.delivered.set(plan.key ?? DeliveredPrefixes.key(tenant, decoded), tenant, deliveredSeries, now());
    return { ...ALLOWED, partial: { body, refusal, delivered } };
  }
}
