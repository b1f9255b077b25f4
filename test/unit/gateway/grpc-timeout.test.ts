// grpc-timeout as the gRPC HTTP/2 protocol spells it: 1 to 8 ASCII digits and one unit (H M S m u n).
// Anything else is not a deadline (the call keeps GRPC_RECEIVE_TIMEOUT only), and nothing throws.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGrpcTimeout } from '../../../src/gateway/grpc/grpc-incoming-call.js';

const UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

describe('parseGrpcTimeout', () => {
  it('reads every well-formed value as milliseconds (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99_999_999 }),
        fc.constantFrom(...Object.keys(UNITS)),
        fc.integer({ min: 0, max: 7 }),
        (n, unit, pad) => {
          const digits = String(n).padStart(Math.min(8, String(n).length + pad), '0');
          expect(parseGrpcTimeout(digits + unit)).toBeCloseTo(n * UNITS[unit]!, 6);
        },
      ),
    );
  });

  it('answers -1 for anything else, never throwing (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        const v = parseGrpcTimeout(s);
        if (!/^\d{1,8}[HMSmun]$/.test(s)) expect(v).toBe(-1);
      }),
    );
    expect(parseGrpcTimeout('123456789S')).toBe(-1);
    expect(parseGrpcTimeout('1.5S')).toBe(-1);
    expect(parseGrpcTimeout('S')).toBe(-1);
    expect(parseGrpcTimeout(undefined)).toBe(-1);
    expect(parseGrpcTimeout(['1S', '2S'])).toBe(-1);
  });
});
