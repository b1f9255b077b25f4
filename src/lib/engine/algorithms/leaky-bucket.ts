// Leaky bucket as a meter: each request pours its cost into a bucket of `capacity` (the queue depth)
// that drains at `drainPerSecond`; a request that would overflow is refused and pours nothing. A new key
// starts empty. As a meter it enforces the same bound as a token bucket (capacity + drain × time).

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { RateDecision } from '../rate-decision.js';

const LEVEL = 1;
const UPDATED_AT = 2;

export interface LeakyBucketParams {
  /** Units drained per second: the steady rate. */
  drainPerSecond: number;
  /** Units the bucket holds: the queue depth a key may build up. */
  capacity: number;
}

export class LeakyBucketAlgorithm implements RateAlgorithm {
  readonly name = 'leaky_bucket' as const;
  readonly stateSize = 2;
  readonly limit: number;
  readonly windowMs: number;
  private readonly drain: number;

  constructor({ drainPerSecond, capacity }: LeakyBucketParams) {
    this.drain = drainPerSecond;
    this.limit = capacity;
    this.windowMs = drainPerSecond > 0 ? (capacity * 1000) / drainPerSecond : Infinity;
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    s[base] = nowMs;
    s[base + LEVEL] = 0;
    s[base + UPDATED_AT] = nowMs;
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    const capacity = this.limit;
    let level = s[base + LEVEL]!;
    const elapsedMs = nowMs - s[base + UPDATED_AT]!;
    if (elapsedMs > 0) {
      level -= (elapsedMs * this.drain) / 1000;
      if (level < 0) level = 0;
      s[base + UPDATED_AT] = nowMs;
    }
    out.limit = capacity;
    out.windowMs = this.windowMs;
    if (level + cost <= capacity) {
      level += cost;
      out.allowed = true;
      out.retryAfterMs = 0;
    } else {
      out.allowed = false;
      out.retryAfterMs =
        cost > capacity || this.drain <= 0
          ? Infinity
          : // Padded by a trillionth of the capacity so the hint covers the drain arithmetic's rounding.
            ((level + cost - capacity + capacity * 1e-12) * 1000) / this.drain;
    }
    s[base + LEVEL] = level;
    const emptyAt =
      level <= 0 ? nowMs : this.drain > 0 ? s[base + UPDATED_AT]! + (level * 1000) / this.drain : Infinity;
    s[base] = emptyAt;
    out.resetAtMs = emptyAt;
    out.remaining = wholeUnits(capacity - level);
  }
}
