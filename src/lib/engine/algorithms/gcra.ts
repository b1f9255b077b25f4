// GCRA (generic cell rate algorithm): one number per key, the theoretical arrival time. `limit` units
// per `periodMs` with up to `burst` at once; equivalent to a token bucket of that rate and burst but
// with a single column of state. Never allocates.

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { RateDecision } from '../rate-decision.js';

const TAT = 1;

export interface GcraParams {
  limit: number;
  periodMs: number;
  /** Units allowed at once (defaults to `limit`). */
  burst?: number;
}

export class GcraAlgorithm implements RateAlgorithm {
  readonly name = 'gcra' as const;
  readonly stateSize = 1;
  readonly limit: number;
  readonly windowMs: number;
  /** Milliseconds one unit occupies (the emission interval). */
  private readonly intervalMs: number;
  /** How far ahead of now the arrival time may run (the delay variation tolerance). */
  private readonly toleranceMs: number;

  constructor({ limit, periodMs, burst }: GcraParams) {
    const b = burst ?? limit;
    this.limit = b;
    this.windowMs = periodMs;
    this.intervalMs = periodMs / limit;
    this.toleranceMs = this.intervalMs * b;
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    s[base] = nowMs;
    s[base + TAT] = nowMs;
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    const tat = s[base + TAT]!;
    const from = tat > nowMs ? tat : nowMs;
    const next = from + cost * this.intervalMs;
    out.limit = this.limit;
    out.windowMs = this.windowMs;
    // Arrival times are epoch-sized numbers (ulp ≈ 2.4e-4 ms today): a slack of about one ulp keeps the
    // rounding of tat + cost × interval from refusing a request that fits exactly (a full burst on a new key).
    const slack = Math.abs(nowMs) * 2.5e-16 + this.toleranceMs * 1e-12;
    if (next - nowMs <= this.toleranceMs + slack) {
      s[base + TAT] = next;
      out.allowed = true;
      out.retryAfterMs = 0;
    } else {
      out.allowed = false;
      out.retryAfterMs = cost > this.limit ? Infinity : next - this.toleranceMs - nowMs;
    }
    const settled = s[base + TAT]!;
    const ahead = settled > nowMs ? settled - nowMs : 0;
    s[base] = settled > nowMs ? settled : nowMs;
    out.resetAtMs = s[base]!;
    out.remaining = wholeUnits((this.toleranceMs - ahead) / this.intervalMs);
  }
}
