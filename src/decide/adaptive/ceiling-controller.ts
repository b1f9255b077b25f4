// The adaptive ceiling on writes in flight to the upstream: additive increase, multiplicative decrease
// against an operator's latency target (docs/protection.md#method). Pure: time is passed in, nothing here
// reads a clock, starts a timer or allocates per answer.
//
// Once per window (ADAPTIVE_WINDOW) the write route's answers are judged:
// - more than ADAPTIVE_ERROR_RATIO of them 5xx, 429 or unanswered: ceiling × ADAPTIVE_BACKOFF ("errors");
// - writes in flight but not one answer in the whole window: ceiling × ADAPTIVE_BACKOFF ("stalled");
// - p99 over ADAPTIVE_LATENCY_TARGET: ceiling × clamp(target / p99, 0.5, ADAPTIVE_BACKOFF) ("latency"), so a
//   p99 twice the target halves the ceiling at once while a small overshoot costs the usual backoff;
// - otherwise ceiling + ADAPTIVE_INCREASE ("healthy", or "idle" when nothing was in flight or answered).
// Always within [ADAPTIVE_MIN_CEILING, ADAPTIVE_MAX_CEILING]. At most one decrease per round trip (as TCP cuts
// its window once per RTT): after a cut, windows that close before the writes in flight then could have been
// answered (the cut window's p99 later) hold instead of cutting again for the same overload.

import { LatencyWindow } from './latency-window.js';

export interface CeilingParams {
  /** The ceiling never goes below this (writes the upstream can always take). At least 1. */
  minCeiling: number;
  /** Nor above this; also where it starts. */
  maxCeiling: number;
  /** The write route's p99 the ceiling holds the upstream to, in ms. */
  latencyTargetMs: number;
  /** A share of answers (0..1) that are 5xx, 429 or none above which the upstream counts as failing. */
  errorRatio: number;
  /** Multiplicative decrease, in [0.5, 1). */
  backoff: number;
  /** Additive increase per healthy window. */
  increase: number;
  /** How long one window lasts, in ms. */
  windowMs: number;
}

/** Why the ceiling last moved (or was held), as shown in /metrics and the admin API. */
export type CeilingReason = 'start' | 'latency' | 'errors' | 'stalled' | 'healthy' | 'idle';
export const CEILING_REASONS: readonly CeilingReason[] = [
  'start',
  'latency',
  'errors',
  'stalled',
  'healthy',
  'idle',
];

/** One window's verdict on the write route. */
export interface WindowSummary {
  answers: number;
  errors: number;
  p99Ms: number;
  /** Writes in flight when the window closed. */
  inflight: number;
}

export interface CeilingStep {
  ceiling: number;
  reason: CeilingReason;
  direction: 'down' | 'up' | 'hold';
}

/** The lowest a latency overshoot may cut in one window (Gradient2's floor on its gradient). */
const DEEPEST_CUT = 0.5;

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** The next ceiling after one window: the whole algorithm, a pure function. */
export function nextCeiling(ceiling: number, w: WindowSummary, p: CeilingParams): CeilingStep {
  let factor = 1;
  let reason: CeilingReason;
  if (w.answers > 0 && w.errors > 0 && w.errors / w.answers > p.errorRatio) {
    factor = p.backoff;
    reason = 'errors';
  } else if (w.answers === 0 && w.inflight > 0) {
    factor = p.backoff;
    reason = 'stalled';
  } else if (w.answers > 0 && w.p99Ms > p.latencyTargetMs) {
    factor = clamp(p.latencyTargetMs / w.p99Ms, DEEPEST_CUT, p.backoff);
    reason = 'latency';
  } else {
    reason = w.answers === 0 ? 'idle' : 'healthy';
  }
  const next =
    factor < 1
      ? clamp(ceiling * factor, p.minCeiling, p.maxCeiling)
      : clamp(ceiling + p.increase, p.minCeiling, p.maxCeiling);
  return { ceiling: next, reason, direction: next < ceiling ? 'down' : next > ceiling ? 'up' : 'hold' };
}

/** The first error in `p`, or undefined when the parameters make sense together. */
export function ceilingParamsProblem(p: CeilingParams): string | undefined {
  if (!(p.minCeiling >= 1)) return `the min ceiling must be at least 1, got ${p.minCeiling}`;
  if (!(p.maxCeiling >= p.minCeiling))
    return `the max ceiling (${p.maxCeiling}) must be at least the min ceiling (${p.minCeiling})`;
  if (!(p.latencyTargetMs > 0)) return `the latency target must be above 0, got ${p.latencyTargetMs}`;
  if (!(p.errorRatio >= 0 && p.errorRatio < 1))
    return `the error ratio must be in [0, 1), got ${p.errorRatio}`;
  if (!(p.backoff >= DEEPEST_CUT && p.backoff < 1))
    return `the backoff must be in [0.5, 1), got ${p.backoff}`;
  if (!(p.increase > 0)) return `the increase must be above 0, got ${p.increase}`;
  if (!(p.windowMs > 0)) return `the window must be above 0, got ${p.windowMs}`;
  return undefined;
}

/** The route an answer came on: writes drive the ceiling, the others are watched and shown only. */
export type UpstreamRoute = 'write' | 'other';

/**
 * The ceiling with its windows: answers go in as they come (`record`), and `tick(nowMs, inflight)`, called
 * from a timer, closes a window once it has lasted `windowMs` and moves the ceiling.
 */
export class CeilingController {
  private value: number;
  private windowStartMs: number;
  readonly windows: Readonly<Record<UpstreamRoute, LatencyWindow>> = {
    write: new LatencyWindow(),
    other: new LatencyWindow(),
  };
  /** What the last closed window saw, per route (for /metrics and the admin API). */
  readonly last: Record<UpstreamRoute, { answers: number; errorRatio: number; p99Ms: number }> = {
    write: { answers: 0, errorRatio: 0, p99Ms: 0 },
    other: { answers: 0, errorRatio: 0, p99Ms: 0 },
  };
  lastReason: CeilingReason = 'start';
  lastChangeMs: number;
  /** No further decrease before this: the writes in flight at the last cut are still being answered. */
  private holdUntilMs = -Infinity;

  constructor(
    readonly params: CeilingParams,
    nowMs: number,
  ) {
    const problem = ceilingParamsProblem(params);
    if (problem) throw new RangeError(problem);
    this.value = params.maxCeiling;
    this.windowStartMs = nowMs;
    this.lastChangeMs = nowMs;
  }

  /** The ceiling now (a whole number of writes, within the bounds). */
  get ceiling(): number {
    return Math.max(this.params.minCeiling, Math.floor(this.value));
  }

  /** The ceiling's share of its maximum, (0, 1]: what scales the samples/s ceiling. */
  get ratio(): number {
    return this.value / this.params.maxCeiling;
  }

  record(route: UpstreamRoute, ms: number, status: number): void {
    this.windows[route].record(ms, status);
  }

  /** Closes the window if it is over; returns the step taken, or undefined while the window is still open. */
  tick(nowMs: number, inflight: number): CeilingStep | undefined {
    if (nowMs - this.windowStartMs < this.params.windowMs) return undefined;
    this.windowStartMs = nowMs;
    for (const route of ['write', 'other'] as const) {
      const w = this.windows[route];
      const last = this.last[route];
      last.answers = w.answers;
      last.errorRatio = w.errorRatio();
      last.p99Ms = w.quantileMs(0.99);
    }
    const write = this.windows.write;
    let step = nextCeiling(
      this.value,
      { answers: write.answers, errors: write.errors, p99Ms: this.last.write.p99Ms, inflight },
      this.params,
    );
    if (step.direction === 'down') {
      if (nowMs < this.holdUntilMs) step = { ceiling: this.value, reason: step.reason, direction: 'hold' };
      else this.holdUntilMs = nowMs + this.last.write.p99Ms;
    }
    this.windows.write.reset();
    this.windows.other.reset();
    if (step.direction !== 'hold' || step.reason !== this.lastReason) {
      this.lastReason = step.reason;
      this.lastChangeMs = nowMs;
    }
    this.value = step.ceiling;
    return step;
  }

  /** Back to the maximum, with fresh windows (a mode change: what was learned in another mode is stale). */
  reset(nowMs: number): void {
    this.value = this.params.maxCeiling;
    this.windows.write.reset();
    this.windows.other.reset();
    this.windowStartMs = nowMs;
    this.lastReason = 'start';
    this.lastChangeMs = nowMs;
    this.holdUntilMs = -Infinity;
  }
}
