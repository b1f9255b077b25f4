// Per-tenant token buckets kept in this process (the embedded default store). Answers synchronously.
// Memory stays bounded: a bucket that has refilled to its burst is indistinguishable from a new one,
// so sweep() drops it without changing any future decision.

import { newTokenBucket, refill, takeTokens } from '../lib/engine/token-bucket.js';
import type { TokenBucketState } from '../lib/engine/token-bucket.js';
import type { RateAnswer, RateQuery, RateStore } from './rate-store.js';

interface TenantRateState {
  ingestion: TokenBucketState;
  requests: TokenBucketState;
}

export class InProcessRateStore implements RateStore {
  readonly kind = 'memory';
  readonly inFallback = false;
  private readonly tenants = new Map<string, TenantRateState>();

  take(tenant: string, q: RateQuery, nowMs: number): RateAnswer {
    const s = this.state(tenant, q, nowMs);
    let requestWaitMs = 0;
    if (q.requestRate > 0) {
      requestWaitMs = takeTokens(s.requests, q.requestRate, q.requestBurst, q.requests ?? 1, nowMs);
      if (requestWaitMs > 0 && q.requestEnforced) return { requestWaitMs, ingestionWaitMs: 0 };
    }
    const ingestionWaitMs =
      q.cost > 0 ? takeTokens(s.ingestion, q.ingestionRate, q.ingestionBurst, q.cost, nowMs) : 0;
    if (ingestionWaitMs > 0) return { requestWaitMs, ingestionWaitMs, ingestionTokens: s.ingestion.tokens };
    return { requestWaitMs, ingestionWaitMs };
  }

  peek(tenant: string, q: RateQuery, nowMs: number): { requests: number; ingestion: number } | undefined {
    const s = this.tenants.get(tenant);
    if (!s) return undefined;
    refill(s.ingestion, q.ingestionRate, q.ingestionBurst, nowMs);
    refill(s.requests, q.requestRate, q.requestBurst, nowMs);
    return { requests: s.requests.tokens, ingestion: s.ingestion.tokens };
  }

  get size(): number {
    return this.tenants.size;
  }

  /** Whether the tenant has buckets here (a tenant without any starts full). */
  has(tenant: string): boolean {
    return this.tenants.has(tenant);
  }

  /**
   * Creates the tenant's buckets at the given levels instead of full (each capped at its burst); does nothing
   * if it has buckets already. For a fallback that takes over from a store whose levels are known.
   */
  seed(tenant: string, q: RateQuery, requests: number, ingestion: number, nowMs: number): void {
    if (this.tenants.has(tenant)) return;
    this.tenants.set(tenant, {
      ingestion: newTokenBucket(Math.max(0, Math.min(ingestion, q.ingestionBurst)), nowMs),
      requests: newTokenBucket(Math.max(0, Math.min(requests, q.requestBurst)), nowMs),
    });
  }

  /** Forgets tenants whose buckets are full again; `queryOf` gives each tenant's current limits. Returns how many. */
  sweep(nowMs: number, queryOf: (tenant: string) => RateQuery): number {
    let dropped = 0;
    for (const [tenant, s] of this.tenants) {
      const q = queryOf(tenant);
      refill(s.ingestion, q.ingestionRate, q.ingestionBurst, nowMs);
      refill(s.requests, q.requestRate, q.requestBurst, nowMs);
      if (s.ingestion.tokens >= q.ingestionBurst && s.requests.tokens >= q.requestBurst) {
        this.tenants.delete(tenant);
        dropped++;
      }
    }
    return dropped;
  }

  async close(): Promise<void> {}

  /** The tenant's buckets, created full (as Mimir's limiter starts) on first use. */
  private state(tenant: string, q: RateQuery, nowMs: number): TenantRateState {
    let s = this.tenants.get(tenant);
    if (!s) {
      s = {
        ingestion: newTokenBucket(q.ingestionBurst, nowMs),
        requests: newTokenBucket(q.requestBurst, nowMs),
      };
      this.tenants.set(tenant, s);
    }
    return s;
  }
}
