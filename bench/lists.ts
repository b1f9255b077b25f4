// Benchmark of the list trie (src/lib/lists/ip-trie.ts) against three other ways to ask "is this address in
// one of 100,000 ranges?", in one run on one machine: a linear scan over pre-parsed typed arrays (the best a
// scan can do), node:net's BlockList (what IpMatcher and the policy lists used before), and the npm
// package cidr-matcher. Lookups per second and heap bytes per range. Usage: npm run bench:lists [-- --quick]
//
// Fairness: every matcher gets the same 100,000 ranges (random, seeded, half IPv4 half IPv6) and the same
// probe addresses as text (half inside some range, half anywhere), so each pays for parsing the address it
// is asked about. A full GC before every timed round; the case order is reversed every other round. Heap per
// range is (JS heap + ArrayBuffers) after the second build minus before it, with the range strings made
// beforehand; node:net's BlockList keeps its rules in C++ memory, which only the RSS column sees.

import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseCidr, parseIpInto } from '../src/lib/lists/ip-address.js';
import { IpTrie } from '../src/lib/lists/ip-trie.js';
import { BlockList, isIP } from 'node:net';
import { BLOCK_EFFECT } from '../src/lib/lists/list-index.js';
import { ListStore } from '../src/lib/lists/list-store.js';
import { median, round } from './lib/stats.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const require = createRequire(import.meta.url);
const CidrMatcher = require('cidr-matcher') as new (ranges: string[]) => { contains(ip: string): boolean };

const quick = process.argv.includes('--quick');
const RANGES = 100_000;
const PROBES = 20_000;
const ROUNDS = quick ? 3 : 5;
const ROUND_MS = quick ? 300 : 1000;
const SEED = 0x5eed;

/** mulberry32: a small seeded generator, so every run builds the same ranges and probes. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const next = generator(SEED);
const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
const v4Text = (w: number): string => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
const v6Text = (g: number[]): string => g.map((x) => x.toString(16)).join(':');

/** Prefix lengths as blocklists have them: mostly /24 and single addresses for IPv4, /32–/64 and /128 for IPv6. */
const V4_BITS = [16, 20, 22, 24, 24, 24, 28, 32, 32, 32];
const V6_BITS = [29, 32, 36, 40, 44, 48, 48, 56, 64, 128];

function makeRanges(): string[] {
  const out: string[] = [];
  for (let i = 0; i < RANGES; i++) {
    if (i % 2 === 0) out.push(`${v4Text(next())}/${pick(V4_BITS)}`);
    else {
      const g = Array.from({ length: 8 }, () => next() & 0xffff);
      g[0] = 0x2000 | (g[0]! & 0x1fff);
      out.push(`${v6Text(g)}/${pick(V6_BITS)}`);
    }
  }
  return out;
}

/** Half the probes inside a random range (host bits random), half random addresses of either family. */
function makeProbes(ranges: readonly string[]): string[] {
  const out: string[] = [];
  const words = new Uint32Array(4);
  for (let i = 0; i < PROBES; i++) {
    const inside = i % 2 === 0;
    const c = parseCidr(pick(ranges));
    if (typeof c === 'string') throw new Error(c);
    const family = inside ? c.family : i % 4 === 1 ? 4 : 6;
    for (let w = 0; w < 4; w++) words[w] = next();
    if (inside) {
      for (let w = 0; w < c.words.length; w++) {
        const keep = Math.max(0, Math.min(32, c.bits - w * 32));
        const mask = keep === 0 ? 0 : keep === 32 ? 0xffffffff : ~(0xffffffff >>> keep) >>> 0;
        words[w] = ((c.words[w]! & mask) | (words[w]! & ~mask)) >>> 0;
      }
    }
    if (family === 4) out.push(v4Text(words[0]!));
    else {
      const g: number[] = [];
      for (let w = 0; w < 4; w++) g.push(words[w]! >>> 16, words[w]! & 0xffff);
      if (!inside) g[0] = 0x2000 | (g[0]! & 0x1fff);
      out.push(v6Text(g));
    }
  }
  return out;
}

/** The first `bits` (0–32) of a word set (">>> 32" shifts by 0 in JavaScript, hence the cases). */
function prefixMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
}

/** The best a scan can do: ranges pre-parsed into typed arrays, one pass of integer compares per lookup. */
class LinearScan {
  private readonly v4Net: Uint32Array;
  private readonly v4Mask: Uint32Array;
  private readonly v6: Uint32Array;
  private readonly v6Bits: Uint8Array;
  private readonly scratch = new Uint32Array(4);
  constructor(ranges: readonly string[]) {
    const parsed = ranges.map((r) => parseCidr(r)).filter((c) => typeof c !== 'string');
    const v4 = parsed.filter((c) => c.family === 4);
    const v6 = parsed.filter((c) => c.family === 6);
    this.v4Net = Uint32Array.from(v4, (c) => c.words[0]!);
    this.v4Mask = Uint32Array.from(v4, (c) => prefixMask(c.bits));
    this.v6 = new Uint32Array(v6.length * 4);
    v6.forEach((c, i) => this.v6.set(c.words, i * 4));
    this.v6Bits = Uint8Array.from(v6, (c) => c.bits);
  }
  has(ip: string): boolean {
    const a = this.scratch;
    const family = parseIpInto(ip, a);
    if (family === 4) {
      const x = a[0]!;
      for (let i = 0; i < this.v4Net.length; i++)
        if ((x & this.v4Mask[i]!) >>> 0 === this.v4Net[i]) return true;
      return false;
    }
    if (family !== 6) return false;
    for (let i = 0; i < this.v6Bits.length; i++) {
      const bits = this.v6Bits[i]!;
      let ok = true;
      for (let w = 0; w < 4 && ok; w++) {
        const keep = Math.max(0, Math.min(32, bits - w * 32));
        if (keep === 0) break;
        const mask = keep === 32 ? 0xffffffff : ~(0xffffffff >>> keep) >>> 0;
        ok = (a[w]! & mask) >>> 0 === this.v6[i * 4 + w];
      }
      if (ok) return true;
    }
    return false;
  }
}

interface Case {
  name: string;
  build: (ranges: readonly string[]) => (ip: string) => boolean;
}

/** The trie's own count of its typed arrays' bytes per range: a check on the heap figure. */
let trieBytes = NaN;

const CASES: Case[] = [
  {
    name: 'ours (IpTrie)',
    build: (ranges) => {
      const t = new IpTrie();
      for (const r of ranges) t.set(r, 1);
      t.trim();
      trieBytes = t.byteLength / t.size;
      return (ip) => t.longest(ip) >= 0;
    },
  },
  {
    name: 'linear scan (typed arrays)',
    build: (ranges) => {
      const s = new LinearScan(ranges);
      return (ip) => s.has(ip);
    },
  },
  {
    name: 'node:net BlockList',
    // As IpMatcher (src/lib/policy/ip-match.ts) used it before it moved to the trie.
    build: (ranges) => {
      const list = new BlockList();
      for (const r of ranges) {
        const [address, prefix] = r.split('/') as [string, string];
        list.addSubnet(address, Number(prefix), isIP(address) === 4 ? 'ipv4' : 'ipv6');
      }
      return (ip) => {
        const family = isIP(ip);
        return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
      };
    },
  },
  {
    name: 'cidr-matcher 2.1.1',
    build: (ranges) => {
      const m = new CidrMatcher([...ranges]);
      return (ip) => m.contains(ip);
    },
  },
];

/** JS heap + ArrayBuffers, and the resident set, after full GCs and a turn for freed buffers to be released. */
async function memory(): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
}

/** Lookups per second over one round of ROUND_MS (at least 3 lookups, so the slowest still count). */
function rate(has: (ip: string) => boolean, probes: readonly string[]): number {
  let n = 0;
  let hits = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ROUND_MS) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget || n < 3) {
    for (let k = 0; k < 64; k++) if (has(probes[(n + k) % probes.length]!)) hits++;
    n += 64;
    elapsed = process.hrtime.bigint() - start;
    // The slow matchers take a millisecond or more a lookup: check the clock after each of theirs too.
    if (elapsed > budget * 4n) break;
  }
  if (hits < 0) console.log(hits);
  return (n * 1e9) / Number(elapsed);
}

async function main(): Promise<void> {
  console.log(
    `lists benchmark: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
      `${RANGES} ranges (seed ${SEED}), ${PROBES} probe addresses, ${ROUNDS} rounds of ${ROUND_MS} ms`,
  );
  const ranges = makeRanges();
  const probes = makeProbes(ranges);

  const built = new Map<
    string,
    { has: (ip: string) => boolean; bytes: number; rss: number; buildMs: number }
  >();
  for (const c of CASES) {
    // A first build, dropped, pays for compiled code and the flattening of the range strings, which
    // would otherwise land in (or, collected midway, come out of) the measured build's figure.
    c.build(ranges);
    const before = await memory();
    const t0 = performance.now();
    const has = c.build(ranges);
    const buildMs = performance.now() - t0;
    const after = await memory();
    built.set(c.name, {
      has,
      bytes: (after.heap - before.heap) / RANGES,
      rss: (after.rss - before.rss) / RANGES,
      buildMs,
    });
  }

  // Every matcher must give the same answers, or the race means nothing.
  const ours = built.get(CASES[0]!.name)!.has;
  let inside = 0;
  for (let i = 0; i < 200; i++) {
    const expected = ours(probes[i]!);
    if (expected) inside++;
    for (const c of CASES.slice(1)) {
      if (built.get(c.name)!.has(probes[i]!) !== expected)
        throw new Error(`${c.name} disagrees on ${probes[i]!} (ours: ${expected})`);
    }
  }
  console.log(`  all matchers agree on the first 200 probes (${inside} inside a range)`);

  const rounds = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? CASES : [...CASES].reverse();
    for (const c of order) {
      gc();
      rounds.get(c.name)!.push(rate(built.get(c.name)!.has, probes));
    }
    console.log(
      `  round ${r + 1}: ${CASES.map((c) => `${c.name} ${Math.round(rounds.get(c.name)!.at(-1)!)}/s`).join(', ')}`,
    );
  }

  const medians = new Map(CASES.map((c) => [c.name, median(rounds.get(c.name)!)]));
  const oursRate = medians.get(CASES[0]!.name)!;
  const bestOther = Math.max(...CASES.slice(1).map((c) => medians.get(c.name)!));
  console.log(
    '\n| matcher | lookups/s (median) | ours ÷ this | heap bytes per range | RSS bytes per range | build ms |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const c of CASES) {
    const b = built.get(c.name)!;
    const m = medians.get(c.name)!;
    console.log(
      `| ${c.name} | ${Math.round(m).toLocaleString('en-US')} | ${round(oursRate / m, 1)}× | ${round(b.bytes, 1)} | ${Math.round(b.rss)} | ${Math.round(b.buildMs)} |`,
    );
  }
  const oursBytes = built.get(CASES[0]!.name)!.bytes;
  console.log(
    `\nours vs the best of the others: ${round(oursRate / bestOther, 1)}× the lookups (goal ≥ 10×); ` +
      `${round(oursBytes, 1)} heap bytes per range (goal < 100; its typed arrays hold ${round(trieBytes, 1)})`,
  );
  // A runtime change to a list of that size (the admin API): one entry added then removed, in place.
  const store = new ListStore([
    {
      name: 'big',
      kind: 'ip',
      action: 'block',
      class: undefined,
      file: undefined,
      effect: BLOCK_EFFECT,
      fileEntries: ranges,
      inline: [],
    },
  ]);
  const changeMs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const entry = v4Text(next());
    const t0 = performance.now();
    store.add('big', [entry]);
    store.remove('big', [entry]);
    changeMs.push((performance.now() - t0) / 2);
  }
  const t1 = performance.now();
  store.setFileEntries('big', ranges.slice(1));
  const fileEditMs = performance.now() - t1;
  console.log(
    `runtime change of one entry in the 100,000-range list: median ${round(median(changeMs), 3)} ms; ` +
      `a file reload that drops one line: ${round(fileEditMs, 1)} ms`,
  );
  console.log(
    JSON.stringify({
      bench: 'lists',
      ranges: RANGES,
      lookupsPerSecond: Object.fromEntries(medians),
      bytesPerRange: Object.fromEntries([...built].map(([k, v]) => [k, round(v.bytes, 1)])),
      ratioToBest: round(oursRate / bestOther, 1),
    }),
  );
}

await main();
