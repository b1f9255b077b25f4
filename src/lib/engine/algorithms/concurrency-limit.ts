// Concurrency limit: at most `limit` units in flight per key; a unit is taken when a request starts and
// given back by release() when it completes. A key whose releases were lost (a crashed handler) is
// freed after `leaseMs` without activity, so a leak cannot lock a key out forever.

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { RateDecision } from '../rate-decision.js';

const IN_FLIGHT = 1;

export interface ConcurrencyParams {
  limit: number;
  /** Forget a key's in-flight count after this long without a take or a release (default 10 minutes). */
  leaseMs?: number;
  /** Retry hint for a denied request, since completion times are unknown (default 1000 ms). */
  retryAfterMs?: number;
}

export class ConcurrencyLimitAlgorithm implements RateAlgorithm {
  readonly name = 'concurrency' as const;
  readonly stateSize = 1;
  readonly limit: number;
  readonly windowMs = 0;
  private readonly leaseMs: number;
  private readonly retryHintMs: number;

  constructor({ limit, leaseMs = 600_000, retryAfterMs = 1000 }: ConcurrencyParams) {
    this.limit = limit;
    this.leaseMs = leaseMs;
    this.retryHintMs = retryAfterMs;
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    s[base] = nowMs;
    s[base + IN_FLIGHT] = 0;
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    let inFlight = s[base + IN_FLIGHT]!;
    out.limit = this.limit;
    out.windowMs = 0;
    if (inFlight + cost <= this.limit) {
      inFlight += cost;
      out.allowed = true;
      out.retryAfterMs = 0;
    } else {
      out.allowed = false;
      out.retryAfterMs = cost > this.limit ? Infinity : this.retryHintMs;
    }
    s[base + IN_FLIGHT] = inFlight;
    s[base] = inFlight > 0 ? nowMs + this.leaseMs : nowMs;
    out.resetAtMs = s[base]!;
    out.remaining = wholeUnits(this.limit - inFlight);
  }

  release(s: Float64Array, base: number, cost: number, nowMs: number): void {
    const inFlight = Math.max(0, s[base + IN_FLIGHT]! - cost);
    s[base + IN_FLIGHT] = inFlight;
    s[base] = inFlight > 0 ? nowMs + this.leaseMs : nowMs;
  }
}
