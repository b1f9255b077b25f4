// The OTLP scanners' point-time bounds (otlp-point-times.ts) must bound every point's time as Mimir reads it
// (int64(time_unix_nano) / 10^6 ms), or the grace-period checks would skip a point Mimir refuses
// (pkg/distributor/validate.go validateSample).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { SAMPLE_KEY_MS } from '../../../src/remote-write/index.js';
import { jsonTimeMs, nanosToMs, otlpTimeKeys } from '../../../src/remote-write/otlp-point-times.js';

const ns = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });

describe('OTLP point time bounds', () => {
  it('the protobuf keys from the top 32 bits bound the earliest and latest point in ms', () => {
    fc.assert(
      fc.property(fc.array(ns, { minLength: 1, maxLength: 8 }), (times) => {
        const his = times.map((t) => Number(t >> 32n));
        const { minSampleTimeKey, maxSampleTimeKey } = otlpTimeKeys(Math.min(...his), Math.max(...his));
        for (const t of times) {
          const ms = nanosToMs(t);
          expect(ms).toBeGreaterThanOrEqual(minSampleTimeKey * SAMPLE_KEY_MS);
          expect(ms).toBeLessThanOrEqual((maxSampleTimeKey + 1) * SAMPLE_KEY_MS - 1);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a JSON timeUnixNano exactly as Mimir divides it', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 9_999_999_999_999_999_999n }), (t) => {
        const text = Buffer.from(t.toString());
        expect(jsonTimeMs(text, 0, text.length)).toBe(Number(t / 1_000_000n));
      }),
    );
    expect(jsonTimeMs(Buffer.from('1.5'), 0, 3)).toBe(-1);
    expect(jsonTimeMs(Buffer.from(''), 0, 0)).toBe(-1);
  });

  it('turns nanoseconds past 2^63 into the negative int64 Mimir reads', () => {
    expect(nanosToMs(1_700_000_000_123_456_789n)).toBe(1_700_000_000_123);
    expect(nanosToMs((1n << 64n) - 1_000_000n)).toBe(-1);
  });
});
