// Token bucket with Mimir's semantics (those of ../token-bucket.ts, the service's bucket): `rate` tokens
// per second up to `burst`, a new key starts full, a denied take consumes nothing, a cost above the burst
// never passes. Same arithmetic as takeTokens(), over a store row instead of an object.

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { RateDecision } from '../rate-decision.js';

const TOKENS = 1;
const UPDATED_AT = 2;

export interface TokenBucketParams {
  /** Tokens added per second. */
  rate: number;
  /** Bucket size: the most a key can spend at once. */
  burst: number;
}

export class TokenBucketAlgorithm implements RateAlgorithm {
  readonly name = 'token_bucket' as const;
  readonly stateSize = 2;
  readonly limit: number;
  readonly windowMs: number;
  private readonly rate: number;
  private readonly burst: number;

  constructor({ rate, burst }: TokenBucketParams) {
    this.rate = rate;
    this.burst = burst;
    this.limit = burst;
    this.windowMs = rate > 0 ? (burst * 1000) / rate : Infinity;
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    s[base] = nowMs;
    s[base + TOKENS] = this.burst;
    s[base + UPDATED_AT] = nowMs;
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    const { rate, burst } = this;
    let tokens = s[base + TOKENS]!;
    const elapsedMs = nowMs - s[base + UPDATED_AT]!;
    if (elapsedMs > 0) {
      tokens += (elapsedMs * rate) / 1000;
      if (tokens > burst) tokens = burst;
      s[base + UPDATED_AT] = nowMs;
    } else if (tokens > burst) {
      tokens = burst;
    }
    const updatedAt = s[base + UPDATED_AT]!;
    out.limit = burst;
    out.windowMs = this.windowMs;
    if (cost <= tokens) {
      tokens -= cost;
      out.allowed = true;
      out.retryAfterMs = 0;
    } else {
      out.allowed = false;
      // The deficit is padded by a trillionth of the burst so that waiting the (rounded-up) hint always
      // covers the rounding of the refill arithmetic.
      out.retryAfterMs =
        cost > burst || rate <= 0 ? Infinity : ((cost - tokens + burst * 1e-12) * 1000) / rate;
    }
    s[base + TOKENS] = tokens;
    const fullAt =
      rate > 0 ? updatedAt + ((burst - tokens) * 1000) / rate : tokens >= burst ? updatedAt : Infinity;
    s[base] = fullAt;
    out.resetAtMs = fullAt;
    out.remaining = wholeUnits(tokens);
  }
}
