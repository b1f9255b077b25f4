// Benchmark of the engine's in-process limiter against rate-limiter-flexible's RateLimiterMemory, in one
// run on one machine: hot-key checks/s, checks/s spread over 1,000,000 keys, and heap bytes per key at
// 1M keys. Prints a table, then one JSON line. Usage: npm run bench:engine [-- --quick]

import { cpus, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { RateLimiter } from '../src/index.js';
import type { AlgorithmSpec, RateDecision } from '../src/index.js';
import { emptyRateDecision } from '../src/index.js';
import { median, round } from './lib/stats.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const quick = process.argv.includes('--quick');
const KEYS = 1_000_000;
const ROUNDS = quick ? 3 : 5;
const ROUND_MS = quick ? 300 : 1000;

/** The i-th of the 1M keys. */
function keyOf(i: number): string {
  return `user:${(i * 7919 + 13) % 10_000_019}`;
}
/** The same keys made once, for the variant where the strings already exist (and are cold in cache). */
const keys: string[] = Array.from({ length: KEYS }, (_, i) => keyOf(i));
/** A visiting order that jumps around the whole key space (999,983 is prime: every key once per 1M steps). */
function spreadIndex(i: number): number {
  return (i * 999_983) % KEYS;
}

interface Case {
  name: string;
  /** Runs `n` checks; returns the number allowed (kept so the work is observable). */
  run(n: number, offset: number): number | Promise<number>;
}

/** Median checks/s over ROUNDS rounds of about ROUND_MS each, cases interleaved round by round. */
async function measure(cases: Case[]): Promise<Map<string, number>> {
  const perRound = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const batch = new Map<string, number>();
  const offsets = new Map<string, number>(cases.map((c) => [c.name, 0]));
  for (const c of cases) {
    // Warm up and size a batch to ~10 ms.
    let n = 1000;
    for (;;) {
      const t0 = performance.now();
      await c.run(n, 0);
      const ms = performance.now() - t0;
      if (ms > 10) break;
      n *= 2;
    }
    batch.set(c.name, n);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const n = batch.get(c.name)!;
      let done = 0;
      let offset = offsets.get(c.name)!;
      const t0 = performance.now();
      let elapsed: number;
      do {
        await c.run(n, offset);
        offset += n;
        done += n;
        elapsed = performance.now() - t0;
      } while (elapsed < ROUND_MS);
      offsets.set(c.name, offset);
      perRound.get(c.name)!.push((done * 1000) / elapsed);
    }
  }
  return new Map([...perRound].map(([name, v]) => [name, median(v)]));
}

/** Limits high enough that every check in the benchmark is allowed on both sides. */
const HUGE = 1e12;
const ours = (spec: AlgorithmSpec): RateLimiter => new RateLimiter(spec, { initialKeys: KEYS });
const rlf = (): RateLimiterMemory => new RateLimiterMemory({ points: HUGE, duration: 3600 });

function oursCase(name: string, limiter: RateLimiter, key: (i: number) => string): Case {
  const out: RateDecision = emptyRateDecision();
  const now = Date.now();
  return {
    name,
    run(n, offset) {
      let allowed = 0;
      for (let i = 0; i < n; i++) {
        if (limiter.check(key(offset + i), now + ((offset + i) >>> 10), 1, out).allowed) allowed++;
      }
      return allowed;
    },
  };
}

function rlfCase(name: string, limiter: RateLimiterMemory, key: (i: number) => string): Case {
  return {
    name,
    async run(n, offset) {
      let allowed = 0;
      for (let i = 0; i < n; i++) {
        const res = await limiter.consume(key(offset + i));
        if (res.remainingPoints >= 0) allowed++;
      }
      return allowed;
    },
  };
}

function heapBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Heap (JS heap + ArrayBuffers) per key after one check of each of 1M fresh key strings. */
async function bytesPerKey(makeFill: () => (key: string) => unknown): Promise<number> {
  const before = heapBytes();
  const fill = makeFill();
  for (let i = 0; i < KEYS; i++) await fill(`key:${(i * 7919 + 13) % 10_000_019}`);
  const after = heapBytes();
  // `fill` holds the limiter: use it after the measurement so it cannot be collected before it.
  await fill('key:last');
  return (after - before) / KEYS;
}

async function main(): Promise<void> {
  console.log(
    `engine benchmark: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
  );
  const hot = (): string => 'user:hot';
  // As a request handler does: the key string is built for the request (from an IP, a user id...).
  const spread = (i: number): string => keyOf(spreadIndex(i));
  // The key strings already exist, scattered over the heap: one more cache miss per check, on both sides.
  const spreadPrebuilt = (i: number): string => keys[spreadIndex(i)]!;

  const hotRates = await measure([
    oursCase('ours fixed_window', ours({ algorithm: 'fixed_window', limit: HUGE, window: '1h' }), hot),
    oursCase('ours token_bucket', ours({ algorithm: 'token_bucket', rate: HUGE, burst: HUGE }), hot),
    oursCase('ours gcra', ours({ algorithm: 'gcra', limit: HUGE, period: '1s' }), hot),
    rlfCase('rate-limiter-flexible', rlf(), hot),
  ]);
  // Spread: both sides hold all 1M keys before timing.
  const spreadOurs = ours({ algorithm: 'fixed_window', limit: HUGE, window: '1h' });
  const spreadBucket = ours({ algorithm: 'token_bucket', rate: HUGE, burst: HUGE });
  const spreadRlf = rlf();
  for (let i = 0; i < KEYS; i++) {
    spreadOurs.check(keys[i]!, Date.now());
    spreadBucket.check(keys[i]!, Date.now());
    await spreadRlf.consume(keys[i]!);
  }
  const spreadRates = await measure([
    oursCase('ours fixed_window', spreadOurs, spread),
    oursCase('ours token_bucket', spreadBucket, spread),
    rlfCase('rate-limiter-flexible', spreadRlf, spread),
  ]);
  const prebuiltRates = await measure([
    oursCase('ours fixed_window', spreadOurs, spreadPrebuilt),
    oursCase('ours token_bucket', spreadBucket, spreadPrebuilt),
    rlfCase('rate-limiter-flexible', spreadRlf, spreadPrebuilt),
  ]);

  // Memory last (rate-limiter-flexible's per-key timers would otherwise weigh on the timings), ours
  // before theirs; each limiter is created inside its measured span.
  const memOurs = await bytesPerKey(() => {
    const l = new RateLimiter({ algorithm: 'fixed_window', limit: HUGE, window: '1h' });
    const out = emptyRateDecision();
    const now = Date.now();
    return (k) => l.check(k, now, 1, out).allowed;
  });
  const memOursBucket = await bytesPerKey(() => {
    const l = new RateLimiter({ algorithm: 'token_bucket', rate: 10, burst: 100 });
    const out = emptyRateDecision();
    const now = Date.now();
    return (k) => l.check(k, now, 1, out).allowed;
  });
  const memRlf = await bytesPerKey(() => {
    const l = rlf();
    return (k) => l.consume(k);
  });
  gc();
  console.log(
    `bytes/key at 1M keys: ours fixed_window ${round(memOurs, 1)}, ours token_bucket ${round(memOursBucket, 1)}, rate-limiter-flexible ${round(memRlf, 1)}`,
  );

  const table = (title: string, rates: Map<string, number>): void => {
    console.log(`\n${title}`);
    const peer = rates.get('rate-limiter-flexible')!;
    for (const [name, r] of rates)
      console.log(
        `  ${name.padEnd(24)} ${Math.round(r).toLocaleString('en-US').padStart(12)} checks/s  ×${round(r / peer, 2)}`,
      );
  };
  table('hot key (one key, every check allowed)', hotRates);
  table(`spread over ${KEYS.toLocaleString('en-US')} keys, key built per check`, spreadRates);
  table(`spread over ${KEYS.toLocaleString('en-US')} keys, prebuilt key strings`, prebuiltRates);

  const result = {
    bench: 'engine',
    peer: 'rate-limiter-flexible RateLimiterMemory',
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    rounds: ROUNDS,
    hot_key_checks_per_s: Math.round(hotRates.get('ours fixed_window')!),
    hot_key_rlf_checks_per_s: Math.round(hotRates.get('rate-limiter-flexible')!),
    hot_key_vs_rlf: round(hotRates.get('ours fixed_window')! / hotRates.get('rate-limiter-flexible')!, 2),
    hot_key_token_bucket_vs_rlf: round(
      hotRates.get('ours token_bucket')! / hotRates.get('rate-limiter-flexible')!,
      2,
    ),
    spread_1m_checks_per_s: Math.round(spreadRates.get('ours fixed_window')!),
    spread_1m_rlf_checks_per_s: Math.round(spreadRates.get('rate-limiter-flexible')!),
    spread_1m_vs_rlf: round(
      spreadRates.get('ours fixed_window')! / spreadRates.get('rate-limiter-flexible')!,
      2,
    ),
    spread_1m_token_bucket_vs_rlf: round(
      spreadRates.get('ours token_bucket')! / spreadRates.get('rate-limiter-flexible')!,
      2,
    ),
    spread_1m_prebuilt_vs_rlf: round(
      prebuiltRates.get('ours fixed_window')! / prebuiltRates.get('rate-limiter-flexible')!,
      2,
    ),
    spread_1m_prebuilt_token_bucket_vs_rlf: round(
      prebuiltRates.get('ours token_bucket')! / prebuiltRates.get('rate-limiter-flexible')!,
      2,
    ),
    bytes_per_key_1m: round(memOurs, 1),
    bytes_per_key_1m_token_bucket: round(memOursBucket, 1),
    bytes_per_key_1m_rlf: round(memRlf, 1),
  };
  console.log(JSON.stringify(result));
  // rate-limiter-flexible keeps a timer per key; leave without waiting for an hour of them.
  process.exit(0);
}

await main();
