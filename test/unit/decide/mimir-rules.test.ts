// Mimir's per-series rules at the edge: which series are kept and which error is reported must match an oracle
// written from Mimir's validateLabels (empty values removed first, count before lengths, labels in name order,
// the first invalid series in body order), for RW1 and RW2 alike; and the new limits read as Mimir writes them.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { filterSeries, scanWriteRequest, scanWriteRequestV2 } from '../../../src/remote-write/index.js';
import type { SeriesProblemKind, SeriesRules } from '../../../src/remote-write/index.js';
import { parseOverrides } from '../../../src/limits/overrides-file.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

type Labels = Record<string, string>;

/** What Mimir does with one series' labels, from the objects alone. */
function oracle(labels: Labels, rules: SeriesRules): 'dropped' | 'kept' | SeriesProblemKind {
  const effective = Object.entries(labels).filter(([, v]) => v !== '');
  if (effective.length === 0) return 'dropped';
  if (rules.maxLabelNames > 0 && effective.length > rules.maxLabelNames) {
    // Mimir's validateLabels: an info series over the per-series limit is held to the info limit instead.
    if (!(labels.__name__ ?? '').endsWith('_info')) return 'max_label_names_per_series';
    const infoLimit = rules.maxLabelNamesPerInfoSeries;
    if (infoLimit > 0 && effective.length > infoLimit) return 'max_label_names_per_info_series';
  }
  effective.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const [name, value] of effective) {
    if (rules.maxLabelNameLength > 0 && Buffer.byteLength(name) > rules.maxLabelNameLength)
      return 'max_label_name_length';
    if (rules.maxLabelValueLength > 0 && Buffer.byteLength(value) > rules.maxLabelValueLength)
      return 'max_label_value_length';
  }
  return 'kept';
}

const text = fc.string({ unit: fc.constantFrom(...'abz_Zé:'.split('')), maxLength: 7 });
const labelsArb = fc
  .tuple(
    fc.dictionary(text, text, { maxKeys: 5 }),
    fc.option(fc.constantFrom('up', 'target_info', 'a_info', '_info', 'info', 'a_inf'), { nil: undefined }),
  )
  .map(([labels, name]) => (name === undefined ? labels : { ...labels, __name__: name }));
const rulesArb: fc.Arbitrary<SeriesRules> = fc.record({
  maxLabelNames: fc.nat(5),
  maxLabelNamesPerInfoSeries: fc.nat(7),
  maxLabelNameLength: fc.nat(6),
  maxLabelValueLength: fc.nat(6),
  exemplarsCharged: fc.boolean(),
  maxExemplarsPerSeries: fc.nat(3),
});

describe('filterSeries against an oracle of Mimir’s validateLabels (property)', () => {
  for (const format of ['prw1', 'prw2'] as const) {
    it(`keeps and reports exactly what Mimir would (${format})`, () => {
      fc.assert(
        fc.property(fc.array(labelsArb, { maxLength: 8 }), rulesArb, (allLabels, rules) => {
          const series = allLabels.map((labels) => ({ labels, samples: 1 }));
          const body =
            format === 'prw1' ? encodeWriteRequest(writeRequest(series)) : encodeRw2(rw2Request(series));
          const measured = format === 'prw1' ? scanWriteRequest(body, 0) : scanWriteRequestV2(body, 0);
          const result = filterSeries(body, measured, rules);
          const verdicts = allLabels.map((l) => oracle(l, rules));
          expect(Array.from(result.keep)).toEqual(verdicts.map((v) => (v === 'kept' ? 1 : 0)));
          const first = verdicts.findIndex((v) => v !== 'kept' && v !== 'dropped');
          if (first < 0) {
            expect(result.firstProblem).toBeUndefined();
          } else {
            expect(result.firstProblem).toMatchObject({ series: first, kind: verdicts[first] });
          }
          expect(result.kept.series).toBe(verdicts.filter((v) => v === 'kept').length);
          expect(result.kept.floatSamples).toBe(result.kept.series);
        }),
      );
    });
  }

  it('charges exemplars only when enabled, and at most the per-series cap', () => {
    const body = encodeWriteRequest(
      writeRequest([
        { labels: { __name__: 'a' }, exemplars: 5 },
        { labels: { __name__: 'b' }, exemplars: 1 },
      ]),
    );
    const measured = scanWriteRequest(body, 0);
    const base = {
      maxLabelNames: 0,
      maxLabelNamesPerInfoSeries: 0,
      maxLabelNameLength: 0,
      maxLabelValueLength: 0,
    };
    expect(
      filterSeries(body, measured, { ...base, exemplarsCharged: false, maxExemplarsPerSeries: 0 }).kept
        .exemplars,
    ).toBe(0);
    expect(
      filterSeries(body, measured, { ...base, exemplarsCharged: true, maxExemplarsPerSeries: 0 }).kept
        .exemplars,
    ).toBe(6);
    expect(
      filterSeries(body, measured, { ...base, exemplarsCharged: true, maxExemplarsPerSeries: 2 }).kept
        .exemplars,
    ).toBe(3);
  });
});

describe('the limits behind Mimir’s rules, in the overrides file', () => {
  it('reads label_value_length_over_limit_strategy and partial_acceptance as Mimir and the edge write them', () => {
    const parsed = parseOverrides(
      `overrides:
  t:
    label_value_length_over_limit_strategy: truncate
    partial_acceptance: false
    max_global_exemplars_per_user: 5000
    max_exemplars_per_series_per_request: 2
`,
      'overrides.yaml',
    );
    expect(parsed.tenants.get('t')).toEqual({
      label_value_length_over_limit_strategy: 1,
      partial_acceptance: 0,
      max_global_exemplars_per_user: 5000,
      max_exemplars_per_series_per_request: 2,
    });
  });

  it('refuses a strategy Mimir does not know, naming the accepted ones', () => {
    expect(() =>
      parseOverrides('overrides:\n  t:\n    label_value_length_over_limit_strategy: cut\n', 'overrides.yaml'),
    ).toThrow(/must be one of error, truncate, drop, got "cut"/);
  });
});
