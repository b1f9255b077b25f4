// The answer of every algorithm and of the policy engine: a plain value, never an exception.
// Separate from decision.ts (the Mimir path's Decision), which this must never change.

/** One limiter's verdict on one key at one instant. */
export interface RateDecision {
  allowed: boolean;
  /** The quota in the policy's units (requests, samples, bytes...): burst for buckets, limit for windows. */
  limit: number;
  /** Units that could still be taken now (floored; 0 when denied or exhausted). */
  remaining: number;
  /** When (ms since the epoch, the clock you pass in) the key is back to its full quota. */
  resetAtMs: number;
  /** Milliseconds until this same request would be allowed: 0 when allowed, Infinity when never. */
  retryAfterMs: number;
  /** The window the quota is counted over, in ms (for buckets: the time to refill from empty). */
  windowMs: number;
  /** The policy that decided ('' for a bare limiter without a name). */
  policy: string;
}

/** A new, allowed, empty decision to be filled in (reuse one per call site to allocate nothing). */
export function emptyRateDecision(): RateDecision {
  return { allowed: true, limit: 0, remaining: 0, resetAtMs: 0, retryAfterMs: 0, windowMs: 0, policy: '' };
}
