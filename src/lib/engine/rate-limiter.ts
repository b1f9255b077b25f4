// A limiter: one algorithm over one compact in-process store. check() is synchronous and allocates
// nothing when given an `out` object; time is always passed in. It never starts a timer: call sweep()
// (all at once or in slices) to forget keys whose state is back to fresh.

import type { RateAlgorithm } from './algorithm.js';
import type { AlgorithmSpec } from './algorithm-spec.js';
import { createAlgorithm } from './algorithm-spec.js';
import { CompactStore } from './compact-store.js';
import type { RateDecision } from './rate-decision.js';
import { emptyRateDecision } from './rate-decision.js';

export interface RateLimiterOptions {
  /** Reported as `policy` in every decision. */
  name?: string;
  /** Keys to make room for up front (the store grows by doubling anyway). */
  initialKeys?: number;
}

export class RateLimiter {
  readonly algorithm: RateAlgorithm;
  readonly name: string;
  private readonly store: CompactStore;
  private readonly forget: ((s: Float64Array, base: number) => void) | undefined;
  /** One key's worth of state, for peeking without touching the store. */
  private readonly scratch: Float64Array;

  constructor(algorithm: AlgorithmSpec | RateAlgorithm, options: RateLimiterOptions = {}) {
    this.algorithm = 'apply' in algorithm ? algorithm : createAlgorithm(algorithm);
    this.name = options.name ?? '';
    this.store = new CompactStore(this.algorithm.stateSize, options.initialKeys);
    this.scratch = new Float64Array(1 + this.algorithm.stateSize);
    const a = this.algorithm;
    this.forget = a.forget === undefined ? undefined : (s, base) => a.forget!(s, base);
  }

  /**
   * Decides whether `key` may spend `cost` units at `nowMs` (ms, any monotonic-enough clock you choose)
   * and records it when allowed. Pass `out` to reuse one decision object and allocate nothing.
   */
  check(key: string, nowMs: number, cost = 1, out: RateDecision = emptyRateDecision()): RateDecision {
    if (!(cost >= 0 && cost < Infinity))
      throw new RangeError(`cost must be a finite number ≥ 0, got ${cost}`);
    const store = this.store;
    const pos = store.findOrCreate(key);
    const rows = store.rows;
    if (store.created) this.algorithm.init(rows, pos, nowMs);
    this.algorithm.apply(rows, pos, cost, nowMs, out);
    out.policy = this.name;
    return out;
  }

  /** The decision a request of `cost` would get now, recording nothing. */
  peek(key: string, nowMs: number, cost = 1, out: RateDecision = emptyRateDecision()): RateDecision {
    if (!(cost >= 0 && cost < Infinity))
      throw new RangeError(`cost must be a finite number ≥ 0, got ${cost}`);
    const a = this.algorithm;
    const store = this.store;
    const pos = store.find(key);
    const scratch = this.scratch;
    if (pos >= 0 && a.peek !== undefined) {
      a.peek(store.rows, pos, cost, nowMs, out);
    } else {
      if (pos >= 0) scratch.set(store.rows.subarray(pos, pos + scratch.length));
      else a.init(scratch, 0, nowMs);
      if (a.peek !== undefined) a.peek(scratch, 0, cost, nowMs, out);
      else a.apply(scratch, 0, cost, nowMs, out);
    }
    out.policy = this.name;
    return out;
  }

  /** Gives back `cost` units (concurrency limits: call when the request completes). */
  release(key: string, nowMs: number, cost = 1): void {
    if (this.algorithm.release === undefined) return;
    const pos = this.store.find(key);
    if (pos >= 0) this.algorithm.release(this.store.rows, pos, cost, nowMs);
  }

  /** Forgets `key` entirely (its next check starts fresh). */
  reset(key: string): void {
    const pos = this.store.find(key);
    if (pos < 0) return;
    this.forget?.(this.store.rows, pos);
    this.store.delete(pos);
  }

  /**
   * Forgets keys whose state is back to fresh at `nowMs`; visits at most `maxSlots` slots, continuing
   * where the last call stopped. Never changes a future decision. Returns how many keys were forgotten.
   */
  sweep(nowMs: number, maxSlots = Infinity): number {
    return this.store.sweep(nowMs, maxSlots, this.forget);
  }

  /** Keys currently held. */
  get size(): number {
    return this.store.size;
  }

  /** Bytes of the store's table (a sliding log's entries are kept beside it and not counted). */
  get bytes(): number {
    return this.store.bytes;
  }
}
