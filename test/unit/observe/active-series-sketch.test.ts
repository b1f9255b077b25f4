// The active-series estimate an operator reads must be within 2% of the true count of series seen over the
// window, from 10^5 to 10^6 series, while series come and go (churn), and series that stopped must leave it.
// Series hashes come from the real series hash (src/remote-write/series-hash.ts) over distinct label sets.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HyperLogLog,
  REGISTERS,
  estimateRegisters,
  rankOf,
  registerOf,
} from '../../../src/observe/active-series/hyperloglog.js';
import { SlicedSketch } from '../../../src/observe/active-series/sliced-sketch.js';
import { hashBytes, fmix32 } from '../../../src/remote-write/series-hash.js';

const MINUTE = 60_000;
const encoder = new TextEncoder();

/** A stand-in for a series hash: two independent 32-bit hashes of the series id's bytes. */
function seriesHash(id: number): [number, number] {
  const bytes = encoder.encode(`pod-${id}`);
  const a = hashBytes(bytes, 0, bytes.length);
  return [a, fmix32((a ^ 0x5bd1e995 ^ id) >>> 0)];
}

function relativeError(estimate: number, exact: number): number {
  return Math.abs(estimate - exact) / exact;
}

describe('HyperLogLog (p = 14)', () => {
  it.each([100_000, 300_000, 1_000_000])(
    'estimates %i distinct series within 2%',
    (n) => {
      const h = new HyperLogLog();
      for (let i = 0; i < n; i++) {
        const [hi, lo] = seriesHash(i);
        h.add(hi, lo);
        // Every series is sent again: duplicates never count twice.
        if (i % 3 === 0) h.add(hi, lo);
      }
      expect(relativeError(h.estimate(), n)).toBeLessThan(0.02);
      expect(h.bytes).toBe(REGISTERS);
    },
    120_000,
  );

  it('stays exact-ish while small and sparse, and costs 1 KiB there', () => {
    const h = new HyperLogLog();
    for (let i = 0; i < 100; i++) {
      const [hi, lo] = seriesHash(i);
      h.add(hi, lo);
    }
    expect(h.isDense).toBe(false);
    expect(h.bytes).toBe(1024);
    expect(Math.abs(h.estimate() - 100)).toBeLessThanOrEqual(2);
  });

  it('gives the same registers sparse or dense (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)), { maxLength: 3000 }),
        (hashes) => {
          const sketch = new HyperLogLog();
          const direct = new Uint8Array(REGISTERS);
          for (const [hi, lo] of hashes) {
            sketch.add(hi, lo);
            const r = registerOf(hi);
            direct[r] = Math.max(direct[r]!, rankOf(hi, lo));
          }
          expect(sketch.registers()).toEqual(direct);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('ranks the bits after the index: a hash of all zeros gets the largest rank', () => {
    expect(rankOf(0, 0)).toBe(51);
    expect(rankOf(0x0002_0000, 0)).toBe(1);
    expect(rankOf(0, 0x8000_0000)).toBe(19);
    expect(estimateRegisters(new Uint8Array(REGISTERS))).toBe(0);
  });
});

describe('active series over a sliding window', () => {
  it('is within 2% of the exact count of series seen in the window, with churn', () => {
    // 20-minute window in 2-minute slices, as by default. 300,000 series are live at any time; every 2 minutes
    // 5% of them are replaced by new ones (a rolling deploy that never ends). Sending a series more than once in
    // a slice changes nothing, so each live series is added once per slice. After 50 minutes the window holds
    // the live series plus every one that churned out within it: ids [first of the oldest slice, last id).
    const sliceMs = 2 * MINUTE;
    const sketch = new SlicedSketch(sliceMs, 10);
    const live = 300_000;
    const churn = live * 0.05;
    const t0 = Date.UTC(2026, 0, 1);
    const slices = 25;
    // A cheaper stand-in for the series hash here (several million adds): two finalised halves of the id.
    for (let slice = 0; slice < slices; slice++) {
      const now = t0 + slice * sliceMs;
      const first = slice * churn;
      for (let id = first; id < first + live; id++)
        sketch.add(fmix32(id), fmix32((id ^ 0x5bd1e995) >>> 0), now);
    }
    const now = t0 + (slices - 1) * sliceMs;
    const exact = live + 10 * churn;
    expect(relativeError(sketch.estimate(now), exact)).toBeLessThan(0.02);
    // A minute into the next slice the oldest slice has left: the churned series of one slice fewer.
    const next = sketch.estimate(now + sliceMs + MINUTE);
    expect(relativeError(next, live + 9 * churn)).toBeLessThan(0.02);
  }, 120_000);

  it('forgets series that stopped once their slices leave the window', () => {
    const sliceMs = 2 * MINUTE;
    const sketch = new SlicedSketch(sliceMs, 10);
    const t0 = Date.UTC(2026, 0, 1);
    for (let id = 0; id < 100_000; id++) {
      const [hi, lo] = seriesHash(id);
      sketch.add(hi, lo, t0);
    }
    for (let id = 100_000; id < 150_000; id++) {
      const [hi, lo] = seriesHash(id);
      sketch.add(hi, lo, t0 + 15 * MINUTE);
    }
    expect(relativeError(sketch.estimate(t0 + 16 * MINUTE), 150_000)).toBeLessThan(0.02);
    // 22 minutes on, the first 100,000 are out of the window; the last 50,000 are still in.
    expect(relativeError(sketch.estimate(t0 + 22 * MINUTE), 50_000)).toBeLessThan(0.02);
    expect(sketch.sweep(t0 + 40 * MINUTE)).toBe(true);
    expect(sketch.estimate(t0 + 40 * MINUTE)).toBe(0);
    expect(sketch.bytes).toBe(0);
  });
});
