// Answers "denied" locally for a tenant whose shared bucket certainly cannot cover the request, without a
// Redis round trip. It keeps, per tenant, an upper bound of each bucket: the level Redis reported plus
// everything that could have refilled since the question was sent. Other replicas only lower the real
// level, so a denial from this bound is one Redis would have given: it never denies what Redis would allow.

import type { RateAnswer, RateQuery } from '../rate-store.js';

interface BucketBound {
  /** Level Redis reported after the take, in tokens; negative: unknown. */
  requests: number;
  ingestion: number;
  /** Local monotonic time at which the question was sent (Redis ran it later). */
  sentAtMs: number;
  requestRate: number;
  requestBurst: number;
  ingestionRate: number;
  ingestionBurst: number;
}

function upper(level: number, sinceMs: number, rate: number, burst: number): number {
  const bound = level + (sinceMs * rate) / 1000;
  return bound > burst ? burst : bound;
}

export class OverLimitCache {
  private readonly bounds = new Map<string, BucketBound>();
  /** Requests answered here. */
  hits = 0;

  constructor(private readonly maxTenants: number) {}

  /**
   * The answer Redis would certainly give, when it is a denial the bound proves; undefined when Redis
   * must be asked (the request might pass, or the request bucket would be taken from).
   */
  answer(tenant: string, q: RateQuery, nowMs: number): RateAnswer | undefined {
    const b = this.bounds.get(tenant);
    if (b === undefined || !sameLimits(b, q)) return undefined;
    const since = nowMs - b.sentAtMs;
    let requestWaitMs = 0;
    if (q.requestRate > 0) {
      if (b.requests < 0) return undefined;
      const level = upper(b.requests, since, q.requestRate, q.requestBurst);
      const requests = q.requests ?? 1;
      // A request bucket that may pass would be taken from in Redis: only Redis can answer.
      if (level >= requests) return undefined;
      requestWaitMs = requests > q.requestBurst ? Infinity : ((requests - level) * 1000) / q.requestRate;
      if (q.requestEnforced || q.cost <= 0) {
        this.hits++;
        return { requestWaitMs, ingestionWaitMs: 0 };
      }
    }
    if (q.cost <= 0 || b.ingestion < 0) return undefined;
    const level = upper(b.ingestion, since, q.ingestionRate, q.ingestionBurst);
    if (q.cost <= level) return undefined;
    const ingestionWaitMs =
      q.cost > q.ingestionBurst || q.ingestionRate <= 0
        ? Infinity
        : ((q.cost - level) * 1000) / q.ingestionRate;
    this.hits++;
    return { requestWaitMs, ingestionWaitMs };
  }

  /** Records what Redis reported (levels in tokens, negative: unknown) for a question sent at `sentAtMs`. */
  record(tenant: string, q: RateQuery, requests: number, ingestion: number, sentAtMs: number): void {
    let b = this.bounds.get(tenant);
    if (b === undefined) {
      if (this.bounds.size >= this.maxTenants) return;
      b = {
        requests,
        ingestion,
        sentAtMs,
        requestRate: q.requestRate,
        requestBurst: q.requestBurst,
        ingestionRate: q.ingestionRate,
        ingestionBurst: q.ingestionBurst,
      };
      this.bounds.set(tenant, b);
      return;
    }
    // Answers can arrive out of order over several connections; any of them is a valid bound, but a
    // later question gives a tighter one.
    if (sentAtMs < b.sentAtMs && sameLimits(b, q)) return;
    b.requests = requests;
    b.ingestion = ingestion;
    b.sentAtMs = sentAtMs;
    b.requestRate = q.requestRate;
    b.requestBurst = q.requestBurst;
    b.ingestionRate = q.ingestionRate;
    b.ingestionBurst = q.ingestionBurst;
  }

  /** The bound of each bucket now, for display; undefined when nothing is known. */
  peek(tenant: string, q: RateQuery, nowMs: number): { requests: number; ingestion: number } | undefined {
    const b = this.bounds.get(tenant);
    if (b === undefined || !sameLimits(b, q)) return undefined;
    const since = nowMs - b.sentAtMs;
    return {
      requests: b.requests < 0 ? q.requestBurst : upper(b.requests, since, q.requestRate, q.requestBurst),
      ingestion:
        b.ingestion < 0 ? q.ingestionBurst : upper(b.ingestion, since, q.ingestionRate, q.ingestionBurst),
    };
  }

  /** Drops tenants whose bound has refilled to the burst: they can no longer answer anything. */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [tenant, b] of this.bounds) {
      const since = nowMs - b.sentAtMs;
      const reqFull =
        b.requestRate <= 0 || upper(b.requests, since, b.requestRate, b.requestBurst) >= b.requestBurst;
      const ingFull = upper(b.ingestion, since, b.ingestionRate, b.ingestionBurst) >= b.ingestionBurst;
      if (reqFull && ingFull) {
        this.bounds.delete(tenant);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    this.bounds.clear();
  }

  get size(): number {
    return this.bounds.size;
  }
}

function sameLimits(b: BucketBound, q: RateQuery): boolean {
  return (
    b.requestRate === q.requestRate &&
    b.requestBurst === q.requestBurst &&
    b.ingestionRate === q.ingestionRate &&
    b.ingestionBurst === q.ingestionBurst
  );
}
