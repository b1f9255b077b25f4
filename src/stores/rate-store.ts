// Where the per-tenant rate buckets live. The in-process store answers synchronously; a shared store
// (Redis) answers with a Promise. Callers handle both, so the in-process hot path never awaits.

import type { BreakerState } from '../lib/redis/circuit-breaker.js';

/** One request's rate question: both of the tenant's buckets, taken in Mimir's order (requests, then items). */
export interface RateQuery {
  requestRate: number;
  requestBurst: number;
  ingestionRate: number;
  ingestionBurst: number;
  /** Items counted against ingestion_rate (0: the ingestion bucket is not touched). */
  cost: number;
  /**
   * Tokens taken from the request bucket (default 1: one request). Every store takes them in one step, all
   * or nothing, so a large count (a ShouldRateLimit hits_addend) costs the same as one.
   */
  requests?: number;
  /** When the request bucket denies and request_rate is enforced, the ingestion bucket is left alone. */
  requestEnforced: boolean;
}

/** Milliseconds until each bucket could have allowed the take: 0 means it was taken (Infinity: never). */
export interface RateAnswer {
  requestWaitMs: number;
  ingestionWaitMs: number;
  /**
   * Tokens the ingestion bucket held when it denied the take, from a store that knows them exactly (the
   * in-process one). Selective filtering sizes what it forwards from it; without it, from the wait.
   */
  ingestionTokens?: number;
}

export interface RateStore {
  readonly kind: 'memory' | 'redis' | 'postgres';
  /** Whether the store is answering from a local fallback because the shared store is unreachable. */
  readonly inFallback: boolean;
  take(tenant: string, query: RateQuery, nowMs: number): RateAnswer | Promise<RateAnswer>;
  /** Current tokens, for display only (admin API, gauges); undefined when the tenant has no state here. */
  peek(tenant: string, query: RateQuery, nowMs: number): { requests: number; ingestion: number } | undefined;
  readonly size: number;
  close(): Promise<void>;
}

/** What /metrics and /api/system/status show of the store (src/app/create-rate-store.ts fills it in). */
export interface StoreStatus {
  kind: RateStore['kind'];
  inFallback: boolean;
  /** Where the shared state lives, e.g. "standalone 10.0.0.5:6379"; empty in process. */
  target: string;
  breaker: BreakerState;
  /** Replicas the limits are split among in fallback. */
  replicas: number;
  roundTrips: number;
  roundTripErrors: number;
  /** Checks answered by Redis, by the over-limit cache, and by the local fallback share. */
  checksShared: number;
  checksCached: number;
  checksLocal: number;
  /** Checks allowed from a near-global tenant's local share (no round trip). */
  checksNearGlobal: number;
  scriptReloads: number;
}
