// Attribute keys that Mimir's OTLP translation turns into one label name (prometheus otlptranslator
// prometheusremotewrite/helper.go createAttributes, run by pkg/distributor/otel.go): one label, the distinct values
// joined with ";", and an attribute named like a label the translation sets (job, instance, __name__, le, quantile)
// giving way to it. The protobuf exact pass (bytes) and the JSON one (parsed) must agree with a model of that.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  measureBody,
  otlpLabelExtremes,
  otlpLabelName,
  selectDecoder,
} from '../../../src/remote-write/index.js';
import type { Attributes, OtlpResourceSpec } from '../../helpers/otlp-request.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';

const KEYS = ['a.b', 'a_b', 'a-b', 'zone', 'job', 'instance', '__name__', 'le'];
const VALUES = ['x', 'y', 'long-value'];

const attributesArb: fc.Arbitrary<Attributes> = fc.dictionary(
  fc.constantFrom(...KEYS),
  fc.constantFrom(...VALUES),
  {
    maxKeys: KEYS.length,
  },
);

/** The model: label count and longest value of one gauge point under a resource with service.name `api`. */
function model(attributes: Attributes): { labels: number; value: number } {
  const fixed = new Set(['__name__', 'job']);
  const merged = new Map<string, string[]>();
  for (const [key, value] of Object.entries(attributes)) {
    const name = otlpLabelName(key);
    if (fixed.has(name)) continue;
    const values = merged.get(name);
    if (values === undefined) merged.set(name, [value]);
    else if (!(values.length === 1 && values[0] === value)) values.push(value);
  }
  let value = Math.max('api'.length, 'up'.length);
  for (const values of merged.values()) value = Math.max(value, values.join(';').length);
  return { labels: merged.size + fixed.size, value };
}

function extremes(format: 'otlp-proto' | 'otlp-json', attributes: Attributes) {
  const resources: OtlpResourceSpec[] = [
    {
      attributes: { 'service.name': 'api' },
      metrics: [{ name: 'up', kind: 'gauge', points: [{ attributes }] }],
    },
  ];
  const decoder = selectDecoder(
    '/otlp/v1/metrics',
    format === 'otlp-proto' ? 'application/x-protobuf' : 'application/json',
    '',
  );
  if ('unsupported' in decoder) throw new Error(decoder.unsupported);
  const request = otlpRequest(resources);
  const measured = measureBody(
    decoder,
    format === 'otlp-proto' ? encodeOtlpProto(request) : encodeOtlpJson(request),
    1 << 20,
  );
  return otlpLabelExtremes(measured.decoded, measured.info, new Set());
}

describe('OTLP attribute keys merged as Mimir translates them (property)', () => {
  it('counts one label per translated name, joins distinct values, and lets fixed labels win', () => {
    fc.assert(
      fc.property(attributesArb, (attributes) => {
        const want = model(attributes);
        for (const format of ['otlp-proto', 'otlp-json'] as const) {
          const x = extremes(format, attributes);
          expect(x.maxLabelNames, format).toBe(want.labels);
          expect(x.maxLabelValueLength, format).toBe(want.value);
        }
      }),
      { numRuns: 300 },
    );
  });
});
