// Where the rate limit service's fixed-window counters live. The in-process store answers synchronously;
// a shared store (Redis, in its own issue) would answer with a Promise, which the service already handles.
// A counter only ever grows within its window and disappears with it. Keys come from request values, so
// the store is bounded: at most maxCounters entries; when full, expired ones are dropped (at most once a
// second, so a flood cannot make every call scan the map) and a new key that still does not fit is
// answered as over every limit (deny-safe) instead of growing the heap.

export interface WindowCounter {
  /** Unique per limit, descriptor values and window start. */
  key: string;
  /** When the window ends (ms): the counter may be forgotten after that. */
  windowEndMs: number;
  /** Hits for this counter, instead of add()'s `hits` (a descriptor's own hits_addend; 0 only reads). */
  hits?: number;
}

export interface WindowCounterStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Adds `hits` to every counter and returns each total after adding, in order (one round trip per call).
   * A counter the store has no room for reports FULL_STORE_TOTAL, above any limit.
   */
  add(counters: readonly WindowCounter[], hits: number, nowMs: number): number[] | Promise<number[]>;
  close(): Promise<void>;
}

/** The total reported for a counter the store had no room for: over every limit. */
export const FULL_STORE_TOTAL = Number.MAX_SAFE_INTEGER;

/** Default bound on counters kept in process (RATELIMIT_MAX_COUNTERS). */
export const DEFAULT_MAX_COUNTERS = 100_000;

/** How often a full store may scan for expired counters. */
const FULL_SWEEP_INTERVAL_MS = 1000;

interface Counter {
  count: number;
  endMs: number;
}

export class InProcessWindowStore implements WindowCounterStore {
  readonly kind = 'memory';
  private readonly counters = new Map<string, Counter>();
  private lastFullSweepMs = -Infinity;
  /** Counters refused because the store was full (for rls_ratelimit_window_counters_refused_total). */
  refused = 0;

  constructor(readonly maxCounters = DEFAULT_MAX_COUNTERS) {}

  add(counters: readonly WindowCounter[], hits: number, nowMs: number): number[] {
    const totals = new Array<number>(counters.length);
    for (let i = 0; i < counters.length; i++) {
      const { key, windowEndMs, hits: own } = counters[i]!;
      let c = this.counters.get(key);
      if (c === undefined || c.endMs <= nowMs) {
        if (c === undefined && !this.hasRoom(nowMs)) {
          this.refused++;
          totals[i] = FULL_STORE_TOTAL;
          continue;
        }
        c = { count: 0, endMs: windowEndMs };
        this.counters.set(key, c);
      }
      // Capped so that repeated 2^32 − 1 hits in a long window stay an exact integer.
      c.count = Math.min(c.count + (own ?? hits), FULL_STORE_TOTAL);
      totals[i] = c.count;
    }
    return totals;
  }

  /** Whether one more counter fits; a full store first forgets expired counters (at most once a second). */
  private hasRoom(nowMs: number): boolean {
    if (this.counters.size < this.maxCounters) return true;
    if (nowMs - this.lastFullSweepMs < FULL_SWEEP_INTERVAL_MS) return false;
    this.lastFullSweepMs = nowMs;
    return this.sweep(nowMs) > 0;
  }

  /** Forgets counters whose window has ended; returns how many. */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [key, c] of this.counters) {
      if (c.endMs <= nowMs) {
        this.counters.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.counters.size;
  }

  close(): Promise<void> {
    this.counters.clear();
    return Promise.resolve();
  }
}
