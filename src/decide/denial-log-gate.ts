// Decides which denials get a log line. A tenant over its limit can be denied thousands of times a second; a
// log line costs ~11 µs (more than deciding a small request) and floods the log pipeline with lines that say the
// same thing. Sampled (the default): the first denial of a tenant for a reason is logged, then at most one line
// per interval, carrying how many were left out since the previous one. Metrics count every denial.

import type { DenialLogMode } from '../settings/settings.js';

/** admit()'s answer when no line should be written. */
export const SUPPRESS = -1;

interface ReasonState {
  /** When the last line for this tenant and reason was written (ms). */
  loggedAt: number;
  /** Denials since then that got no line. */
  suppressed: number;
}

export class DenialLogGate {
  /** Per tenant (the bounded tracked name), per reason. Nested maps: no key string built per denial. */
  private readonly tenants = new Map<string, Map<string, ReasonState>>();

  constructor(
    readonly mode: DenialLogMode,
    /** Sampled mode: the least time between two lines for one tenant and reason. */
    readonly intervalMs: number,
  ) {}

  /**
   * Whether this denial gets a line: SUPPRESS when not, otherwise how many denials of this tenant for this
   * reason were left out since the previous line (0 for the first one, and always in `all` mode).
   */
  admit(tenant: string, reason: string, nowMs: number): number {
    if (this.mode === 'all') return 0;
    if (this.mode === 'none') return SUPPRESS;
    let reasons = this.tenants.get(tenant);
    if (reasons === undefined) {
      reasons = new Map();
      this.tenants.set(tenant, reasons);
    }
    const state = reasons.get(reason);
    if (state === undefined) {
      reasons.set(reason, { loggedAt: nowMs, suppressed: 0 });
      return 0;
    }
    if (nowMs - state.loggedAt < this.intervalMs) {
      state.suppressed++;
      return SUPPRESS;
    }
    const left = state.suppressed;
    state.loggedAt = nowMs;
    state.suppressed = 0;
    return left;
  }

  /**
   * Forgets tenants and reasons whose last line is older than the interval: their next denial is logged at
   * once. Denials left out since that line are handed to `leftOut` first, so a flood that stopped between two
   * lines still shows in the log with its count.
   */
  sweep(nowMs: number, leftOut: (tenant: string, reason: string, count: number) => void): void {
    for (const [tenant, reasons] of this.tenants) {
      for (const [reason, state] of reasons) {
        if (nowMs - state.loggedAt < this.intervalMs) continue;
        if (state.suppressed > 0) leftOut(tenant, reason, state.suppressed);
        reasons.delete(reason);
      }
      if (reasons.size === 0) this.tenants.delete(tenant);
    }
  }

  /** Tenants with state (for tests and the sweep's effect). */
  get size(): number {
    return this.tenants.size;
  }
}
