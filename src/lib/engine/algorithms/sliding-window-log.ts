// Sliding window log: the exact answer. Keeps every allowed request's time and cost for one window, so
// at most `limit` units are allowed in any window of `windowMs`. Memory per active key grows with the
// limit (16 bytes per logged request), unlike every other algorithm here; costs must be whole numbers.

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { RateDecision } from '../rate-decision.js';
import type { WindowParams } from './fixed-window.js';

const LOG_ID = 1;
const HEAD = 2;
const COUNT = 3;
const SUM = 4;

/** Entries a log starts with; it doubles up to `limit` entries as needed. */
const INITIAL_ENTRIES = 4;

export class SlidingWindowLogAlgorithm implements RateAlgorithm {
  readonly name = 'sliding_window_log' as const;
  readonly stateSize = 4;
  readonly limit: number;
  readonly windowMs: number;
  /** Rings of (time, cost) pairs, by the id kept in each key's state (-1: no log yet). */
  private readonly logs: (Float64Array | undefined)[] = [];
  private readonly freeIds: number[] = [];

  constructor({ limit, windowMs }: WindowParams) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    s[base] = nowMs;
    s[base + LOG_ID] = -1;
    s[base + HEAD] = 0;
    s[base + COUNT] = 0;
    s[base + SUM] = 0;
  }

  forget(s: Float64Array, base: number): void {
    const id = s[base + LOG_ID]!;
    if (id >= 0) this.freeLog(s, base, id);
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    this.decide(s, base, cost, nowMs, out, true);
  }

  peek(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    this.decide(s, base, cost, nowMs, out, false);
  }

  private decide(
    s: Float64Array,
    base: number,
    cost: number,
    nowMs: number,
    out: RateDecision,
    record: boolean,
  ): void {
    if (!Number.isInteger(cost) || cost < 0) {
      throw new RangeError(`sliding_window_log needs a whole-number cost, got ${cost}`);
    }
    const w = this.windowMs;
    const id = s[base + LOG_ID]!;
    let log = id >= 0 ? this.logs[id] : undefined;
    let head = s[base + HEAD]!;
    let count = s[base + COUNT]!;
    let sum = s[base + SUM]!;
    // Drop entries that left the window (those at or before now - w).
    if (log !== undefined) {
      const cap = log.length >> 1;
      while (count > 0 && log[head * 2]! <= nowMs - w) {
        sum -= log[head * 2 + 1]!;
        head = (head + 1) % cap;
        count--;
      }
    }
    out.limit = this.limit;
    out.windowMs = w;
    let remaining = this.limit - sum;
    if (sum + cost <= this.limit) {
      out.allowed = true;
      out.retryAfterMs = 0;
      remaining -= cost;
      if (record && cost > 0) {
        if (log === undefined || count === log.length >> 1) {
          log = this.grow(s, base, log, head, count);
          head = 0;
        }
        const cap = log.length >> 1;
        const tail = (head + count) % cap;
        log[tail * 2] = nowMs;
        log[tail * 2 + 1] = cost;
        count++;
        sum += cost;
      }
    } else {
      out.allowed = false;
      out.retryAfterMs = cost > this.limit ? Infinity : this.waitMs(log!, head, sum, cost, nowMs);
    }
    s[base + HEAD] = head;
    s[base + COUNT] = count;
    s[base + SUM] = sum;
    let quietAt = nowMs;
    if (!record && out.allowed && cost > 0) {
      quietAt = nowMs + w; // what check() would report once this request is logged
    } else if (count > 0) {
      const cap = log!.length >> 1;
      quietAt = log![((head + count - 1) % cap) * 2]! + w;
    } else if (s[base + LOG_ID]! >= 0) {
      this.freeLog(s, base, s[base + LOG_ID]!); // an empty log costs nothing to rebuild
    }
    s[base] = quietAt;
    out.resetAtMs = quietAt;
    out.remaining = wholeUnits(remaining);
  }

  /** Time until enough of the oldest entries have left the window for `cost` to fit. */
  private waitMs(log: Float64Array, head: number, sum: number, cost: number, nowMs: number): number {
    const cap = log.length >> 1;
    let left = sum;
    for (let i = head; ; i = (i + 1) % cap) {
      left -= log[i * 2 + 1]!;
      if (left + cost <= this.limit) return log[i * 2]! + this.windowMs - nowMs;
    }
  }

  private freeLog(s: Float64Array, base: number, id: number): void {
    this.logs[id] = undefined;
    this.freeIds.push(id);
    s[base + LOG_ID] = -1;
    s[base + HEAD] = 0;
  }

  private grow(
    s: Float64Array,
    base: number,
    log: Float64Array | undefined,
    head: number,
    count: number,
  ): Float64Array {
    const oldCap = log === undefined ? 0 : log.length >> 1;
    const cap = Math.min(
      Math.max(INITIAL_ENTRIES, oldCap * 2),
      Math.max(INITIAL_ENTRIES, Math.ceil(this.limit)),
    );
    const next = new Float64Array(cap * 2);
    for (let k = 0; k < count; k++) {
      const i = (head + k) % oldCap;
      next[k * 2] = log![i * 2]!;
      next[k * 2 + 1] = log![i * 2 + 1]!;
    }
    let id = s[base + LOG_ID]!;
    if (id < 0) {
      id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.logs.length;
      s[base + LOG_ID] = id;
    }
    this.logs[id] = next;
    return next;
  }
}
