// Fixed window: at most `limit` units per window aligned to multiples of `windowMs` since the epoch.
// Cheap and exact per window, but a sender can get up to 2 × limit across a window boundary.

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { RateDecision } from '../rate-decision.js';

const WINDOW_START = 1;
const COUNT = 2;

export interface WindowParams {
  limit: number;
  windowMs: number;
}

export class FixedWindowAlgorithm implements RateAlgorithm {
  readonly name = 'fixed_window' as const;
  readonly stateSize = 2;
  readonly limit: number;
  readonly windowMs: number;

  constructor({ limit, windowMs }: WindowParams) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    s[base] = nowMs;
    s[base + WINDOW_START] = nowMs - (nowMs % this.windowMs);
    s[base + COUNT] = 0;
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    const w = this.windowMs;
    let start = s[base + WINDOW_START]!;
    let count = s[base + COUNT]!;
    if (nowMs >= start + w) {
      start = nowMs - (nowMs % w);
      count = 0;
    }
    const end = start + w;
    out.limit = this.limit;
    out.windowMs = w;
    if (count + cost <= this.limit) {
      count += cost;
      out.allowed = true;
      out.retryAfterMs = 0;
    } else {
      out.allowed = false;
      out.retryAfterMs = cost > this.limit ? Infinity : end - nowMs;
    }
    s[base + WINDOW_START] = start;
    s[base + COUNT] = count;
    s[base] = count > 0 ? end : nowMs;
    out.resetAtMs = count > 0 ? end : nowMs;
    out.remaining = wholeUnits(this.limit - count);
  }
}
