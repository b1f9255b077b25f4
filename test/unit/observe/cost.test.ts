// Cost attribution arithmetic: accepted items per million and accepted bytes per GiB at the configured prices.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTES_PER_GIB, costOf, roundMoney } from '../../../src/observe/insight/cost.js';

const PRICES = { perMillionSamples: 0.25, perGiB: 0.09, currency: 'EUR' };

describe('costOf', () => {
  it('charges items per million and bytes per GiB', () => {
    expect(costOf({ samples: 4_000_000, bytes: 0 }, PRICES)).toEqual({
      samplesCost: 1,
      bytesCost: 0,
      total: 1,
    });
    expect(costOf({ samples: 0, bytes: 10 * BYTES_PER_GIB }, PRICES)).toEqual({
      samplesCost: 0,
      bytesCost: 0.9,
      total: 0.9,
    });
    // 2.5M items at 0.25/M = 0.625, half a GiB at 0.09/GiB = 0.045.
    expect(costOf({ samples: 2_500_000, bytes: BYTES_PER_GIB / 2 }, PRICES)).toEqual({
      samplesCost: 0.625,
      bytesCost: 0.045,
      total: 0.67,
    });
  });

  it('costs nothing at zero prices, the default', () => {
    expect(
      costOf({ samples: 1e12, bytes: 1e15 }, { perMillionSamples: 0, perGiB: 0, currency: 'USD' }),
    ).toEqual({
      samplesCost: 0,
      bytesCost: 0,
      total: 0,
    });
  });

  it('shows decimal amounts without floating-point noise', () => {
    // 0.1 + 0.2 in binary floating point is 0.30000000000000004.
    const c = costOf(
      { samples: 1_000_000, bytes: BYTES_PER_GIB },
      { perMillionSamples: 0.1, perGiB: 0.2, currency: 'USD' },
    );
    expect(c.total).toBe(0.3);
    expect(roundMoney(0.1 + 0.2)).toBe(0.3);
  });

  it('is additive: the cost of two periods is the sum of their costs (property)', () => {
    const usage = fc.record({ samples: fc.nat(1e12), bytes: fc.nat(1e13) });
    const price = fc.double({ min: 0, max: 1000, noNaN: true });
    fc.assert(
      fc.property(usage, usage, price, price, (a, b, ps, pb) => {
        const prices = { perMillionSamples: ps, perGiB: pb, currency: 'USD' };
        const whole = costOf({ samples: a.samples + b.samples, bytes: a.bytes + b.bytes }, prices);
        const parts = costOf(a, prices).total + costOf(b, prices).total;
        expect(Math.abs(whole.total - parts)).toBeLessThanOrEqual(1e-8 + 1e-12 * whole.total);
        expect(whole.total).toBeGreaterThanOrEqual(0);
        expect(Math.abs(whole.samplesCost + whole.bytesCost - whole.total)).toBeLessThanOrEqual(
          2e-9 + 1e-12 * whole.total,
        );
      }),
    );
  });
});
