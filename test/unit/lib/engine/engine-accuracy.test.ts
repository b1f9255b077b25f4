// Accuracy of the approximate window algorithms, measured against the exact sliding window log on the
// same traffic: how much they admit compared with the log, how often they admit a request the log would
// have refused, and the most any sliding window let through. docs/library.md quotes the printed figures.

import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../src/index.js';
import type { AlgorithmSpec } from '../../../../src/index.js';

/** A small seeded PRNG so the traffic, and therefore the figures, are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIMIT = 100;
const WINDOW_MS = 60_000;

interface Traffic {
  name: string;
  /** Request times in ms (ascending) over 30 windows. */
  times: number[];
}

function poisson(name: string, perWindow: number, seed: number): Traffic {
  const rnd = mulberry32(seed);
  const times: number[] = [];
  let t = 0;
  const meanGap = WINDOW_MS / perWindow;
  while (t < 30 * WINDOW_MS) {
    t += -Math.log(1 - rnd()) * meanGap;
    times.push(Math.floor(t));
  }
  return { name, times };
}

function bursty(name: string, seed: number): Traffic {
  // Bursts of 20–80 requests within a second, at random moments, averaging 1.5× the limit.
  const rnd = mulberry32(seed);
  const times: number[] = [];
  for (let b = 0; b < 30 * 3; b++) {
    const at = Math.floor(rnd() * 30 * WINDOW_MS);
    const n = 20 + Math.floor(rnd() * 60);
    for (let i = 0; i < n; i++) times.push(at + Math.floor(rnd() * 1000));
  }
  times.sort((a, b) => a - b);
  return { name, times };
}

interface Accuracy {
  admitted: number;
  /** Admitted, over what the exact log admits on the same traffic. */
  admittedVsLog: number;
  /** Share of requests admitted although the exact count over the admitted history was already at the limit. */
  falselyAllowed: number;
  /** Share of requests refused although the exact count over the admitted history had room. */
  falselyDenied: number;
  /** Most units admitted in any window of WINDOW_MS, over the limit. */
  worstWindowOverLimit: number;
}

function measure(spec: AlgorithmSpec, traffic: Traffic): Accuracy {
  const limiter = new RateLimiter(spec);
  const admitted: number[] = [];
  let lo = 0;
  let falselyAllowed = 0;
  let falselyDenied = 0;
  let worst = 0;
  for (const t of traffic.times) {
    while (lo < admitted.length && admitted[lo]! <= t - WINDOW_MS) lo++;
    const exactAllows = admitted.length - lo + 1 <= LIMIT;
    const allowed = limiter.check('k', t).allowed;
    if (allowed && !exactAllows) falselyAllowed++;
    if (!allowed && exactAllows) falselyDenied++;
    if (allowed) {
      admitted.push(t);
      worst = Math.max(worst, admitted.length - lo);
    }
  }
  const n = traffic.times.length;
  return {
    admitted: admitted.length,
    admittedVsLog: 0,
    falselyAllowed: falselyAllowed / n,
    falselyDenied: falselyDenied / n,
    worstWindowOverLimit: worst / LIMIT,
  };
}

const TRAFFIC: Traffic[] = [
  poisson('steady at 0.8× the limit', 80, 1),
  poisson('steady at 1.2× the limit', 120, 2),
  poisson('steady at 3× the limit', 300, 3),
  bursty('bursts averaging 1.5× the limit', 4),
];

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

describe('accuracy against the exact sliding window log', () => {
  const rows: string[] = [];
  const results = new Map<string, Accuracy[]>();
  for (const spec of [
    { algorithm: 'sliding_window_log', limit: LIMIT, window: WINDOW_MS },
    { algorithm: 'sliding_window_counter', limit: LIMIT, window: WINDOW_MS },
    { algorithm: 'fixed_window', limit: LIMIT, window: WINDOW_MS },
  ] satisfies AlgorithmSpec[]) {
    const list = TRAFFIC.map((tr) => measure(spec, tr));
    results.set(spec.algorithm, list);
    const exact = results.get('sliding_window_log')!;
    list.forEach((a, i) => {
      a.admittedVsLog = a.admitted / exact[i]!.admitted;
      rows.push(
        `${spec.algorithm.padEnd(24)} ${TRAFFIC[i]!.name.padEnd(34)} admitted ${a.admittedVsLog.toFixed(3)}× the log, falsely allowed ${pct(a.falselyAllowed).padStart(6)}, falsely denied ${pct(a.falselyDenied).padStart(6)}, worst window ${a.worstWindowOverLimit.toFixed(2)}× limit`,
      );
    });
  }

  it('the log itself is exact', () => {
    for (const a of results.get('sliding_window_log')!) {
      expect(a.falselyAllowed + a.falselyDenied).toBe(0);
      expect(a.worstWindowOverLimit).toBeLessThanOrEqual(1);
    }
  });

  it('the sliding window counter stays close to the log and well under the fixed window’s boundary bursts', () => {
    console.log(`limit ${LIMIT} per ${WINDOW_MS / 1000}s, 30 windows per traffic shape\n${rows.join('\n')}`);
    const counter = results.get('sliding_window_counter')!;
    const fixed = results.get('fixed_window')!;
    for (const [i, a] of counter.entries()) {
      const name = TRAFFIC[i]!.name;
      expect(Math.abs(a.admittedVsLog - 1), name).toBeLessThan(0.05);
      expect(a.falselyAllowed, name).toBeLessThan(0.12);
      expect(a.worstWindowOverLimit, name).toBeLessThan(1.5);
      expect(a.worstWindowOverLimit, name).toBeLessThanOrEqual(fixed[i]!.worstWindowOverLimit);
    }
    // Under bursts the fixed window lets nearly 2× through across a boundary; that is what the counter fixes.
    expect(fixed[3]!.worstWindowOverLimit).toBeGreaterThan(1.3);
  });
});
