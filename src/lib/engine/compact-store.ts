// The in-process key → state table behind every limiter: open addressing (linear probing) directly over
// one Float64Array, each slot holding a 64-bit key fingerprint, an expiry time and the algorithm's numbers.
// One cache line per lookup; no per-key object, string, timer or closure; expiry is a column that
// sweep() compares with the time it is given. It never reads the clock itself.

import { hashKey, keyHashB } from './key-hash.js';

/** Grow when more than this share of slots is taken (linear probing stays short below it). */
const MAX_LOAD = 0.7;

export class CompactStore {
  /** Float64 numbers per slot: fingerprint, expiry, then `stateSize` numbers of algorithm state. */
  readonly stride: number;
  /** Slot data. Read it again after findOrCreate(): growing replaces it. */
  rows: Float64Array;
  /** The same memory as 32-bit integers, for the fingerprint halves. */
  private ints: Int32Array;
  private mask: number;
  private live = 0;
  private growAt: number;
  private sweepCursor = 0;
  /** True when the last findOrCreate() created the key. */
  created = false;

  constructor(stateSize: number, initialKeys = 1024) {
    if (!Number.isInteger(stateSize) || stateSize < 0)
      throw new RangeError('stateSize must be an integer ≥ 0');
    this.stride = 2 + stateSize;
    const slots = Math.max(16, 2 ** Math.ceil(Math.log2(initialKeys / MAX_LOAD)));
    this.rows = new Float64Array(slots * this.stride).fill(NaN);
    this.ints = new Int32Array(this.rows.buffer);
    this.mask = slots - 1;
    this.growAt = Math.floor(slots * MAX_LOAD);
  }

  /** Live keys. */
  get size(): number {
    return this.live;
  }

  /** Bytes of the table: the store's whole footprint (nothing else grows with the key count). */
  get bytes(): number {
    return this.rows.byteLength;
  }

  /**
   * The position of `key`'s expiry column (its state follows), or -1. An empty slot has NaN there.
   */
  find(key: string): number {
    const a = hashKey(key);
    const b = keyHashB;
    const { rows, ints, mask, stride } = this;
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const at = slot * stride;
      const expiry = rows[at + 1]!;
      if (expiry !== expiry) return -1; // NaN: empty
      if (ints[at * 2] === a && ints[at * 2 + 1] === b) return at + 1;
    }
  }

  /** Like find(), but takes an empty slot for a new key (expiry +Infinity until its algorithm sets it). */
  findOrCreate(key: string): number {
    const a = hashKey(key);
    const b = keyHashB;
    for (;;) {
      const { rows, ints, mask, stride } = this;
      for (let slot = a & mask; ; slot = (slot + 1) & mask) {
        const at = slot * stride;
        const expiry = rows[at + 1]!;
        if (expiry !== expiry) {
          if (this.live >= this.growAt) break; // grow, then probe again
          ints[at * 2] = a;
          ints[at * 2 + 1] = b;
          rows[at + 1] = Infinity;
          this.live++;
          this.created = true;
          return at + 1;
        }
        if (ints[at * 2] === a && ints[at * 2 + 1] === b) {
          this.created = false;
          return at + 1;
        }
      }
      this.grow();
    }
  }

  /** Forgets the key whose expiry column is at `pos` (as returned by find()). */
  delete(pos: number): void {
    const { rows, ints, mask, stride } = this;
    let hole = (pos - 1) / stride;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    for (let slot = (hole + 1) & mask; ; slot = (slot + 1) & mask) {
      const at = slot * stride;
      if (rows[at + 1] !== rows[at + 1]) break;
      const home = ints[at * 2]! & mask;
      const movable = hole <= slot ? home <= hole || home > slot : home <= hole && home > slot;
      if (movable) {
        rows.copyWithin(hole * stride, at, at + stride); // byte copy: keeps the fingerprint bits intact
        hole = slot;
      }
    }
    rows.fill(NaN, hole * stride, hole * stride + stride);
    this.live--;
  }

  /**
   * Deletes keys whose expiry is at or before `nowMs`, visiting at most `maxSlots` slots from where the
   * previous sweep stopped (so a large store can be swept in slices). `onDelete` sees each key's state
   * first. Returns how many keys were deleted.
   */
  sweep(nowMs: number, maxSlots = Infinity, onDelete?: (s: Float64Array, pos: number) => void): number {
    const slots = this.mask + 1;
    const stride = this.stride;
    let deleted = 0;
    let slot = this.sweepCursor >= slots ? 0 : this.sweepCursor;
    for (let visited = 0; visited < maxSlots && visited < slots; visited++) {
      const pos = slot * stride + 1;
      // A deletion may shift a later key into this slot: look at it again before moving on.
      while (this.rows[pos]! <= nowMs) {
        onDelete?.(this.rows, pos);
        this.delete(pos);
        deleted++;
      }
      slot = (slot + 1) & this.mask;
    }
    this.sweepCursor = slot;
    return deleted;
  }

  /** Forgets every key. */
  clear(): void {
    this.rows.fill(NaN);
    this.live = 0;
    this.sweepCursor = 0;
  }

  private grow(): void {
    const old = this.rows;
    const oldInts = this.ints;
    const stride = this.stride;
    const slots = (this.mask + 1) * 2;
    const rows = new Float64Array(slots * stride).fill(NaN);
    const mask = slots - 1;
    for (let at = 0; at < old.length; at += stride) {
      if (old[at + 1] !== old[at + 1]) continue;
      let slot = oldInts[at * 2]! & mask;
      while (rows[slot * stride + 1] === rows[slot * stride + 1]) slot = (slot + 1) & mask;
      rows.set(old.subarray(at, at + stride), slot * stride);
    }
    this.rows = rows;
    this.ints = new Int32Array(rows.buffer);
    this.mask = mask;
    this.growAt = Math.floor(slots * MAX_LOAD);
    this.sweepCursor = 0;
  }
}
