// Per-tenant token buckets kept in this process (the embedded default store).
// Memory stays bounded: a bucket that has refilled to its burst is indistinguishable from a new one,
// so sweep() drops it without changing any future decision.

import { newTokenBucket, refill } from '../engine/token-bucket.js';
import type { TokenBucketState } from '../engine/token-bucket.js';

export interface TenantRateState {
  ingestion: TokenBucketState;
  requests: TokenBucketState;
}

export class InProcessRateStore {
  private readonly tenants = new Map<string, TenantRateState>();

  /** The tenant's buckets, created full (as Mimir's limiter starts) on first use. */
  get(tenant: string, ingestionBurst: number, requestBurst: number, nowMs: number): TenantRateState {
    let state = this.tenants.get(tenant);
    if (!state) {
      state = {
        ingestion: newTokenBucket(ingestionBurst, nowMs),
        requests: newTokenBucket(requestBurst, nowMs),
      };
      this.tenants.set(tenant, state);
    }
    return state;
  }

  peek(tenant: string): TenantRateState | undefined {
    return this.tenants.get(tenant);
  }

  get size(): number {
    return this.tenants.size;
  }

  /**
   * Forgets tenants whose buckets are full again. `limitsOf` gives the current rate and burst of each.
   * Returns how many were dropped.
   */
  sweep(
    nowMs: number,
    limitsOf: (tenant: string) => {
      ingestionRate: number;
      ingestionBurst: number;
      requestRate: number;
      requestBurst: number;
    },
  ): number {
    let dropped = 0;
    for (const [tenant, state] of this.tenants) {
      const l = limitsOf(tenant);
      refill(state.ingestion, l.ingestionRate, l.ingestionBurst, nowMs);
      refill(state.requests, l.requestRate, l.requestBurst, nowMs);
      if (state.ingestion.tokens >= l.ingestionBurst && state.requests.tokens >= l.requestBurst) {
        this.tenants.delete(tenant);
        dropped++;
      }
    }
    return dropped;
  }
}
