// Where the rate limit service's fixed-window counters live. The in-process store answers synchronously;
// a shared store (Redis, in its own issue) would answer with a Promise, which the service already handles.
// A counter only ever grows within its window and disappears with it; memory is bounded by sweep().

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
  /** Adds `hits` to every counter and returns each total after adding, in order (one round trip per call). */
  add(counters: readonly WindowCounter[], hits: number, nowMs: number): number[] | Promise<number[]>;
  close(): Promise<void>;
}

interface Counter {
  count: number;
  endMs: number;
}

export class InProcessWindowStore implements WindowCounterStore {
  readonly kind = 'memory';
  private readonly counters = new Map<string, Counter>();

  add(counters: readonly WindowCounter[], hits: number, nowMs: number): number[] {
    const totals = new Array<number>(counters.length);
    for (let i = 0; i < counters.length; i++) {
      const { key, windowEndMs, hits: own } = counters[i]!;
      let c = this.counters.get(key);
      if (c === undefined || c.endMs <= nowMs) {
        c = { count: 0, endMs: windowEndMs };
        this.counters.set(key, c);
      }
      c.count += own ?? hits;
      totals[i] = c.count;
    }
    return totals;
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
