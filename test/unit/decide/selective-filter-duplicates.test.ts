// Selective filtering costs a part as Mimir charges it: a float sample or a native histogram repeating a timestamp
// of its series is kept once by Mimir (pkg/distributor/distributor.go validateSamples and validateHistograms;
// distributor_test.go TestDistributor_SampleDuplicateTimestamp), so it costs nothing in a part either, and a request
// whose only difference from its measure is such duplicates stays whole, open to selective filtering.

import { describe, expect, it } from 'vitest';

import { mimirView } from '../../../src/decide/mimir-rules.js';
import { LIMIT_DEFINITIONS } from '../../../src/limits/limit-definitions.js';
import type { LimitName, LimitValue } from '../../../src/limits/limit-definitions.js';
import type { ResolvedTenant } from '../../../src/limits/tenant-limits.js';
import { fittingPrefix, scanWriteRequest, scanWriteRequestV2 } from '../../../src/remote-write/index.js';
import type { MeasuredBody } from '../../../src/remote-write/index.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

const BASE = 1_700_000_000_000;

function tenant(): ResolvedTenant {
  const limits = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])) as Record<
    LimitName,
    LimitValue
  >;
  return {
    limits: limits as ResolvedTenant['limits'],
    enforcement: { enabled: true, limits: {} },
    hasOverrides: false,
  };
}

describe('selective filtering and samples Mimir keeps once', () => {
  const rw2 = encodeRw2(
    rw2Request([
      {
        labels: { __name__: 'h', job: 'a' },
        samples: 0,
        histogramList: [{ offset: 1 }, { offset: 1 }, { offset: 1 }],
      },
      { labels: { __name__: 'f', job: 'a' }, timestamps: [5, 5] },
      { labels: { __name__: 'g', job: 'a' }, samples: 1 },
    ]),
  );
  const rw2Info = scanWriteRequestV2(rw2, rw2.length);

  it('costs a part its distinct float and histogram timestamps (RW2)', () => {
    const fit = fittingPrefix(rw2, rw2Info, false, 2);
    expect(Array.from(fit.keep)).toEqual([1, 1, 0]);
    expect(fit.cost).toBe(2);
    expect(fit.info).toMatchObject({ series: 2, floatSamples: 1, histogramSamples: 1 });
  });

  it('costs a part its distinct timestamps (RW1), histograms and floats apart', () => {
    const body = encodeWriteRequest(
      writeRequest([
        {
          labels: { __name__: 'a', job: 'a' },
          timestamps: [10, 10],
          histogramList: [{ offset: 10 }, { offset: 10 }],
        },
        { labels: { __name__: 'b', job: 'a' }, timestamps: [10] },
      ]),
    );
    const info = scanWriteRequest(body, body.length);
    const fit = fittingPrefix(body, info, false, 2);
    expect(Array.from(fit.keep)).toEqual([1, 0]);
    expect(fit.cost).toBe(2);
    const all = fittingPrefix(body, info, false, Infinity);
    expect(all.cost).toBe(3);
  });

  it('leaves a request with only duplicates whole (countsOnly), charged its distinct samples', () => {
    const measured: MeasuredBody = {
      info: rw2Info,
      decoded: rw2,
      describeSeries: () => "series: 'x'",
    };
    const view = mimirView(tenant(), measured, false, undefined, BASE + 60_000);
    expect(view?.countsOnly).toBe(true);
    expect(view?.partial).toBeUndefined();
    expect(view?.info).toMatchObject({ floatSamples: 2, histogramSamples: 1 });
  });
});
