// Which series a tenant has sent recently, to tell a new series from a known one: a Bloom filter of series hashes
// in three generations of half a window each. A series is known when a live generation holds it, so it stays known
// between one and one and a half windows after it was last sent; every series seen is written into the current
// generation, so one that keeps being sent stays known.
//
// A generation grows as a scalable Bloom filter: layers of 10 bits per series and 7 probes (about 0.8% false
// positives each), each layer twice the capacity of the one before, up to a byte budget per generation. Past it,
// the last layer keeps filling and its false-positive rate climbs. A false positive makes a new series look known
// (it is not counted as new, and enforcement lets it through); a known series never looks new.

const BITS_PER_SERIES = 10;
const PROBES = 7;
const FIRST_CAPACITY = 1024;
const GENERATIONS = 3;

export const SEEN_NOW = 0;
export const SEEN_BEFORE = 1;
export const NEW = 2;

interface Layer {
  bits: Uint32Array;
  mask: number;
  capacity: number;
  count: number;
}

function layer(capacity: number): Layer {
  let size = 1;
  while (size < capacity * BITS_PER_SERIES) size *= 2;
  return { bits: new Uint32Array(Math.max(1, size >>> 5)), mask: size - 1, capacity, count: 0 };
}

function layerHas(l: Layer, hi: number, lo: number): boolean {
  const step = hi | 1;
  let h = lo;
  for (let i = 0; i < PROBES; i++) {
    const bit = h & l.mask;
    if ((l.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    h = (h + step) | 0;
  }
  return true;
}

function layerAdd(l: Layer, hi: number, lo: number): void {
  const step = hi | 1;
  let h = lo;
  for (let i = 0; i < PROBES; i++) {
    const bit = h & l.mask;
    l.bits[bit >>> 5]! |= 1 << (bit & 31);
    h = (h + step) | 0;
  }
  l.count++;
}

export class SeenFilter {
  private readonly layers: Layer[][] = [];
  private readonly ids = new Float64Array(GENERATIONS).fill(-1);

  /**
   * @param generationMs half the window: a series stays known one to one and a half windows after it was sent.
   * @param maxBytes most bytes one generation's layers may take.
   */
  constructor(
    readonly generationMs: number,
    readonly maxBytes: number,
  ) {
    for (let i = 0; i < GENERATIONS; i++) this.layers.push([]);
  }

  /** Whether a live generation holds the series (a false positive is possible, a false negative is not). */
  has(hi: number, lo: number, nowMs: number): boolean {
    const current = Math.floor(nowMs / this.generationMs);
    for (let g = 0; g < GENERATIONS; g++) {
      const id = this.ids[g]!;
      if (id < current - (GENERATIONS - 1) || id > current) continue;
      for (const l of this.layers[g]!) if (layerHas(l, hi, lo)) return true;
    }
    return false;
  }

  /**
   * Records the series as sent at `nowMs`: SEEN_NOW when the current generation held it already, SEEN_BEFORE when
   * an older one did, NEW when none did (a new series).
   */
  add(hi: number, lo: number, nowMs: number): number {
    const current = Math.floor(nowMs / this.generationMs);
    const slot = current % GENERATIONS;
    if (this.ids[slot] !== current) {
      // The slot held the generation that just left the window: start it again, sized for what the last one held.
      const previous = this.layers[(slot + GENERATIONS - 1) % GENERATIONS]!;
      let held = 0;
      for (const l of previous) held += l.count;
      this.layers[slot] = [layer(this.capacityFor(Math.max(FIRST_CAPACITY, held)))];
      this.ids[slot] = current;
    }
    const layers = this.layers[slot]!;
    for (const l of layers) if (layerHas(l, hi, lo)) return SEEN_NOW;
    const seenBefore = this.has(hi, lo, nowMs);
    let last = layers[layers.length - 1]!;
    if (last.count >= last.capacity) {
      const grown = this.capacityFor(last.capacity * 2);
      if (this.bytesOf(layers) + grown * (BITS_PER_SERIES / 8) * 2 <= this.maxBytes) {
        last = layer(grown);
        layers.push(last);
      }
    }
    layerAdd(last, hi, lo);
    return seenBefore ? SEEN_BEFORE : NEW;
  }

  private capacityFor(wanted: number): number {
    // A layer of more bytes than the budget is never made; the capacity follows from the bits it gets.
    const maxCapacity = Math.floor((this.maxBytes * 8) / (2 * BITS_PER_SERIES));
    return Math.max(FIRST_CAPACITY, Math.min(wanted, maxCapacity));
  }

  private bytesOf(layers: Layer[]): number {
    let total = 0;
    for (const l of layers) total += l.bits.byteLength;
    return total;
  }

  /** Frees generations that left the window. */
  sweep(nowMs: number): void {
    const current = Math.floor(nowMs / this.generationMs);
    for (let g = 0; g < GENERATIONS; g++) {
      if (this.ids[g]! < current - (GENERATIONS - 1)) {
        this.layers[g] = [];
        this.ids[g] = -1;
      }
    }
  }

  get bytes(): number {
    let total = 0;
    for (const layers of this.layers) total += this.bytesOf(layers);
    return total;
  }
}
