// Sample times, as Mimir's validateSample holds them to creation_grace_period and past_grace_period: the
// scanners' key bounds must contain every float sample's timestamp (a miss would forward and charge a series Mimir
// refuses), and sampleTimeVerdicts must refuse exactly the series with a sample past either bound.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  SAMPLE_KEY_MS,
  sampleTimeVerdicts,
  scanWriteRequest,
  scanWriteRequestV2,
} from '../../../src/remote-write/index.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

const BASE = 1_700_000_000_000;
// Offsets from the helpers' base time: back to 1970 and on to 2109 (six-byte varints and shorter ones).
const offsetArb = fc.oneof(
  fc.integer({ min: -BASE, max: 2 ** 42 - 1 - BASE }),
  fc.integer({ min: -100_000, max: 100_000 }),
);
const seriesArb = fc.array(fc.array(offsetArb, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 5,
});

function bodyOf(format: 'prw1' | 'prw2', all: number[][]): Uint8Array {
  const specs = all.map((timestamps, i) => ({ labels: { __name__: 'm', i: String(i) }, timestamps }));
  return format === 'prw1' ? encodeWriteRequest(writeRequest(specs)) : encodeRw2(rw2Request(specs));
}

describe('sample time bounds (property)', () => {
  for (const format of ['prw1', 'prw2'] as const) {
    it(`bounds every sample's time in the scan (${format})`, () => {
      fc.assert(
        fc.property(seriesArb, (all) => {
          const info =
            format === 'prw1'
              ? scanWriteRequest(bodyOf(format, all), 0)
              : scanWriteRequestV2(bodyOf(format, all), 0);
          const times = all.flat().map((o) => BASE + o);
          const min = info.minSampleTimeKey!;
          const max = info.maxSampleTimeKey!;
          // -1: some time was not read in the scan, and the exact pass reads them all.
          if (min >= 0) expect(min * SAMPLE_KEY_MS).toBeLessThanOrEqual(Math.min(...times));
          expect((max + 1) * SAMPLE_KEY_MS - 1).toBeGreaterThanOrEqual(Math.max(...times));
          // The bound is tight: within one key of the newest time.
          expect(max).toBe(Math.floor(Math.max(...times) / SAMPLE_KEY_MS));
        }),
      );
    });

    it(`refuses exactly the series with a sample past a bound (${format})`, () => {
      fc.assert(
        fc.property(seriesArb, offsetArb, offsetArb, (all, a, b) => {
          const latest = BASE + Math.max(a, b);
          const earliest = BASE + Math.min(a, b);
          const body = bodyOf(format, all);
          const verdicts = sampleTimeVerdicts(body, format, all.length, latest, earliest);
          all.forEach((offsets, i) => {
            const first = offsets.map((o) => BASE + o).find((t) => t > latest || t < earliest);
            expect(verdicts.verdict[i]).toBe(first === undefined ? 0 : first > latest ? 1 : 2);
            if (first !== undefined) expect(verdicts.timestamp[i]).toBe(first);
          });
        }),
      );
    });
  }
});
