// A tiny micro-benchmark harness: calibrated batches, a warm-up, then several timed rounds run round-robin
// across cases (so drift and GC pressure spread evenly), reporting the median round.
//
// The harness yields to the event loop after every batch (~5 ms) and times only the batches. A loop that never
// yields is not what a server does, and it distorts native code: the snappy binding's output Buffers are freed
// by finalizers that run on the event loop, so a synchronous loop of 1,000 decompressions of a 615 KB body grows
// RSS by ~1 GB and runs several times slower from page faults (measured on Node 20, snappy 7.4.3; see
// BENCHMARKS.md).
//
// On a shared machine a round during which other processes took the CPUs is measured again (up to
// `retries` times), keeping the attempt they disturbed least.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { watchCpu } from './machine.js';
import { median } from './stats.js';

export interface MicroCase {
  name: string;
  /** One operation; returns a number that is folded into a sink so the work cannot be optimised away. */
  run: () => number;
}

export interface MicroResult {
  name: string;
  /** Median over rounds of the mean time per operation, in microseconds. */
  medianUs: number;
  minUs: number;
  maxUs: number;
  /** Mean µs/op of each kept round, in run order. */
  roundsUs: number[];
  /** Operations timed in each kept round. */
  iterations: number[];
  /** Percent of the machine's CPU other processes used during each kept round. */
  otherCpuPct: number[];
  /** Rounds measured again because other processes disturbed them. */
  retried: number;
}

export interface MicroOptions {
  warmupMs: number;
  roundMs: number;
  rounds: number;
  /** A round also runs at least this many operations. */
  minIterations: number;
  /** A round during which other processes used more than this percent of the CPUs is measured again... */
  maxOtherCpuPct?: number;
  /** ...at most this many times (default 0: never). */
  retries?: number;
}

let sink = 0;

/** Keeps the sink observable; call once at the end so no case's result is dead code. */
export function sinkValue(): number {
  return sink;
}

/** Operations per batch so one batch takes about `targetMs` (the clock is read once per batch). */
function calibrate(c: MicroCase, targetMs: number): number {
  const t0 = performance.now();
  sink += c.run();
  const once = Math.max(performance.now() - t0, 0.001);
  return Math.max(1, Math.floor(targetMs / once));
}

interface Round {
  us: number;
  iterations: number;
  otherPct: number;
}

async function timeRound(c: MicroCase, batch: number, minMs: number, minIterations: number): Promise<Round> {
  let iterations = 0;
  let local = 0;
  let elapsed = 0;
  const stopWatch = watchCpu();
  while (elapsed < minMs || iterations < minIterations) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) local += c.run();
    elapsed += performance.now() - start;
    iterations += batch;
    await yieldToEventLoop();
  }
  sink += local;
  return { us: (elapsed * 1000) / iterations, iterations, otherPct: stopWatch().otherPct };
}

export async function runMicro(
  cases: readonly MicroCase[],
  options: MicroOptions,
  progress?: (msg: string) => void,
): Promise<MicroResult[]> {
  const batches = cases.map((c) => calibrate(c, 5));
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    const batch = batches[i]!;
    const end = performance.now() + options.warmupMs;
    while (performance.now() < end) {
      for (let k = 0; k < batch; k++) sink += c.run();
      await yieldToEventLoop();
    }
    // Recalibrate once the code is optimised.
    batches[i] = calibrate(c, 5);
  }
  const rounds: Round[][] = cases.map(() => []);
  const retried = cases.map(() => 0);
  for (let r = 0; r < options.rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      let best = await timeRound(cases[i]!, batches[i]!, options.roundMs, options.minIterations);
      for (let a = 0; a < (options.retries ?? 0) && best.otherPct > (options.maxOtherCpuPct ?? 100); a++) {
        retried[i]!++;
        const again = await timeRound(cases[i]!, batches[i]!, options.roundMs, options.minIterations);
        if (again.otherPct < best.otherPct) best = again;
      }
      rounds[i]!.push(best);
    }
    progress?.(`round ${r + 1}/${options.rounds} done`);
  }
  return cases.map((c, i) => {
    const us = rounds[i]!.map((x) => x.us);
    return {
      name: c.name,
      medianUs: median(us),
      minUs: Math.min(...us),
      maxUs: Math.max(...us),
      roundsUs: us,
      iterations: rounds[i]!.map((x) => x.iterations),
      otherCpuPct: rounds[i]!.map((x) => x.otherPct),
      retried: retried[i]!,
    };
  });
}
