// Calendar quota: at most `limit` units per local hour, day or month in `timeZone`, reset on the
// boundary (midnight, the 1st) rather than on a rolling window. The current period is computed once and
// shared by every key; the per-key state is the period it counted in and its usage.

import type { RateAlgorithm } from '../algorithm.js';
import { wholeUnits } from '../algorithm.js';
import type { CalendarUnit } from '../calendar-period.js';
import { assertTimeZone, calendarPeriod } from '../calendar-period.js';
import type { RateDecision } from '../rate-decision.js';

const PERIOD_START = 1;
const USED = 2;

export interface CalendarQuotaParams {
  limit: number;
  period: CalendarUnit;
  /** IANA zone whose calendar defines the boundaries (default UTC). */
  timeZone?: string;
}

const NOMINAL_MS: Record<CalendarUnit, number> = {
  hour: 3_600_000,
  day: 86_400_000,
  month: 30 * 86_400_000,
};

export class CalendarQuotaAlgorithm implements RateAlgorithm {
  readonly name = 'calendar_quota' as const;
  readonly stateSize = 2;
  readonly limit: number;
  readonly windowMs: number;
  private readonly period: CalendarUnit;
  private readonly timeZone: string;
  private startMs = Infinity;
  private endMs = -Infinity;

  constructor({ limit, period, timeZone = 'UTC' }: CalendarQuotaParams) {
    assertTimeZone(timeZone);
    this.limit = limit;
    this.period = period;
    this.timeZone = timeZone;
    this.windowMs = NOMINAL_MS[period];
  }

  init(s: Float64Array, base: number, nowMs: number): void {
    this.locate(nowMs);
    s[base] = nowMs;
    s[base + PERIOD_START] = this.startMs;
    s[base + USED] = 0;
  }

  apply(s: Float64Array, base: number, cost: number, nowMs: number, out: RateDecision): void {
    this.locate(nowMs);
    let used = s[base + PERIOD_START] === this.startMs ? s[base + USED]! : 0;
    out.limit = this.limit;
    out.windowMs = this.endMs - this.startMs;
    if (used + cost <= this.limit) {
      used += cost;
      out.allowed = true;
      out.retryAfterMs = 0;
    } else {
      out.allowed = false;
      out.retryAfterMs = cost > this.limit ? Infinity : this.endMs - nowMs;
    }
    s[base + PERIOD_START] = this.startMs;
    s[base + USED] = used;
    s[base] = used > 0 ? this.endMs : nowMs;
    out.resetAtMs = used > 0 ? this.endMs : nowMs;
    out.remaining = wholeUnits(this.limit - used);
  }

  private locate(nowMs: number): void {
    if (nowMs >= this.startMs && nowMs < this.endMs) return;
    const p = calendarPeriod(nowMs, this.period, this.timeZone);
    this.startMs = p.startMs;
    this.endMs = p.endMs;
  }
}
