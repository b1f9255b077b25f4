// Burst detection: each tenant's recent rate of offered items compared with its own baseline. Both are
// exponentially weighted moving averages of the same per-interval rates, one with a short time constant
// (BURST_WINDOW, 5m) and one with a long one (BURST_BASELINE, 24h), each corrected for its short history the
// way Adam corrects its moments, so a steady tenant has recent == baseline from its first interval on.
//
// Why an EWMA over the last day and not "the same hour last week": the history lives in memory and starts
// empty at each restart, and the per-tenant rings keep 4-hour buckets beyond a day, so a same-hour baseline
// would need a week of uptime and a finer ring per tenant. The EWMA needs one number per tenant and is
// useful after BURST_WARMUP. It follows a lasting change: a tenant that stays at a new rate becomes its new
// normal after a fraction of BURST_BASELINE (docs/cost-and-bursts.md gives the figures).
//
// The detector reads cumulative counters (TrafficStats) on a timer; it never runs on the write path, and
// its time is passed in, so tests hold the clock.

export interface BurstOptions {
  /** Flag when recent > factor × baseline (> 1). */
  factor: number;
  /** Least recent rate (items/s) that can be flagged. */
  minRate: number;
  /** Time constant of the recent rate, ms. */
  windowMs: number;
  /** Time constant of the baseline, ms. */
  baselineMs: number;
  /** History a tenant needs before it can be flagged, ms. */
  warmupMs: number;
}

/** What the admin API, the UI and the metrics show of one tenant. */
export interface BurstView {
  tenant: string;
  flagged: boolean;
  /** False until the tenant has BURST_WARMUP of history; such a tenant is never flagged. */
  warm: boolean;
  /** Recent items/s (EWMA over BURST_WINDOW). */
  rate: number;
  /** Baseline items/s (EWMA over BURST_BASELINE). */
  baseline: number;
  /** rate / baseline; 0 without traffic, Infinity for traffic after a silent baseline. */
  ratio: number;
  /** When the current flag was raised (ms), or undefined. */
  sinceMs: number | undefined;
  /** Highest recent rate during the current flag. */
  peakRate: number;
  historyMs: number;
}

/** A burst that has ended, kept for the API (the last RECENT_BURSTS). */
export interface PastBurst {
  tenant: string;
  startMs: number;
  endMs: number;
  peakRate: number;
  /** Baseline when the flag was raised. */
  baseline: number;
}

export const RECENT_BURSTS = 100;

/** One tenant's averages. `*Raw` start at 0; `*Weight` is how much of them is real history (1 - e^(-T/τ)). */
interface TenantState {
  lastTotal: number;
  lastMs: number;
  fastRaw: number;
  fastWeight: number;
  slowRaw: number;
  slowWeight: number;
  historyMs: number;
  flagged: boolean;
  sinceMs: number;
  peakRate: number;
  baselineAtFlag: number;
  /** Update pass that last listed this tenant; older ones are forgotten. */
  pass: number;
}

export class BurstDetector {
  private readonly tenants = new Map<string, TenantState>();
  private readonly past: PastBurst[] = [];
  private pass = 0;
  /** Below this ratio a flag clears: half-way between 1 and the factor, so a rate near the line cannot flap. */
  readonly clearFactor: number;
  /** Called when a tenant is flagged or its flag clears (for a log line); never on the write path. */
  onChange: ((view: BurstView) => void) | undefined;

  constructor(readonly options: BurstOptions) {
    this.clearFactor = 1 + (options.factor - 1) / 2;
  }

  get size(): number {
    return this.tenants.size;
  }

  /**
   * One evaluation at `nowMs` from each tenant's cumulative count of offered items. Tenants not listed are
   * forgotten (their counters were dropped: evicted by the tenant label cap). A count lower than the last one
   * is a counter that started again, and counts from zero.
   */
  update(nowMs: number, totals: Iterable<readonly [string, number]>): void {
    const pass = ++this.pass;
    for (const [tenant, total] of totals) {
      const s = this.tenants.get(tenant);
      if (s === undefined) {
        this.tenants.set(tenant, fresh(total, nowMs, pass));
        continue;
      }
      s.pass = pass;
      const dt = nowMs - s.lastMs;
      if (dt <= 0) continue;
      const delta = total >= s.lastTotal ? total - s.lastTotal : total;
      s.lastTotal = total;
      s.lastMs = nowMs;
      this.advance(s, (delta * 1000) / dt, dt);
      this.judge(tenant, s, nowMs);
    }
    for (const [tenant, s] of this.tenants) if (s.pass !== pass) this.tenants.delete(tenant);
  }

  private advance(s: TenantState, rate: number, dt: number): void {
    const fast = Math.exp(-dt / this.options.windowMs);
    s.fastRaw = s.fastRaw * fast + rate * (1 - fast);
    s.fastWeight = s.fastWeight * fast + (1 - fast);
    const slow = Math.exp(-dt / this.options.baselineMs);
    s.slowRaw = s.slowRaw * slow + rate * (1 - slow);
    s.slowWeight = s.slowWeight * slow + (1 - slow);
    s.historyMs += dt;
  }

  private judge(tenant: string, s: TenantState, nowMs: number): void {
    const { factor, minRate, warmupMs } = this.options;
    const rate = recent(s);
    const base = baseline(s);
    if (!s.flagged) {
      if (s.historyMs >= warmupMs && rate >= minRate && rate > factor * base) {
        s.flagged = true;
        s.sinceMs = nowMs;
        s.peakRate = rate;
        s.baselineAtFlag = base;
        this.onChange?.(view(tenant, s, warmupMs));
      }
      return;
    }
    if (rate > s.peakRate) s.peakRate = rate;
    if (rate < this.clearFactor * base || rate < minRate / 2) {
      this.past.push({
        tenant,
        startMs: s.sinceMs,
        endMs: nowMs,
        peakRate: s.peakRate,
        baseline: s.baselineAtFlag,
      });
      if (this.past.length > RECENT_BURSTS) this.past.shift();
      s.flagged = false;
      this.onChange?.(view(tenant, s, warmupMs));
    }
  }

  state(tenant: string): BurstView | undefined {
    const s = this.tenants.get(tenant);
    return s === undefined ? undefined : view(tenant, s, this.options.warmupMs);
  }

  /** Every tracked tenant, in insertion order (for /metrics and the API). */
  *views(): IterableIterator<BurstView> {
    for (const [tenant, s] of this.tenants) yield view(tenant, s, this.options.warmupMs);
  }

  /** Tenants flagged now, highest ratio first. */
  flagged(): BurstView[] {
    const out: BurstView[] = [];
    for (const v of this.views()) if (v.flagged) out.push(v);
    return out.sort((a, b) => b.ratio - a.ratio || a.tenant.localeCompare(b.tenant));
  }

  /** Bursts that have ended, newest first. */
  recent(): PastBurst[] {
    return [...this.past].reverse();
  }
}

function fresh(total: number, nowMs: number, pass: number): TenantState {
  return {
    lastTotal: total,
    lastMs: nowMs,
    fastRaw: 0,
    fastWeight: 0,
    slowRaw: 0,
    slowWeight: 0,
    historyMs: 0,
    flagged: false,
    sinceMs: 0,
    peakRate: 0,
    baselineAtFlag: 0,
    pass,
  };
}

function recent(s: TenantState): number {
  return s.fastWeight > 0 ? s.fastRaw / s.fastWeight : 0;
}

function baseline(s: TenantState): number {
  return s.slowWeight > 0 ? s.slowRaw / s.slowWeight : 0;
}

function view(tenant: string, s: TenantState, warmupMs: number): BurstView {
  const rate = recent(s);
  const base = baseline(s);
  return {
    tenant,
    flagged: s.flagged,
    warm: s.historyMs >= warmupMs,
    rate,
    baseline: base,
    ratio: base > 0 ? rate / base : rate > 0 ? Number.POSITIVE_INFINITY : 0,
    sinceMs: s.flagged ? s.sinceMs : undefined,
    peakRate: s.flagged ? s.peakRate : 0,
    historyMs: s.historyMs,
  };
}
