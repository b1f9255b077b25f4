// The rate limit service's in-process fixed-window counters: exact counts within a window, a hard bound on
// how many counters exist (keys come from request values), expired counters making room when full, and a
// deny-safe answer (over every limit) for a counter that does not fit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FULL_STORE_TOTAL,
  InProcessWindowStore,
} from '../../../src/gateway/ratelimit/window-counter-store.js';

describe('InProcessWindowStore', () => {
  it('never holds more than its cap, and counts every key that fits exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 40 }),
            hits: fc.integer({ min: 1, max: 0xffff_ffff }),
            stepMs: fc.integer({ min: 0, max: 1500 }),
          }),
          { maxLength: 200 },
        ),
        (cap, ops) => {
          const store = new InProcessWindowStore(cap);
          const expected = new Map<number, { count: number; end: number }>();
          let now = 0;
          for (const op of ops) {
            now += op.stepMs;
            // One-second windows, as a `second` limit.
            const start = Math.floor(now / 1000) * 1000;
            const [total] = store.add(
              [{ key: `k${op.key}\u0000${start}`, windowEndMs: start + 1000 }],
              op.hits,
              now,
            );
            expect(store.size).toBeLessThanOrEqual(cap);
            if (total === FULL_STORE_TOTAL) continue;
            const e = expected.get(op.key);
            const count = e !== undefined && e.end === start + 1000 ? e.count + op.hits : op.hits;
            expected.set(op.key, { count, end: start + 1000 });
            expect(total).toBe(count);
          }
        },
      ),
    );
  });

  it('answers a new key over every limit when full, and makes room once windows have ended', () => {
    const store = new InProcessWindowStore(2);
    expect(store.add([{ key: 'a', windowEndMs: 1000 }], 1, 0)).toEqual([1]);
    expect(store.add([{ key: 'b', windowEndMs: 60_000 }], 1, 0)).toEqual([1]);
    expect(store.add([{ key: 'c', windowEndMs: 60_000 }], 1, 10)).toEqual([FULL_STORE_TOTAL]);
    expect(store.refused).toBe(1);
    // A key already held still counts while the store is full.
    expect(store.add([{ key: 'b', windowEndMs: 60_000 }], 2, 20)).toEqual([3]);
    // 'a' has ended: the next full-store scan (at most once a second) drops it and 'c' fits.
    expect(store.add([{ key: 'c', windowEndMs: 60_000 }], 1, 1500)).toEqual([1]);
    expect(store.size).toBe(2);
  });

  it('keeps a count exact under repeated 2^32 − 1 hits in a long window', () => {
    const store = new InProcessWindowStore(10);
    let total = 0;
    for (let i = 0; i < 5000; i++) total = store.add([{ key: 'y', windowEndMs: 1e12 }], 0xffff_ffff, 0)[0]!;
    expect(Number.isSafeInteger(total)).toBe(true);
    expect(total).toBe(5000 * 0xffff_ffff);
  });
});
