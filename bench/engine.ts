// Benchmark of the engine's in-process limiter against rate-limiter-flexible's RateLimiterMemory, in one
// run on one machine: hot-key checks/s, checks/s spread over 1,000,000 keys, and heap bytes per key at
// 1M keys. Prints every round, a table of medians, then one JSON line. Usage: npm run bench:engine [-- --quick]
//
// Fairness: both sides see the same key sequence, the same number of rounds of the same length, the same
// warm-up, a full GC before every timed round (so one side's garbage is never collected on the other's
// clock), and the case order is reversed every other round (so neither side always runs first).
//
// Besides checks per wall-clock second (the headline), every round records checks per CPU-second of the
// process (all threads, so GC helper threads count against whoever made the garbage). On a machine shared
// with other work the wall-clock ratio swings with the other processes; the CPU-second ratio much less.

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
const ROUNDS = quick ? 3 : 7;
const ROUND_MS = quick ? 300 : 700;
const WARMUP_MS = quick ? 100 : 300;

/** The number in the i-th of the 1M keys (`user:<n>`). */
function keyId(i: number): number {
  return (i * 7919 + 13) % 10_000_019;
}
/** The 1M key strings made once, for the variant where the strings already exist (cold in cache). */
const keys: string[] = Array.from({ length: KEYS }, (_, i) => `user:${keyId(i)}`);
/**
 * The spread visiting order: step j visits key (j × 999,983) mod 1M, every key once per 1M steps (999,983 is
 * prime) and far from the previous one. Precomputed, with each key's number, so the timed loops spend
 * nothing on the index arithmetic (two floating-point remainders per check, ~50 ns, would otherwise be
 * measured on both sides as if it were limiter work). The arrays are read in order: cheap and prefetched.
 */
const order = new Int32Array(KEYS);
const orderIds = new Int32Array(KEYS);
for (let j = 0; j < KEYS; j++) {
  order[j] = (j * 999_983) % KEYS;
  orderIds[j] = keyId(order[j]!);
}

type KeyMode = 'hot' | 'built' | 'prebuilt';

interface Case {
  name: string;
  /** Runs `n` checks starting at step `offset`; returns the number allowed (kept so the work is observable). */
  run(n: number, offset: number): number | Promise<number>;
}

/** Limits high enough that every check in the benchmark is allowed on both sides. */
const HUGE = 1e12;
const ours = (spec: AlgorithmSpec): RateLimiter => new RateLimiter(spec, { initialKeys: KEYS });
const rlf = (): RateLimiterMemory => new RateLimiterMemory({ points: HUGE, duration: 3600 });

// One loop per key mode (no key callback), the same shape on both sides. Our clock moves 1 ms per 1,024
// checks; rate-limiter-flexible reads Date.now() itself.
function oursCase(name: string, limiter: RateLimiter, mode: KeyMode): Case {
  const out: RateDecision = emptyRateDecision();
  const now = Date.now();
  const run =
    mode === 'hot'
      ? (n: number, offset: number): number => {
          let allowed = 0;
          for (let i = 0; i < n; i++)
            if (limiter.check('user:hot', now + ((offset + i) >>> 10), 1, out).allowed) allowed++;
          return allowed;
        }
      : mode === 'built'
        ? (n: number, offset: number): number => {
            let allowed = 0;
            let j = offset % KEYS;
            for (let i = 0; i < n; i++) {
              // As a request handler does: the key string is built for the request.
              if (limiter.check(`user:${orderIds[j]!}`, now + ((offset + i) >>> 10), 1, out).allowed)
                allowed++;
              if (++j === KEYS) j = 0;
            }
            return allowed;
          }
        : (n: number, offset: number): number => {
            let allowed = 0;
            let j = offset % KEYS;
            for (let i = 0; i < n; i++) {
              if (limiter.check(keys[order[j]!]!, now + ((offset + i) >>> 10), 1, out).allowed) allowed++;
              if (++j === KEYS) j = 0;
            }
            return allowed;
          };
  return { name, run };
}

function rlfCase(name: string, limiter: RateLimiterMemory, mode: KeyMode): Case {
  const run =
    mode === 'hot'
      ? async (n: number): Promise<number> => {
          let allowed = 0;
          for (let i = 0; i < n; i++) if ((await limiter.consume('user:hot')).remainingPoints >= 0) allowed++;
          return allowed;
        }
      : mode === 'built'
        ? async (n: number, offset: number): Promise<number> => {
            let allowed = 0;
            let j = offset % KEYS;
            for (let i = 0; i < n; i++) {
              if ((await limiter.consume(`user:${orderIds[j]!}`)).remainingPoints >= 0) allowed++;
              if (++j === KEYS) j = 0;
            }
            return allowed;
          }
        : async (n: number, offset: number): Promise<number> => {
            let allowed = 0;
            let j = offset % KEYS;
            for (let i = 0; i < n; i++) {
              if ((await limiter.consume(keys[order[j]!]!)).remainingPoints >= 0) allowed++;
              if (++j === KEYS) j = 0;
            }
            return allowed;
          };
  return { name, run };
}

const fmt = (r: number): string => Math.round(r).toLocaleString('en-US');

interface Measured {
  /** Median checks/s (wall clock) per case. */
  rates: Map<string, number>;
  /** Checks/s per case, one per round, in round order. */
  rounds: Map<string, number[]>;
  /** Median checks per CPU-second of this process (all its threads, so GC helpers count) per case. */
  cpuRates: Map<string, number>;
}

/**
 * Each case is warmed up for WARMUP_MS (batches sized to ~10 ms), then ROUNDS rounds of ~ROUND_MS each,
 * cases interleaved and their order reversed every other round, a full GC before each. Prints every round.
 */
async function measure(title: string, cases: Case[]): Promise<Measured> {
  console.log(`\n${title}`);
  const rounds = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const cpuRounds = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const batch = new Map<string, number>();
  const offsets = new Map<string, number>(cases.map((c) => [c.name, 0]));
  for (const c of cases) {
    let n = 1000;
    let offset = 0;
    const end = performance.now() + WARMUP_MS;
    for (;;) {
      const t0 = performance.now();
      await c.run(n, offset);
      offset += n;
      if (performance.now() - t0 < 10) n *= 2;
      else if (performance.now() >= end) break;
    }
    batch.set(c.name, n);
    offsets.set(c.name, offset);
  }
  for (let r = 0; r < ROUNDS; r++) {
    const sequence = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of sequence) {
      gc();
      const n = batch.get(c.name)!;
      let done = 0;
      let offset = offsets.get(c.name)!;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let elapsed: number;
      do {
        await c.run(n, offset);
        offset += n;
        done += n;
        elapsed = performance.now() - t0;
      } while (elapsed < ROUND_MS);
      const cpu = process.cpuUsage(cpu0);
      offsets.set(c.name, offset);
      rounds.get(c.name)!.push((done * 1000) / elapsed);
      cpuRounds.get(c.name)!.push((done * 1e6) / Math.max(1, cpu.user + cpu.system));
    }
    const at = (m: Map<string, number[]>, name: string): number => m.get(name)![r]!;
    const peer = at(rounds, 'rate-limiter-flexible');
    const peerCpu = at(cpuRounds, 'rate-limiter-flexible');
    const line = cases.map(
      (c) =>
        `${c.name} ${fmt(at(rounds, c.name))}/s ×${round(at(rounds, c.name) / peer, 2)} ` +
        `(per CPU-s ×${round(at(cpuRounds, c.name) / peerCpu, 2)})`,
    );
    console.log(`  round ${r + 1}: ${line.join(', ')}`);
  }
  const medians = (m: Map<string, number[]>): Map<string, number> =>
    new Map([...m].map(([name, v]) => [name, median(v)]));
  return { rates: medians(rounds), rounds, cpuRates: medians(cpuRounds) };
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
    `engine benchmark: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${ROUNDS} rounds of ${ROUND_MS} ms per case`,
  );

  const hot = await measure('hot key (one key, every check allowed)', [
    oursCase('ours fixed_window', ours({ algorithm: 'fixed_window', limit: HUGE, window: '1h' }), 'hot'),
    oursCase('ours token_bucket', ours({ algorithm: 'token_bucket', rate: HUGE, burst: HUGE }), 'hot'),
    oursCase('ours gcra', ours({ algorithm: 'gcra', limit: HUGE, period: '1s' }), 'hot'),
    rlfCase('rate-limiter-flexible', rlf(), 'hot'),
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
  const spread = await measure(`spread over ${KEYS.toLocaleString('en-US')} keys, key built per check`, [
    oursCase('ours fixed_window', spreadOurs, 'built'),
    oursCase('ours token_bucket', spreadBucket, 'built'),
    rlfCase('rate-limiter-flexible', spreadRlf, 'built'),
  ]);
  const prebuilt = await measure(`spread over ${KEYS.toLocaleString('en-US')} keys, prebuilt key strings`, [
    oursCase('ours fixed_window', spreadOurs, 'prebuilt'),
    oursCase('ours token_bucket', spreadBucket, 'prebuilt'),
    rlfCase('rate-limiter-flexible', spreadRlf, 'prebuilt'),
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

  const table = (title: string, m: Measured): void => {
    console.log(`\n${title} (median round; last column: checks per CPU-second, ratio)`);
    const peer = m.rates.get('rate-limiter-flexible')!;
    const peerCpu = m.cpuRates.get('rate-limiter-flexible')!;
    for (const [name, r] of m.rates) {
      const cpu = m.cpuRates.get(name)!;
      console.log(
        `  ${name.padEnd(24)} ${fmt(r).padStart(12)} checks/s  ×${String(round(r / peer, 2)).padEnd(6)}` +
          `${fmt(cpu).padStart(12)} per CPU-s  ×${round(cpu / peerCpu, 2)}`,
      );
    }
  };
  table('hot key (one key, every check allowed)', hot);
  table(`spread over ${KEYS.toLocaleString('en-US')} keys, key built per check`, spread);
  table(`spread over ${KEYS.toLocaleString('en-US')} keys, prebuilt key strings`, prebuilt);
  console.log(
    `\nbytes/key at 1M keys: ours fixed_window ${round(memOurs, 1)}, ours token_bucket ${round(memOursBucket, 1)}, rate-limiter-flexible ${round(memRlf, 1)}`,
  );

  const ratio = (m: Measured, name: string): number =>
    round(m.rates.get(name)! / m.rates.get('rate-limiter-flexible')!, 2);
  const cpuRatio = (m: Measured, name: string): number =>
    round(m.cpuRates.get(name)! / m.cpuRates.get('rate-limiter-flexible')!, 2);
  /** Our rate over the peer's in each round (the spread of these shows the noise). */
  const roundRatios = (m: Measured, name: string): number[] =>
    m.rounds.get(name)!.map((r, i) => round(r / m.rounds.get('rate-limiter-flexible')![i]!, 2));
  const result = {
    bench: 'engine',
    peer: 'rate-limiter-flexible RateLimiterMemory',
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    rounds: ROUNDS,
    hot_key_checks_per_s: Math.round(hot.rates.get('ours fixed_window')!),
    hot_key_rlf_checks_per_s: Math.round(hot.rates.get('rate-limiter-flexible')!),
    hot_key_vs_rlf: ratio(hot, 'ours fixed_window'),
    hot_key_token_bucket_vs_rlf: ratio(hot, 'ours token_bucket'),
    hot_key_vs_rlf_per_cpu_s: cpuRatio(hot, 'ours fixed_window'),
    spread_1m_checks_per_s: Math.round(spread.rates.get('ours fixed_window')!),
    spread_1m_rlf_checks_per_s: Math.round(spread.rates.get('rate-limiter-flexible')!),
    spread_1m_vs_rlf: ratio(spread, 'ours fixed_window'),
    spread_1m_vs_rlf_by_round: roundRatios(spread, 'ours fixed_window'),
    spread_1m_vs_rlf_per_cpu_s: cpuRatio(spread, 'ours fixed_window'),
    spread_1m_token_bucket_vs_rlf: ratio(spread, 'ours token_bucket'),
    spread_1m_prebuilt_vs_rlf: ratio(prebuilt, 'ours fixed_window'),
    spread_1m_prebuilt_vs_rlf_per_cpu_s: cpuRatio(prebuilt, 'ours fixed_window'),
    spread_1m_prebuilt_token_bucket_vs_rlf: ratio(prebuilt, 'ours token_bucket'),
    bytes_per_key_1m: round(memOurs, 1),
    bytes_per_key_1m_token_bucket: round(memOursBucket, 1),
    bytes_per_key_1m_rlf: round(memRlf, 1),
  };
  console.log(JSON.stringify(result));
  // rate-limiter-flexible keeps a timer per key; leave without waiting for an hour of them.
  process.exit(0);
}

await main();
