// Sliding window counter (Cloudflare's): the current aligned window's count plus the previous window's
// count weighted by how much of it still overlaps the sliding window. Two counters per key; approximate
// (its error against the exact log is measured in test/unit/lib/engine/engine-accuracy.test.ts), never above
// `limit` within one aligned window.

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { RateDecision } from '../rate-decision.js';
import type { WindowParams } from './fixed-window.js';

const CURRENT_START = 1;
const CURRENT = 2;
const PREVIOUS = 3;

export class SlidingWindowCounterAlgorithm implements RateAlgorithm {
  readonly name = 'sliding_window_counter' as const;
  readonly stateSize = 3;
  readonly limit: number;
  readonly windowMs: number;

  constructor({ limit, windowMs }: WindowParams) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    s[base] = nowMs;
    s[base + CURRENT_START] = nowMs - (nowMs % this.windowMs);
    s[base + CURRENT] = 0;
    s[base + PREVIOUS] = 0;
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    const w = this.windowMs;
    const limit = this.limit;
    let start = s[base + CURRENT_START]!;
    let current = s[base + CURRENT]!;
    let previous = s[base + PREVIOUS]!;
    if (nowMs >= start + 2 * w) {
      start = nowMs - (nowMs % w);
      previous = 0;
      current = 0;
    } else if (nowMs >= start + w) {
      start += w;
      previous = current;
      current = 0;
    }
    const elapsed = nowMs > start ? nowMs - start : 0;
    const estimate = (previous * (w - elapsed)) / w + current;
    out.limit = limit;
    out.windowMs = w;
    if (estimate + cost <= limit) {
      current += cost;
      out.allowed = true;
      out.retryAfterMs = 0;
      out.remaining = wholeUnits(limit - estimate - cost);
    } else {
      out.allowed = false;
      out.remaining = wholeUnits(limit - estimate);
      out.retryAfterMs = cost > limit ? Infinity : this.waitMs(start, current, previous, cost, nowMs);
    }
    s[base + CURRENT_START] = start;
    s[base + CURRENT] = current;
    s[base + PREVIOUS] = previous;
    const quietAt = current > 0 ? start + 2 * w : previous > 0 ? start + w : nowMs;
    s[base] = quietAt;
    out.resetAtMs = quietAt;
  }

  /** Time until previous × overlap + current + cost first fits under the limit. */
  private waitMs(start: number, current: number, previous: number, cost: number, nowMs: number): number {
    const w = this.windowMs;
    const room = this.limit - cost;
    let at: number;
    if (current <= room) {
      // The previous window's weight must fall to room - current within this window.
      at = start + w * (1 - (room - current) / previous);
    } else {
      // After the next rollover `current` becomes the weighted previous window.
      at = start + w + w * (1 - room / current);
    }
    // One millisecond of margin covers the rounding of the weighting.
    return Math.max(0, Math.ceil(at - nowMs) + 1);
  }
}
