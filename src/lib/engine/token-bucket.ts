// Token bucket with the semantics Mimir gets from golang.org/x/time/rate: `rate` tokens per second,
// at most `burst` tokens, a new bucket starts full, a denied take consumes nothing, and a cost above
// `burst` can never pass. Pure: time is passed in, nothing is allocated per call.

/** Mutable state of one bucket. Kept tiny because there is one per tenant and limit. */
export interface TokenBucketState {
  tokens: number;
  /** Time of the last refill, in milliseconds. */
  updatedAtMs: number;
}

export function newTokenBucket(burst: number, nowMs: number): TokenBucketState {
  return { tokens: burst, updatedAtMs: nowMs };
}

/** Refills `state` up to `nowMs` (clipped to `burst`); time going backwards refills nothing. */
export function refill(state: TokenBucketState, ratePerSecond: number, burst: number, nowMs: number): void {
  const elapsedMs = nowMs - state.updatedAtMs;
  if (elapsedMs > 0) {
    const tokens = state.tokens + (elapsedMs * ratePerSecond) / 1000;
    state.tokens = tokens > burst ? burst : tokens;
    state.updatedAtMs = nowMs;
  } else if (state.tokens > burst) {
    // The burst was lowered since the last take.
    state.tokens = burst;
  }
}

/**
 * Takes `cost` tokens if the bucket holds them. Returns 0 when allowed, otherwise the milliseconds until
 * enough tokens will have accumulated (Infinity when `cost` exceeds `burst` or the rate is 0).
 */
export function takeTokens(
  state: TokenBucketState,
  ratePerSecond: number,
  burst: number,
  cost: number,
  nowMs: number,
): number {
  refill(state, ratePerSecond, burst, nowMs);
  if (cost <= state.tokens) {
    state.tokens -= cost;
    return 0;
  }
  if (cost > burst || ratePerSecond <= 0) return Infinity;
  return ((cost - state.tokens) * 1000) / ratePerSecond;
}
