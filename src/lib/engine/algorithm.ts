// The one interface every rate-limiting algorithm implements: pure state transitions over a row of
// Float64 numbers, with time passed in. An algorithm never reads a clock, allocates per call, or throws
// on a denial.

import type { RateDecision } from './rate-decision.js';

export type AlgorithmName =
  | 'token_bucket'
  | 'gcra'
  | 'fixed_window'
  | 'sliding_window_counter'
  | 'sliding_window_log'
  | 'leaky_bucket'
  | 'concurrency'
  | 'calendar_quota';

export interface RateAlgorithm {
  readonly name: AlgorithmName;
  /** Numbers of state per key, not counting the expiry column the store keeps in front of them. */
  readonly stateSize: number;
  /** The quota reported as `limit`. */
  readonly limit: number;
  /** The window reported as `windowMs`. */
  readonly windowMs: number;
  /**
   * Sets up a key seen for the first time, as if it had never been used. `s[base]` is the expiry column,
   * `s[base + 1 ..]` the algorithm's own state.
   */
  init(s: Float64Array, base: number, nowMs: number): void;
  /**
   * Decides a request costing `cost` units at `nowMs` and records it when allowed (a denial consumes
   * nothing; cost 0 only looks). Fills `out` (all fields but `policy`) and sets `s[base]` to the time the
   * state becomes equivalent to a fresh key's, so sweeping it changes no future decision.
   */
  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void;
  /**
   * Like apply() but records nothing (dropping entries that left the window is allowed). Only needed by
   * algorithms with state outside the row; the others are peeked on a scratch copy of their row.
   */
  peek?(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void;
  /** Gives back `cost` units taken earlier (only concurrency limits hold units until released). */
  release?(s: Float64Array, base: number, cost: number, nowMs: number): void;
  /** Called before the store forgets a key, for algorithms that keep state outside the store. */
  forget?(s: Float64Array, base: number): void;
}

/** `remaining` as reported: whole units, never negative. */
export function wholeUnits(x: number): number {
  return x > 0 ? Math.floor(x + 1e-9) : 0;
}
