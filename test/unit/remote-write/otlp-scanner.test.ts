// Checks the OTLP protobuf and JSON scanners against an oracle that applies Mimir's OTLP translation rules to
// the objects that were encoded (by protobufjs from the published schema, and by JSON.stringify).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  BodyDecodeError,
  describeOtlpJsonSeries,
  describeOtlpSeries,
  scanOtlpJson,
  scanOtlpProto,
} from '../../../src/remote-write/index.js';
import type { OtlpMetricSpec, OtlpResourceSpec } from '../../helpers/otlp-request.js';
import {
  CUMULATIVE,
  DELTA,
  encodeOtlpJson,
  encodeOtlpProto,
  otlpRequest,
} from '../../helpers/otlp-request.js';

const text = fc.string({ unit: fc.constantFrom(...'abz_09.-'.split('')), minLength: 1, maxLength: 12 });
const attributes = fc.dictionary(text, text, { maxKeys: 5 });

const metricSpec: fc.Arbitrary<OtlpMetricSpec> = fc.record({
  name: text,
  kind: fc.constantFrom('gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'),
  temporality: fc.constantFrom(CUMULATIVE, CUMULATIVE, DELTA, 0),
  points: fc.array(
    fc.record({ attributes, exemplars: fc.nat(2), buckets: fc.nat(4), hasSum: fc.boolean() }),
    { maxLength: 3 },
  ),
});

const resourceSpec: fc.Arbitrary<OtlpResourceSpec> = fc.record({
  attributes: fc.oneof(
    attributes,
    fc.record({ 'service.name': text, 'service.instance.id': text }),
    fc.record({ 'service.name': text, 'service.namespace': text, 'host.name': text }),
  ),
  metrics: fc.array(metricSpec, { maxLength: 4 }),
});

interface Counts {
  series: number;
  floatSamples: number;
  histogramSamples: number;
  exemplars: number;
  metadata: number;
  maxLabelNames: number;
}

/** Mimir's OTLP translation (prometheusremotewrite + otlpappender), applied to the objects. */
function oracle(resources: OtlpResourceSpec[]): Counts {
  const c: Counts = {
    series: 0,
    floatSamples: 0,
    histogramSamples: 0,
    exemplars: 0,
    metadata: 0,
    maxLabelNames: 0,
  };
  const names = new Set<string>();
  let targetInfo = false;
  for (const r of resources) {
    const keys = Object.keys(r.attributes);
    const resourceLabels =
      (keys.includes('service.name') ? 1 : 0) + (keys.includes('service.instance.id') ? 1 : 0);
    const nonIdentifying = keys.filter(
      (k) => k !== 'service.name' && k !== 'service.namespace' && k !== 'service.instance.id',
    ).length;
    let resourceSamples = 0;
    for (const m of r.metrics) {
      const kept = m.kind === 'gauge' || m.kind === 'summary' || (m.temporality ?? CUMULATIVE) === CUMULATIVE;
      if (!kept || m.points.length === 0) continue;
      for (const p of m.points) {
        const base = Object.keys(p.attributes).length + resourceLabels + 1;
        let samples = 1;
        let labels = base;
        if (m.kind === 'histogram') {
          samples = (p.hasSum ? 1 : 0) + 1 + (p.buckets ?? 0) + 1;
          labels = base + 1;
        } else if (m.kind === 'summary') {
          samples = 2 + (p.buckets ?? 0);
          labels = base + ((p.buckets ?? 0) > 0 ? 1 : 0);
        }
        if (m.kind === 'exponentialHistogram') c.histogramSamples++;
        else c.floatSamples += samples;
        c.series += samples;
        if (m.kind !== 'summary') c.exemplars += p.exemplars ?? 0;
        c.maxLabelNames = Math.max(c.maxLabelNames, labels);
        resourceSamples += samples;
      }
      names.add(m.name);
    }
    if (nonIdentifying > 0 && resourceSamples > 0) {
      c.series++;
      c.floatSamples++;
      targetInfo = true;
      c.maxLabelNames = Math.max(c.maxLabelNames, nonIdentifying + resourceLabels + 1);
    }
  }
  c.metadata = names.size + (targetInfo ? 1 : 0);
  return c;
}

const pick = (info: Counts): Counts => ({
  series: info.series,
  floatSamples: info.floatSamples,
  histogramSamples: info.histogramSamples,
  exemplars: info.exemplars,
  metadata: info.metadata,
  maxLabelNames: info.maxLabelNames,
});

describe('OTLP scanners', () => {
  it('count a hand-built request as Mimir translates it', () => {
    const resources: OtlpResourceSpec[] = [
      {
        attributes: { 'service.name': 'api', 'service.instance.id': 'pod-1', 'k8s.cluster': 'eu' },
        metrics: [
          { name: 'requests', kind: 'sum', points: [{ attributes: { code: '200' }, exemplars: 1 }] },
          { name: 'latency', kind: 'histogram', points: [{ attributes: {}, buckets: 3, hasSum: true }] },
          { name: 'rpc', kind: 'summary', points: [{ attributes: {}, buckets: 2 }] },
          { name: 'native', kind: 'exponentialHistogram', points: [{ attributes: {} }] },
          { name: 'dropped', kind: 'sum', temporality: DELTA, points: [{ attributes: {} }] },
        ],
      },
    ];
    const request = otlpRequest(resources);
    const expected = {
      // sum 1 + histogram (sum, count, 3 buckets, +Inf) 6 + summary (sum, count, 2 quantiles) 4 + target_info 1
      floatSamples: 12,
      histogramSamples: 1,
      exemplars: 1,
      series: 13,
      metadata: 5, // requests, latency, rpc, native, target_info
      maxLabelNames: 4, // code + job + instance + __name__; k8s.cluster + job + instance + __name__ (target_info)
    };
    expect(scanOtlpProto(encodeOtlpProto(request), 1)).toMatchObject(expected);
    expect(scanOtlpJson(encodeOtlpJson(request), 1)).toMatchObject({ ...expected, format: 'otlp-json' });
  });

  it('match the translation rules for arbitrary requests, in protobuf and in JSON', () => {
    fc.assert(
      fc.property(fc.array(resourceSpec, { maxLength: 4 }), (resources) => {
        const request = otlpRequest(resources);
        const want = oracle(resources);
        expect(pick(scanOtlpProto(encodeOtlpProto(request), 1))).toEqual(want);
        expect(pick(scanOtlpJson(encodeOtlpJson(request), 1))).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('agree with each other on label extremes, and describe the series they point at', () => {
    fc.assert(
      fc.property(fc.array(resourceSpec, { minLength: 1, maxLength: 3 }), (resources) => {
        const request = otlpRequest(resources);
        const proto = encodeOtlpProto(request);
        const json = encodeOtlpJson(request);
        const a = scanOtlpProto(proto, 1);
        const b = scanOtlpJson(json, 1);
        expect({ ...a, format: '', bytesUncompressed: 0 }).toEqual({
          ...b,
          format: '',
          bytesUncompressed: 0,
        });
        for (const ordinal of [a.maxLabelNamesSeries, a.maxLabelNameSeries, a.maxLabelValueSeries]) {
          if (ordinal < 0) continue;
          expect(describeOtlpSeries(proto, ordinal)).toBe(describeOtlpJsonSeries(json, ordinal));
          expect(describeOtlpSeries(proto, ordinal)).toMatch(/^series: '.*'$/s);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('describe a point with its metric name, attributes and job/instance', () => {
    const request = otlpRequest([
      {
        attributes: { 'service.name': 'api', 'service.namespace': 'shop', 'service.instance.id': 'pod-1' },
        metrics: [{ name: 'http_requests', kind: 'gauge', points: [{ attributes: { route: '/cart' } }] }],
      },
    ]);
    const want = `series: 'http_requests{route="/cart", job="shop/api", instance="pod-1"}'`;
    expect(describeOtlpSeries(encodeOtlpProto(request), 0)).toBe(want);
    expect(describeOtlpJsonSeries(encodeOtlpJson(request), 0)).toBe(want);
  });

  it('measure a long attribute value and point at its series', () => {
    const long = 'x'.repeat(3000);
    const request = otlpRequest([
      {
        attributes: { 'service.name': 'api' },
        metrics: [
          { name: 'a', kind: 'gauge', points: [{ attributes: { ok: 'short' } }] },
          { name: 'b', kind: 'gauge', points: [{ attributes: { path: long } }] },
        ],
      },
    ]);
    const info = scanOtlpProto(encodeOtlpProto(request), 1);
    expect(info.maxLabelValueLength).toBe(3000);
    expect(info.maxLabelValueSeries).toBe(1);
    expect(describeOtlpSeries(encodeOtlpProto(request), 1)).toMatch(/^series: 'b\{path="x+…'$/);
  });

  it('read scalar attribute values as Mimir prints them', () => {
    const request = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'm',
                  gauge: {
                    dataPoints: [
                      {
                        asDouble: 1,
                        attributes: [
                          { key: 'i', value: { intValue: -1234567 } },
                          { key: 'b', value: { boolValue: false } },
                          { key: 'y', value: { bytesValue: Buffer.from('hello world').toString('base64') } },
                        ],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    // -1234567 has 8 characters; "hello world" in base64 has 16.
    expect(scanOtlpProto(encodeOtlpProto(request), 1).maxLabelValueLength).toBe(16);
    expect(scanOtlpJson(encodeOtlpJson(request), 1).maxLabelValueLength).toBe(16);
  });

  it('throw nothing but BodyDecodeError for corrupted valid protobuf bodies', () => {
    fc.assert(
      fc.property(
        fc.array(resourceSpec, { minLength: 1, maxLength: 2 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }),
        (resources, flips) => {
          const body = encodeOtlpProto(otlpRequest(resources));
          if (body.length === 0) return;
          for (const [at, byte] of flips) body[at % body.length] = byte;
          try {
            const info = scanOtlpProto(body, 1);
            for (const ordinal of [info.maxLabelNamesSeries, info.maxLabelValueSeries]) {
              if (ordinal >= 0) describeOtlpSeries(body, ordinal);
            }
          } catch (err) {
            expect(err).toBeInstanceOf(BodyDecodeError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('throw nothing but BodyDecodeError for random bytes and malformed JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const scan of [scanOtlpProto, scanOtlpJson]) {
          try {
            scan(bytes, 1);
          } catch (err) {
            expect(err).toBeInstanceOf(BodyDecodeError);
          }
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.json(), (json) => {
        try {
          scanOtlpJson(Buffer.from(json), 1);
        } catch (err) {
          expect(err).toBeInstanceOf(BodyDecodeError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('do not recurse into nested attribute values, however deep', () => {
    const depth = 100_000;
    const value = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}`;
    const json = `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"asDouble":1,"attributes":[{"key":"k","value":${value}}]}]}}]}]}]}`;
    try {
      expect(scanOtlpJson(Buffer.from(json), 1).floatSamples).toBe(1);
    } catch (err) {
      expect(err).toBeInstanceOf(BodyDecodeError);
    }
    // The same nesting in protobuf: AnyValue{array_value: ArrayValue{values: AnyValue{...}}}, built inside out.
    let any = Buffer.from([0x0a, 0x01, 0x78]); // string_value "x"
    for (let i = 0; i < 2000; i++) {
      const array = Buffer.concat([Buffer.from([0x0a]), varint(any.length), any]);
      any = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array]);
    }
    const keyValue = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12]), varint(any.length), any]);
    const point = Buffer.concat([Buffer.from([0x3a]), varint(keyValue.length), keyValue]);
    const gauge = Buffer.concat([Buffer.from([0x0a]), varint(point.length), point]);
    const metric = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6d, 0x2a]), varint(gauge.length), gauge]);
    const scope = Buffer.concat([Buffer.from([0x12]), varint(metric.length), metric]);
    const rm = Buffer.concat([Buffer.from([0x12]), varint(scope.length), scope]);
    const body = Buffer.concat([Buffer.from([0x0a]), varint(rm.length), rm]);
    const info = scanOtlpProto(body, 1);
    expect(info.floatSamples).toBe(1);
    expect(describeOtlpSeries(body, 0)).toMatch(/^series: 'm\{k="<\d+-byte value>"\}'$/);
  });
});

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}
