// Series seen over a sliding window, as HyperLogLog sketches one per time slice: a series is added to the sketch of
// the slice it arrives in, and the window's estimate is the union (register-wise max) of the slices it covers. A
// slice that falls out of the window is dropped whole, so a series that stops being sent leaves the estimate one
// slice after the window has passed, as Mimir's active series leave after their idle timeout.

import { HyperLogLog, REGISTERS, estimateRegisters } from './hyperloglog.js';

export class SlicedSketch {
  /** The current slice plus `sliceCount` before it, by slice id modulo the ring's length. */
  private readonly slices: (HyperLogLog | undefined)[];
  private readonly ids: Float64Array;
  private readonly merged = new Uint8Array(REGISTERS);

  constructor(
    readonly sliceMs: number,
    readonly sliceCount: number,
  ) {
    this.slices = new Array<HyperLogLog | undefined>(sliceCount + 1).fill(undefined);
    this.ids = new Float64Array(sliceCount + 1).fill(-1);
  }

  /** The slice id of `nowMs`: slices start at multiples of sliceMs since the epoch, the same on every replica. */
  sliceId(nowMs: number): number {
    return Math.floor(nowMs / this.sliceMs);
  }

  /** Adds a series hash at `nowMs`; true when it changed the current slice's sketch. */
  add(hi: number, lo: number, nowMs: number): boolean {
    const id = this.sliceId(nowMs);
    const slot = id % this.slices.length;
    let sketch = this.slices[slot];
    if (sketch === undefined || this.ids[slot] !== id) {
      sketch = new HyperLogLog();
      this.slices[slot] = sketch;
      this.ids[slot] = id;
    }
    return sketch.add(hi, lo);
  }

  /** Distinct series over the current slice and the `sliceCount` before it. */
  estimate(nowMs: number): number {
    const current = this.sliceId(nowMs);
    const merged = this.merged;
    merged.fill(0);
    let any = false;
    for (let slot = 0; slot < this.slices.length; slot++) {
      const id = this.ids[slot]!;
      if (id < 0 || id > current || id < current - this.sliceCount) continue;
      this.slices[slot]!.mergeInto(merged);
      any = true;
    }
    return any ? estimateRegisters(merged) : 0;
  }

  /** Frees slices that left the window; true when none is left (the tenant sent nothing for a whole window). */
  sweep(nowMs: number): boolean {
    const current = this.sliceId(nowMs);
    let live = 0;
    for (let slot = 0; slot < this.slices.length; slot++) {
      if (this.ids[slot]! < current - this.sliceCount) {
        this.slices[slot] = undefined;
        this.ids[slot] = -1;
      } else if (this.slices[slot] !== undefined) live++;
    }
    return live === 0;
  }

  /** Bytes held in the sketches' typed arrays (the ring's own few hundred bytes aside). */
  get bytes(): number {
    let total = 0;
    for (const s of this.slices) if (s !== undefined) total += s.bytes;
    return total;
  }
}
