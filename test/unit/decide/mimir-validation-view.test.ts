// The name, time and native histogram checks read a request series by series, but a request they find valid is
// decided as measured: mimirView answers undefined, so what needs a request left whole (selective filtering, the
// untouched forward) still applies to it.

import snappy from 'snappy';
import { describe, expect, it } from 'vitest';

import { mimirView } from '../../../src/decide/mimir-rules.js';
import { LIMIT_DEFINITIONS } from '../../../src/limits/limit-definitions.js';
import type { ResolvedTenant } from '../../../src/limits/tenant-limits.js';
import { measureBody, selectDecoder } from '../../../src/remote-write/index.js';
import type { Rw2SeriesSpec } from '../../helpers/rw2-request.js';
import { RW2_CONTENT_TYPE, encodeRw2, rw2Request } from '../../helpers/rw2-request.js';

const tenant = {
  limits: Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])),
  enforcement: { enabled: true, limits: {} },
  hasOverrides: false,
} as unknown as ResolvedTenant;

function viewOf(series: Rw2SeriesSpec[]): ReturnType<typeof mimirView> {
  const decoder = selectDecoder('/api/v1/push', RW2_CONTENT_TYPE, 'snappy');
  if ('unsupported' in decoder) throw new Error(decoder.unsupported);
  const measured = measureBody(decoder, snappy.compressSync(encodeRw2(rw2Request(series))), 1 << 20);
  return mimirView(tenant, measured, false);
}

describe('mimirView after the validation checks', () => {
  it('decides a valid request with native histograms as measured', () => {
    expect(
      viewOf([{ labels: { __name__: 'h', job: 'a' }, samples: 0, histogramList: [{ schema: 3 }] }]),
    ).toBe(undefined);
  });

  it('decides a valid request with non-ASCII values as measured', () => {
    expect(viewOf([{ labels: { __name__: 'up', city: 'Zürich' } }])).toBe(undefined);
  });

  it('still refuses an invalid histogram series, forwarding the rest', () => {
    const view = viewOf([
      { labels: { __name__: 'h', job: 'a' }, samples: 0, histogramList: [{ schema: 9 }] },
      { labels: { __name__: 'up', job: 'a' } },
    ]);
    expect(view?.partial?.refusal?.errorId).toBe('err-mimir-invalid-native-histogram-schema');
    expect(view?.info.series).toBe(1);
  });
});
