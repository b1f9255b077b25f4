// A path-compressed binary prefix trie (radix tree) over IPv4 or IPv6 prefixes, kept in typed arrays: a
// node is an index into parallel arrays, not an object, so 100,000 ranges cost a few megabytes and the
// garbage collector sees a handful of buffers. A lookup walks at most one node per distinct prefix length
// on the address's path, so it costs O(prefix length) whatever the number of ranges. Each prefix carries
// a value (a non-negative 31-bit integer): callers use it for the list, or the set of lists, it came from.

import type { IpWords } from './ip-address.js';

const NONE = -1;
const INITIAL_CAPACITY = 16;

/** Bit `index` (0 = most significant) of `words` at `offset`. */
function bitAt(words: ArrayLike<number>, offset: number, index: number): number {
  return (words[offset + (index >>> 5)]! >>> (31 - (index & 31))) & 1;
}

export class PrefixTrie {
  /** Words per key: 1 for IPv4, 4 for IPv6. */
  readonly wordCount: number;
  readonly maxBits: number;
  private capacity: number;
  private nodes = 1;
  private entries = 0;
  /** Node n's prefix (host bits cleared) in keys[n*wordCount ...]. */
  private keys: Uint32Array;
  private lengths: Uint8Array;
  /** Children by the next bit: child[2n] for 0, child[2n+1] for 1; 0 means none (node 0 is the root). */
  private child: Int32Array;
  /** The value stored at node n, or NONE for a node that only joins two branches. */
  private values: Int32Array;

  constructor(family: 4 | 6) {
    this.wordCount = family === 4 ? 1 : 4;
    this.maxBits = family === 4 ? 32 : 128;
    this.capacity = INITIAL_CAPACITY;
    this.keys = new Uint32Array(this.capacity * this.wordCount);
    this.lengths = new Uint8Array(this.capacity);
    this.child = new Int32Array(this.capacity * 2);
    this.values = new Int32Array(this.capacity).fill(NONE);
  }

  /** Prefixes that hold a value. */
  get size(): number {
    return this.entries;
  }

  /** Bytes held by the typed arrays (what the trie costs beyond a few fixed fields). */
  get byteLength(): number {
    return this.keys.byteLength + this.lengths.byteLength + this.child.byteLength + this.values.byteLength;
  }

  /** Sets the value of prefix `words`/`bits` (host bits must be clear); returns the value it replaced. */
  set(words: IpWords, bits: number, value: number): number | undefined {
    if (!(value >= 0 && value <= 0x7fffffff && Number.isInteger(value)))
      throw new RangeError(`a trie value must be an integer from 0 to 2^31-1, got ${value}`);
    const node = this.nodeFor(words, bits);
    const old = this.values[node]!;
    if (old === NONE) this.entries++;
    this.values[node] = value;
    return old === NONE ? undefined : old;
  }

  /** The value stored for exactly this prefix, or undefined. */
  get(words: IpWords, bits: number): number | undefined {
    const node = this.find(words, bits);
    if (node === NONE) return undefined;
    const v = this.values[node]!;
    return v === NONE ? undefined : v;
  }

  /**
   * Removes the value of exactly this prefix; true when it had one. The node stays (a later set() reuses
   * it): removals are rare, and a rebuild compacts.
   */
  delete(words: IpWords, bits: number): boolean {
    const node = this.find(words, bits);
    if (node === NONE || this.values[node] === NONE) return false;
    this.values[node] = NONE;
    this.entries--;
    return true;
  }

  /** The value of the longest prefix that contains the address `words`, or -1. */
  longest(words: IpWords): number {
    let best = NONE;
    for (let node = 0; ;) {
      const v = this.values[node]!;
      if (v !== NONE) best = v;
      const len = this.lengths[node]!;
      if (len >= this.maxBits) return best;
      const next = this.child[2 * node + bitAt(words, 0, len)]!;
      if (next === 0 || !this.covers(next, words)) return best;
      node = next;
    }
  }

  /** The bitwise OR of the values of every prefix that contains `words` (0 when none does). */
  union(words: IpWords): number {
    let acc = 0;
    for (let node = 0; ;) {
      const v = this.values[node]!;
      if (v !== NONE) acc |= v;
      const len = this.lengths[node]!;
      if (len >= this.maxBits) return acc;
      const next = this.child[2 * node + bitAt(words, 0, len)]!;
      if (next === 0 || !this.covers(next, words)) return acc;
      node = next;
    }
  }

  /** Calls `visit` for every stored prefix (words are a view valid during the call only). */
  forEach(visit: (words: IpWords, bits: number, value: number) => void): void {
    const w = this.wordCount;
    for (let n = 0; n < this.nodes; n++) {
      const v = this.values[n]!;
      if (v !== NONE) visit(this.keys.subarray(n * w, n * w + w), this.lengths[n]!, v);
    }
  }

  /** Releases the unused capacity (after a bulk build); later sets grow it again. */
  trim(): void {
    this.resize(Math.max(this.nodes, 1));
  }

  /** Whether node n's prefix contains the address `words`. */
  private covers(n: number, words: IpWords): boolean {
    const len = this.lengths[n]!;
    const base = n * this.wordCount;
    let w = 0;
    for (; (w + 1) * 32 <= len; w++) if (this.keys[base + w] !== words[w]) return false;
    const rest = len - w * 32;
    if (rest === 0) return true;
    return ((this.keys[base + w]! ^ words[w]!) & ~(0xffffffff >>> rest)) === 0;
  }

  /** Bits `words` (length `bits`) shares with node n's prefix, up to `limit`. */
  private common(n: number, words: IpWords, limit: number): number {
    const base = n * this.wordCount;
    for (let w = 0; w * 32 < limit; w++) {
      const diff = (this.keys[base + w]! ^ words[w]!) >>> 0;
      if (diff !== 0) return Math.min(limit, w * 32 + Math.clz32(diff));
    }
    return limit;
  }

  /** The node holding exactly this prefix, or NONE. */
  private find(words: IpWords, bits: number): number {
    for (let node = 0; ;) {
      const len = this.lengths[node]!;
      if (len === bits) return node;
      const next = this.child[2 * node + bitAt(words, 0, len)]!;
      if (next === 0) return NONE;
      const nextLen = this.lengths[next]!;
      if (nextLen > bits || this.common(next, words, nextLen) < nextLen) return NONE;
      node = next;
    }
  }

  /** The node for this prefix, created (splitting an edge if needed) when missing. */
  private nodeFor(words: IpWords, bits: number): number {
    for (let node = 0; ;) {
      const len = this.lengths[node]!;
      if (len === bits) return node;
      const slot = 2 * node + bitAt(words, 0, len);
      const next = this.child[slot]!;
      if (next === 0) {
        const leaf = this.newNode(words, bits);
        this.child[slot] = leaf;
        return leaf;
      }
      const nextLen = this.lengths[next]!;
      const shared = this.common(next, words, Math.min(bits, nextLen));
      if (shared === nextLen) {
        node = next;
        continue;
      }
      // The new prefix parts from the edge to `next` after `shared` bits: a node goes in between.
      const middle = this.newNode(words, shared);
      const keysBase = next * this.wordCount;
      this.child[2 * middle + bitAt(this.keys, keysBase, shared)] = next;
      this.child[slot] = middle;
      if (shared === bits) return middle;
      const leaf = this.newNode(words, bits);
      this.child[2 * middle + bitAt(words, 0, shared)] = leaf;
      return leaf;
    }
  }

  private newNode(words: IpWords, bits: number): number {
    if (this.nodes === this.capacity) this.resize(this.capacity * 2);
    const n = this.nodes++;
    const base = n * this.wordCount;
    for (let w = 0; w < this.wordCount; w++) this.keys[base + w] = words[w]!;
    // Only the prefix's own bits are kept, so equal prefixes compare equal word for word.
    const rest = bits % 32;
    const last = bits >>> 5;
    if (rest !== 0) this.keys[base + last] = (this.keys[base + last]! & ~(0xffffffff >>> rest)) >>> 0;
    for (let w = rest === 0 ? last : last + 1; w < this.wordCount; w++) this.keys[base + w] = 0;
    this.lengths[n] = bits;
    this.child[2 * n] = 0;
    this.child[2 * n + 1] = 0;
    this.values[n] = NONE;
    return n;
  }

  private resize(capacity: number): void {
    const copy = <T extends Uint32Array | Uint8Array | Int32Array>(from: T, to: T, count: number): T => {
      to.set(from.subarray(0, count));
      return to;
    };
    const w = this.wordCount;
    const used = this.nodes;
    this.keys = copy(this.keys, new Uint32Array(capacity * w), used * w);
    this.lengths = copy(this.lengths, new Uint8Array(capacity), used);
    this.child = copy(this.child, new Int32Array(capacity * 2), used * 2);
    const values = new Int32Array(capacity).fill(NONE);
    values.set(this.values.subarray(0, used));
    this.values = values;
    this.capacity = capacity;
  }
}
