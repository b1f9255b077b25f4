// The metric names that bring the most new series, in bounded memory: the Space-Saving algorithm (Metwally,
// Agrawal, El Abbadi, 2005) over K counters. A name not counted takes the place of the smallest counter and
// inherits its count as its possible overcount (`error`), so a name's true count lies in [count − error, count],
// and every name with more than total/K new series is in the table. Keyed by a 32-bit hash of the name's bytes;
// the name is decoded only when it enters the table.

export interface NameCount {
  name: string;
  count: number;
  /** Upper bound of how much of `count` came from the names it displaced. */
  error: number;
}

export class TopNames {
  private readonly hashes: Int32Array;
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  private readonly names: string[];
  private used = 0;

  constructor(readonly capacity: number) {
    this.hashes = new Int32Array(capacity);
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.names = new Array<string>(capacity).fill('');
  }

  /** Counts one occurrence of the name whose hash is `hash`; `name()` is called only when it enters the table. */
  add(hash: number, name: () => string): void {
    const h = hash | 0;
    for (let i = 0; i < this.used; i++) {
      if (this.hashes[i] === h) {
        this.counts[i]!++;
        return;
      }
    }
    if (this.used < this.capacity) {
      const i = this.used++;
      this.hashes[i] = h;
      this.counts[i] = 1;
      this.errors[i] = 0;
      this.names[i] = name();
      return;
    }
    let min = 0;
    for (let i = 1; i < this.used; i++) if (this.counts[i]! < this.counts[min]!) min = i;
    this.hashes[min] = h;
    this.errors[min] = this.counts[min]!;
    this.counts[min]!++;
    this.names[min] = name();
  }

  /** The counted names, most first. */
  top(): NameCount[] {
    const out: NameCount[] = [];
    for (let i = 0; i < this.used; i++)
      out.push({ name: this.names[i]!, count: this.counts[i]!, error: this.errors[i]! });
    return out.sort((a, b) => b.count - a.count);
  }

  /** Adds another table's counts into a list keyed by name (to merge generations for a report). */
  static merge(lists: NameCount[][], limit: number): NameCount[] {
    const byName = new Map<string, NameCount>();
    for (const list of lists) {
      for (const e of list) {
        const seen = byName.get(e.name);
        if (seen) {
          seen.count += e.count;
          seen.error += e.error;
        } else byName.set(e.name, { ...e });
      }
    }
    return [...byName.values()].sort((a, b) => b.count - a.count).slice(0, limit);
  }
}
