// Mimir's name validation in the exact pass (series-filter.ts), against an oracle written from
// prometheus/common's rules: legacy metric names [a-zA-Z_:][a-zA-Z0-9_:]*, legacy label names [a-zA-Z_][a-zA-Z0-9_]*,
// utf8 names any non-empty UTF-8; a series whose names fail is refused, one whose names pass is kept.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { filterSeries, scanWriteRequest, scanWriteRequestV2 } from '../../../src/remote-write/index.js';
import type { NameScheme, SeriesRules } from '../../../src/remote-write/index.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

const LEGACY_METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function oracle(metric: string, label: string, scheme: NameScheme): 'ok' | string {
  if (metric === '') return 'missing_metric_name';
  if (scheme === 'legacy' ? !LEGACY_METRIC.test(metric) : false) return 'metric_name_invalid';
  if (scheme === 'legacy' ? !LEGACY_LABEL.test(label) : label === '') return 'label_invalid';
  return 'ok';
}

// Names from characters that matter: letters, digits, '_', ':', '.', '-', ' ', and a non-ASCII letter.
const nameArb = fc
  .array(fc.constantFrom('a', 'Z', '0', '9', '_', ':', '.', '-', ' ', 'é'), { maxLength: 5 })
  .map((chars) => chars.join(''));

const rules = (nameScheme: NameScheme): SeriesRules => ({
  maxLabelNames: 0,
  maxLabelNamesPerInfoSeries: 0,
  maxLabelNameLength: 0,
  maxLabelValueLength: 0,
  exemplarsCharged: false,
  maxExemplarsPerSeries: 0,
  nameScheme,
});

describe('name validation in the exact pass (property)', () => {
  for (const format of ['prw1', 'prw2'] as const) {
    it(`refuses exactly the series whose names the scheme refuses (${format})`, () => {
      fc.assert(
        fc.property(
          nameArb,
          nameArb,
          fc.constantFrom<NameScheme>('legacy', 'utf8'),
          (metric, label, scheme) => {
            // A label named like __name__ would repeat it: keep the two names apart.
            fc.pre(label !== '__name__');
            const labels: Record<string, string> = { __name__: metric, [label]: 'v' };
            const specs = [{ labels }];
            const body =
              format === 'prw1' ? encodeWriteRequest(writeRequest(specs)) : encodeRw2(rw2Request(specs));
            const info = format === 'prw1' ? scanWriteRequest(body, 0) : scanWriteRequestV2(body, 0);
            const filtered = filterSeries(body, info, rules(scheme));
            const expected = oracle(metric, label, scheme);
            expect(filtered.firstProblem?.kind ?? 'ok').toBe(expected);
            expect(filtered.keep[0]).toBe(expected === 'ok' ? 1 : 0);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
