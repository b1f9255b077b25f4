// A HyperLogLog of precision 14 (16,384 six-bit registers, standard error 1.04/√16384 = 0.81%), the precision
// Redis' PFADD/PFCOUNT use. It takes a 64-bit hash as two uint32 halves (src/remote-write/series-hash.ts): the top
// 14 bits pick the register, and the rank is the position of the first 1 bit in the remaining 50.
//
// Small sketches are sparse: an open-addressed table of (register, rank) entries, 1 KiB at first, doubled up to
// 8 KiB; past that the sketch turns dense (16,384 bytes, one register per byte). A tenant with a few hundred
// series costs about 1 KiB per sketch, a large one 16 KiB.
//
// The estimate is Ertl's improved raw estimator ("New cardinality estimation algorithms for HyperLogLog
// sketches", 2017): no empirical bias tables, and no switch to linear counting, over the whole range.

export const PRECISION = 14;
export const REGISTERS = 1 << PRECISION;
/** Bits left for the rank after the register index: 64 − 14. A register holds 0 … RANK_BITS + 1. */
const RANK_BITS = 64 - PRECISION;
const INDEX_SHIFT = 32 - PRECISION;
const LOW_HI_MASK = (1 << INDEX_SHIFT) - 1;

const SPARSE_START = 256;
/** Entries past which the sparse table (then 2,048 slots, 8 KiB) turns dense. */
const SPARSE_MAX_ENTRIES = 1024;

/** The register a hash lands in. */
export function registerOf(hi: number): number {
  return hi >>> INDEX_SHIFT;
}

/** The rank a hash gives its register: 1 + leading zeros of the 50 bits after the index. */
export function rankOf(hi: number, lo: number): number {
  const rest = hi & LOW_HI_MASK;
  if (rest !== 0) return Math.clz32(rest) - PRECISION + 1;
  if (lo !== 0) return INDEX_SHIFT + Math.clz32(lo) + 1;
  return RANK_BITS + 1;
}

export class HyperLogLog {
  /** Dense registers, once the sketch has turned dense. */
  private dense: Uint8Array | undefined;
  /** Sparse slots: 0 empty, else (register + 1) << 6 | rank. */
  private sparse: Uint32Array | undefined = new Uint32Array(SPARSE_START);
  private entries = 0;
  /** 32 − log2(sparse slots): the shift that turns a multiplied index into a slot. */
  private shift = 32 - Math.log2(SPARSE_START);

  /** Adds one 64-bit hash; true when a register grew (the estimate may have changed). */
  add(hi: number, lo: number): boolean {
    return this.set(registerOf(hi), rankOf(hi, lo));
  }

  /** Raises register `index` to `rank` if it is lower. */
  set(index: number, rank: number): boolean {
    const dense = this.dense;
    if (dense !== undefined) {
      if (dense[index]! >= rank) return false;
      dense[index] = rank;
      return true;
    }
    const slots = this.sparse!;
    const mask = slots.length - 1;
    let i = Math.imul(index + 1, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const slot = slots[i]!;
      if (slot === 0) {
        slots[i] = ((index + 1) << 6) | rank;
        this.entries++;
        if (this.entries * 2 > slots.length) this.grow();
        return true;
      }
      if (slot >>> 6 === index + 1) {
        if ((slot & 63) >= rank) return false;
        slots[i] = ((index + 1) << 6) | rank;
        return true;
      }
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.sparse!;
    if (this.entries > SPARSE_MAX_ENTRIES) {
      this.sparse = undefined;
      this.dense = new Uint8Array(REGISTERS);
      for (const slot of old) if (slot !== 0) this.dense[(slot >>> 6) - 1] = slot & 63;
      return;
    }
    this.sparse = new Uint32Array(old.length * 2);
    this.shift--;
    this.entries = 0;
    for (const slot of old) if (slot !== 0) this.set((slot >>> 6) - 1, slot & 63);
  }

  /** Takes the larger of each register into `into` (dense, REGISTERS long): the union of the two sets. */
  mergeInto(into: Uint8Array): void {
    const dense = this.dense;
    if (dense !== undefined) {
      for (let i = 0; i < REGISTERS; i++) if (dense[i]! > into[i]!) into[i] = dense[i]!;
      return;
    }
    for (const slot of this.sparse!) {
      if (slot === 0) continue;
      const index = (slot >>> 6) - 1;
      if ((slot & 63) > into[index]!) into[index] = slot & 63;
    }
  }

  /** Bytes this sketch holds in typed arrays. */
  get bytes(): number {
    return this.dense !== undefined ? this.dense.byteLength : this.sparse!.byteLength;
  }

  get isDense(): boolean {
    return this.dense !== undefined;
  }

  /** The registers as 16,384 bytes (for Redis' dense format or a merge), copied. */
  registers(): Uint8Array {
    const out = new Uint8Array(REGISTERS);
    this.mergeInto(out);
    return out;
  }

  estimate(): number {
    return estimateRegisters(this.registers());
  }
}

/** Ertl's improved raw estimate of the number of distinct hashes behind `registers` (REGISTERS long). */
export function estimateRegisters(registers: Uint8Array): number {
  const m = REGISTERS;
  const histogram = new Float64Array(RANK_BITS + 2);
  for (let i = 0; i < m; i++) histogram[registers[i]!]!++;
  let z = m * tau(1 - histogram[RANK_BITS + 1]! / m);
  for (let k = RANK_BITS; k >= 1; k--) z = 0.5 * (z + histogram[k]!);
  z += m * sigma(histogram[0]! / m);
  return Math.round((m * m) / (2 * Math.LN2 * z));
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const before = z;
    z += x * y;
    y += y;
    if (z === before) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const before = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z === before) return z / 3;
  }
}
