// IPv4 and IPv6 ranges in one map from prefix to value, looked up by a client's address text: the IPv4 and
// the IPv6 prefix tries behind one interface. IPv4-mapped IPv6 is looked up as IPv4. A malformed address
// matches nothing; a lookup never throws and allocates nothing.

import type { Cidr } from './ip-address.js';
import { parseCidr, parseIpInto } from './ip-address.js';
import { PrefixTrie } from './prefix-trie.js';

const scratch = new Uint32Array(4);

export class IpTrie {
  private readonly v4 = new PrefixTrie(4);
  private readonly v6 = new PrefixTrie(6);

  /** Ranges that hold a value. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  get byteLength(): number {
    return this.v4.byteLength + this.v6.byteLength;
  }

  /** Sets the value of a range (a Cidr, or text such as "192.0.2.0/24"); throws RangeError for bad text. */
  set(range: Cidr | string, value: number): number | undefined {
    const c = toCidr(range);
    return this.trie(c).set(c.words, c.bits, value);
  }

  get(range: Cidr | string): number | undefined {
    const c = toCidr(range);
    return this.trie(c).get(c.words, c.bits);
  }

  delete(range: Cidr | string): boolean {
    const c = toCidr(range);
    return this.trie(c).delete(c.words, c.bits);
  }

  /** The value of the longest range containing `ip`, or -1 (also for a malformed or missing address). */
  longest(ip: string | undefined): number {
    if (ip === undefined) return -1;
    const family = parseIpInto(ip, scratch);
    if (family === 4) return this.v4.longest(scratch);
    if (family === 6) return this.v6.longest(scratch);
    return -1;
  }

  /** The OR of the values of every range containing `ip` (0 when none, or for a malformed address). */
  union(ip: string | undefined): number {
    if (ip === undefined) return 0;
    const family = parseIpInto(ip, scratch);
    if (family === 4) return this.v4.union(scratch);
    if (family === 6) return this.v6.union(scratch);
    return 0;
  }

  /** Every stored range with its value; IPv4 first. */
  forEach(visit: (range: Cidr, value: number) => void): void {
    this.v4.forEach((words, bits, value) => visit({ family: 4, words, bits }, value));
    this.v6.forEach((words, bits, value) => visit({ family: 6, words, bits }, value));
  }

  /** Releases unused capacity after a bulk build. */
  trim(): void {
    this.v4.trim();
    this.v6.trim();
  }

  private trie(c: Cidr): PrefixTrie {
    return c.family === 4 ? this.v4 : this.v6;
  }
}

function toCidr(range: Cidr | string): Cidr {
  if (typeof range !== 'string') return range;
  const c = parseCidr(range);
  if (typeof c === 'string') throw new RangeError(c);
  return c;
}
