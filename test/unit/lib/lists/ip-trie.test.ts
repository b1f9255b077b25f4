// The prefix trie against a naive linear matcher: for any ranges (IPv4 and IPv6, any prefix length, set,
// overwritten and deleted in any order) and any address, the longest match and the union of matches agree.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr } from '../../../../src/lib/lists/ip-address.js';
import { IpTrie } from '../../../../src/lib/lists/ip-trie.js';

interface Range {
  family: 4 | 6;
  /** The address as a BigInt, host bits cleared. */
  net: bigint;
  bits: number;
}

function mask(family: 4 | 6, bits: number): bigint {
  const width = family === 4 ? 32 : 128;
  return bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
}

function text(family: 4 | 6, n: bigint, bits?: number): string {
  const words: number[] = [];
  for (let i = family === 4 ? 0 : 3; i >= 0; i--) words.push(Number((n >> BigInt(32 * i)) & 0xffffffffn));
  const address = formatCidr({ family, words: Uint32Array.from(words), bits: family === 4 ? 32 : 128 });
  return bits === undefined ? address : `${address}/${bits}`;
}

/** Naive: every range in a list, scanned in full. */
class LinearMatcher {
  readonly ranges = new Map<string, { r: Range; value: number }>();
  set(r: Range, value: number): void {
    this.ranges.set(`${r.family}/${r.net}/${r.bits}`, { r, value });
  }
  delete(r: Range): void {
    this.ranges.delete(`${r.family}/${r.net}/${r.bits}`);
  }
  matches(family: 4 | 6, a: bigint): { r: Range; value: number }[] {
    return [...this.ranges.values()].filter(
      ({ r }) => r.family === family && (a & mask(family, r.bits)) === r.net,
    );
  }
  longest(family: 4 | 6, a: bigint): number {
    let best: { r: Range; value: number } | undefined;
    for (const m of this.matches(family, a)) if (best === undefined || m.r.bits > best.r.bits) best = m;
    return best?.value ?? -1;
  }
  union(family: 4 | 6, a: bigint): number {
    return this.matches(family, a).reduce((acc, m) => acc | m.value, 0);
  }
}

// Few distinct high bits, so ranges nest and share paths (the interesting cases for a radix tree).
const v4Address = fc
  .tuple(fc.constantFrom(0x0a000000, 0xc0000200, 0xc0a80000), fc.nat(0xffff))
  .map(([hi, lo]) => BigInt((hi | (lo & 0xffff)) >>> 0) ^ BigInt(lo & 0x10000));
const v6Address = fc
  .tuple(fc.constantFrom(0x20010db8n, 0xfe800000n, 0n), fc.bigInt({ min: 0n, max: (1n << 96n) - 1n }))
  .map(([hi, lo]) => (hi << 96n) | (lo & ((1n << 96n) - 1n)));
const rangeArb: fc.Arbitrary<Range> = fc.oneof(
  fc.tuple(v4Address, fc.integer({ min: 0, max: 32 })).map(([a, bits]) => ({
    family: 4 as const,
    net: a & mask(4, bits),
    bits,
  })),
  fc.tuple(v6Address, fc.integer({ min: 0, max: 128 })).map(([a, bits]) => ({
    family: 6 as const,
    net: a & mask(6, bits),
    bits,
  })),
);
const op = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constant('set' as const), rangeArb, fc.nat(0x7fffffff)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('delete' as const), rangeArb, fc.constant(0)) },
);

describe('IpTrie', () => {
  it('agrees with a linear matcher on longest match and union, over sets, overwrites and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 60 }),
        fc.array(
          fc.oneof(
            v4Address.map((a) => [4, a] as const),
            v6Address.map((a) => [6, a] as const),
          ),
          {
            maxLength: 40,
          },
        ),
        (ops, probes) => {
          const trie = new IpTrie();
          const naive = new LinearMatcher();
          for (const [kind, r, value] of ops) {
            const cidr = text(r.family, r.net, r.bits);
            if (kind === 'set') {
              trie.set(cidr, value);
              naive.set(r, value);
            } else {
              trie.delete(cidr);
              naive.delete(r);
            }
          }
          expect(trie.size).toBe(naive.ranges.size);
          // Probe the ranges' own network and last addresses too, where off-by-one bugs live.
          const all = [...probes];
          for (const { r } of naive.ranges.values()) {
            const width = r.family === 4 ? 32 : 128;
            all.push(
              [r.family, r.net],
              [r.family, r.net | (((1n << BigInt(width)) - 1n) & ~mask(r.family, r.bits))],
            );
          }
          for (const [family, a] of all) {
            const ip = text(family, a);
            expect(trie.longest(ip)).toBe(naive.longest(family, a));
            expect(trie.union(ip)).toBe(naive.union(family, a));
          }
          for (const { r, value } of naive.ranges.values())
            expect(trie.get(text(r.family, r.net, r.bits))).toBe(value);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('treats IPv4-mapped IPv6 as IPv4, and a malformed or missing address matches nothing', () => {
    const trie = new IpTrie();
    trie.set('192.0.2.0/24', 7);
    trie.set('::/0', 9);
    expect(trie.longest('::ffff:192.0.2.55')).toBe(7);
    expect(trie.longest('192.0.2.55')).toBe(7);
    expect(trie.longest('2001:db8::1')).toBe(9);
    for (const bad of ['192.0.2', '192.0.2.256', 'x', '', '::ffff:192.0.2.256', undefined])
      expect(trie.longest(bad)).toBe(-1);
    expect(trie.union('garbage')).toBe(0);
  });

  it('lists what it holds in canonical form, and refuses a bad range with the reason', () => {
    const trie = new IpTrie();
    trie.set('10.1.2.3/8', 1);
    trie.set('2001:DB8::/32', 2);
    const seen: string[] = [];
    trie.forEach((r, v) => seen.push(`${formatCidr(r)}=${v}`));
    expect(seen).toEqual(['10.0.0.0/8=1', '2001:db8::/32=2']);
    expect(() => trie.set('10.0.0.0/33', 1)).toThrow('prefix /33 must be a whole number from 0 to 32');
    expect(() => trie.set('10.0.0.0/8', -1)).toThrow(RangeError);
    expect(parseCidr('10.0.0.0/8')).not.toBeTypeOf('string');
  });

  it('stays compact: 100,000 random /24 and /48 ranges under 100 bytes each once trimmed', () => {
    const trie = new IpTrie();
    let seed = 42;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const words = new Uint32Array(4);
    for (let i = 0; i < 100_000; i++) {
      if (i % 2 === 0) {
        words[0] = next() & 0xffffff00;
        trie.set({ family: 4, words: words.subarray(0, 1), bits: 24 }, 1);
      } else {
        words[0] = next();
        words[1] = next() & 0xffff0000;
        words[2] = 0;
        words[3] = 0;
        trie.set({ family: 6, words, bits: 48 }, 1);
      }
    }
    trie.trim();
    expect(trie.byteLength / trie.size).toBeLessThan(100);
  });
});
