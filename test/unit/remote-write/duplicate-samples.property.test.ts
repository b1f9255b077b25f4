// Duplicate sample timestamps, as Mimir's validateSamples drops them: the scanners' flag must never miss a
// series that repeats a timestamp (a miss would charge what Mimir drops), and duplicateSamples must count
// exactly the samples whose timestamp an earlier sample of the same series has, for RW1 and RW2.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { duplicateSamples, scanWriteRequest, scanWriteRequestV2 } from '../../../src/remote-write/index.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

/** Samples repeating an earlier timestamp of their series, from the arrays alone. */
function oracle(series: number[][]): number[] {
  return series.map((ts) => ts.length - new Set(ts).size);
}

// Offsets from the helpers' base time; a small range makes repeats common.
const seriesArb = fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 6 }), { maxLength: 6 });

describe('duplicate sample timestamps (property)', () => {
  for (const format of ['prw1', 'prw2'] as const) {
    it(`flags every body with a repeat and counts each series' repeats exactly (${format})`, () => {
      fc.assert(
        fc.property(seriesArb, (all) => {
          const specs = all.map((timestamps, i) => ({ labels: { __name__: 'm', i: String(i) }, timestamps }));
          const body =
            format === 'prw1' ? encodeWriteRequest(writeRequest(specs)) : encodeRw2(rw2Request(specs));
          const info = format === 'prw1' ? scanWriteRequest(body, 0) : scanWriteRequestV2(body, 0);
          const expected = oracle(all);
          if (expected.some((n) => n > 0)) expect(info.samplesOutOfOrder).toBe(true);
          const increasing = all.every((ts) => ts.every((t, i) => i === 0 || t > ts[i - 1]!));
          if (increasing) expect(info.samplesOutOfOrder).toBeUndefined();
          expect(Array.from(duplicateSamples(body, format, info.series))).toEqual(expected);
        }),
      );
    });
  }
});
