// The compact store against a Map model: any sequence of inserts, deletes, sweeps and growth keeps every
// key's state, forgets exactly what expired, and holds a million keys in well under 100 bytes each.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompactStore } from '../../../../src/lib/engine/compact-store.js';
import { RateLimiter } from '../../../../src/index.js';

type Op =
  | { op: 'put'; key: number; value: number; expiry: number }
  | { op: 'delete'; key: number }
  | { op: 'sweep'; now: number; max: number };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant('put' as const),
      key: fc.integer({ min: 0, max: 300 }),
      value: fc.double({ noNaN: true }),
      expiry: fc.integer({ min: 0, max: 100 }),
    }),
    fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 300 }) }),
    fc.record({
      op: fc.constant('sweep' as const),
      now: fc.integer({ min: 0, max: 100 }),
      max: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 40 })),
    }),
  ),
  { maxLength: 400 },
);

describe('compact store (property)', () => {
  it('behaves like a Map with expiry under any sequence of operations', () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const store = new CompactStore(1, 4);
        const model = new Map<string, { value: number; expiry: number }>();
        for (const o of sequence) {
          if (o.op === 'put') {
            const key = `key-${o.key}`;
            const pos = store.findOrCreate(key);
            expect(store.created).toBe(!model.has(key));
            store.rows[pos] = o.expiry;
            store.rows[pos + 1] = o.value;
            model.set(key, { value: o.value, expiry: o.expiry });
          } else if (o.op === 'delete') {
            const key = `key-${o.key}`;
            const pos = store.find(key);
            expect(pos >= 0).toBe(model.has(key));
            if (pos >= 0) store.delete(pos);
            model.delete(key);
          } else {
            const seen: number[] = [];
            const dropped = store.sweep(o.now, o.max, (s, pos) => seen.push(s[pos + 1]!));
            expect(seen.length).toBe(dropped);
            if (o.max === Infinity) {
              for (const [k, v] of model) if (v.expiry <= o.now) model.delete(k);
            } else {
              // A partial sweep forgets only expired keys; sync the model with what is left.
              for (const [k, v] of model)
                if (store.find(k) < 0) {
                  expect(v.expiry).toBeLessThanOrEqual(o.now);
                  model.delete(k);
                }
            }
          }
          expect(store.size).toBe(model.size);
        }
        for (const [k, v] of model) {
          const pos = store.find(k);
          expect(pos).toBeGreaterThanOrEqual(0);
          expect(store.rows[pos + 1]).toBe(v.value);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('holds a million keys in under 100 bytes each, and a sweep forgets them all once they are fresh again', () => {
    const limiter = new RateLimiter({ algorithm: 'token_bucket', rate: 10, burst: 100 });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 1_000_000; i++) limiter.check(`user:${i}`, t0);
    expect(limiter.size).toBe(1_000_000);
    expect(limiter.bytes / limiter.size).toBeLessThan(100);
    // Each bucket spent 1 token: it is full again 100 ms later, and not before.
    expect(limiter.sweep(t0 + 50)).toBe(0);
    expect(limiter.check('user:42', t0 + 50).remaining).toBe(98);
    expect(limiter.sweep(t0 + 200)).toBe(1_000_000);
    expect(limiter.size).toBe(0);
  });

  it('keeps distinct keys apart (no two of 200,000 similar keys share state)', () => {
    const limiter = new RateLimiter({ algorithm: 'fixed_window', limit: 1, window: '1h' });
    for (let i = 0; i < 200_000; i++)
      expect(limiter.check(`10.0.${i >> 8}.${i & 255}`, 0).allowed).toBe(true);
    expect(limiter.size).toBe(200_000);
  });
});
