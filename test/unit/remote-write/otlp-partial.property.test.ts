// OTLP partial acceptance: the body that goes upstream without the refused data points. Re-encoding must keep
// exactly the points not refused, in order and byte for byte (the same bytes protobufjs writes for the request
// without them), leave out a metric, scope or resource that keeps no point, and the edge must charge exactly the
// items of the points kept. filterOtlp must forward only series within the limits and refuse the others.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterOtlp, measureBody, selectDecoder } from '../../../src/remote-write/index.js';
import { reencodeOtlpJson } from '../../../src/remote-write/otlp-json-reencode.js';
import { scanOtlpJson } from '../../../src/remote-write/otlp-json-scanner.js';
import { reencodeOtlpProto } from '../../../src/remote-write/otlp-proto-reencode.js';
import { scanOtlpProto } from '../../../src/remote-write/otlp-proto-scanner.js';
import type { Attributes, OtlpMetricSpec, OtlpResourceSpec } from '../../helpers/otlp-request.js';
import {
  CUMULATIVE,
  DELTA,
  encodeOtlpJson,
  encodeOtlpProto,
  otlpRequest,
  otlpRequestType,
} from '../../helpers/otlp-request.js';

const RESOURCE_KEYS = ['service.name', 'service.instance.id', 'host.id', 'region.name'];
const POINT_KEYS = ['pod', 'zone', 'code', 'a_rather_long_attribute_name'];

const attributesArb = (keys: string[]): fc.Arbitrary<Attributes> =>
  fc.dictionary(fc.constantFrom(...keys), fc.string({ minLength: 0, maxLength: 12 }), {
    maxKeys: keys.length,
  });

const resourcesArb: fc.Arbitrary<OtlpResourceSpec[]> = fc.array(
  fc.record({
    attributes: attributesArb(RESOURCE_KEYS),
    metrics: fc.array(
      fc.record({
        name: fc.constantFrom('up', 'http_requests', 'latency', 'queue'),
        kind: fc.constantFrom(
          'gauge' as const,
          'sum' as const,
          'histogram' as const,
          'exponentialHistogram' as const,
          'summary' as const,
        ),
        temporality: fc.constantFrom(CUMULATIVE, CUMULATIVE, DELTA),
        points: fc.array(
          fc.record({
            attributes: attributesArb(POINT_KEYS),
            buckets: fc.integer({ min: 0, max: 3 }),
            hasSum: fc.boolean(),
            exemplars: fc.integer({ min: 0, max: 2 }),
          }),
          { minLength: 0, maxLength: 3 },
        ),
      }),
      { minLength: 0, maxLength: 3 },
    ),
  }),
  { minLength: 1, maxLength: 3 },
);

/** Whether the scanner numbers the points of `m` (gauges, summaries, cumulative sums and histograms). */
const counted = (m: OtlpMetricSpec): boolean =>
  m.kind === 'gauge' || m.kind === 'summary' || (m.temporality ?? CUMULATIVE) === CUMULATIVE;

/** The request without the points whose ordinal `keep` refuses; containers that lose every point go too. */
function keptSpec(resources: OtlpResourceSpec[], keep: (ordinal: number) => boolean): OtlpResourceSpec[] {
  let ordinal = 0;
  const out: OtlpResourceSpec[] = [];
  for (const r of resources) {
    let lost = false;
    const metrics: OtlpMetricSpec[] = [];
    for (const m of r.metrics) {
      if (!counted(m)) {
        metrics.push(m);
        continue;
      }
      const points = m.points.filter(() => keep(ordinal++));
      if (points.length < m.points.length) lost = true;
      if (points.length > 0 || m.points.length === 0) metrics.push({ ...m, points });
    }
    ordinal++; // the resource's target_info
    const pointsLeft = metrics.some((m) => m.points.length > 0);
    if (!lost || pointsLeft) out.push({ attributes: r.attributes, metrics });
  }
  return out;
}

/** The items Mimir charges for a request, counted from its spec (not by the scanner): samples, exemplars, metadata. */
function itemsOf(resources: OtlpResourceSpec[]): number {
  let items = 0;
  const names = new Set<string>();
  let targetInfo = false;
  for (const r of resources) {
    let points = 0;
    for (const m of r.metrics) {
      if (!counted(m)) continue;
      for (const p of m.points) {
        points++;
        names.add(m.name);
        const n = p.buckets ?? 0;
        if (m.kind === 'histogram') items += (p.hasSum ? 1 : 0) + 1 + n + 1 + (p.exemplars ?? 0);
        else if (m.kind === 'summary') items += 2 + n;
        else items += 1 + (p.exemplars ?? 0);
      }
    }
    const nonService = Object.keys(r.attributes).some((k) => !k.startsWith('service.'));
    if (nonService && points > 0) {
      items++;
      targetInfo = true;
    }
  }
  return items + names.size + (targetInfo ? 1 : 0);
}

function ordinalsOf(resources: OtlpResourceSpec[]): number {
  let n = 0;
  for (const r of resources) {
    for (const m of r.metrics) if (counted(m)) n += m.points.length;
    n++;
  }
  return n;
}

type Format = 'otlp-proto' | 'otlp-json';
const encode = (format: Format, resources: OtlpResourceSpec[]): Buffer =>
  format === 'otlp-proto' ? encodeOtlpProto(otlpRequest(resources)) : encodeOtlpJson(otlpRequest(resources));
const scan = (format: Format, body: Uint8Array) =>
  format === 'otlp-proto' ? scanOtlpProto(body, 0) : scanOtlpJson(body, 0);

const cost = (i: ReturnType<typeof scanOtlpProto>): number =>
  i.floatSamples + i.histogramSamples + i.exemplars + i.metadata;

describe('OTLP partial acceptance: re-encoding without refused points (property)', () => {
  it('keeps exactly the points not refused, as protobufjs encodes the request without them, and charges their items', () => {
    fc.assert(
      fc.property(resourcesArb, fc.array(fc.boolean(), { maxLength: 40 }), (resources, bits) => {
        const body = encode('otlp-proto', resources);
        const n = ordinalsOf(resources);
        const keep = new Uint8Array(n).map((_, i) => (bits[i] === false ? 0 : 1));
        const targetInfoOrdinals = new Set<number>();
        let at = 0;
        for (const r of resources) {
          for (const m of r.metrics) if (counted(m)) at += m.points.length;
          targetInfoOrdinals.add(at++);
        }
        // Refusing a target_info alone changes no byte: only points are left out.
        const pointKeep = (i: number): boolean => targetInfoOrdinals.has(i) || keep[i] === 1;
        const expected = keptSpec(resources, pointKeep);
        const out = reencodeOtlpProto(body, keep);
        expect(Buffer.from(out.body).equals(encodeOtlpProto(otlpRequest(expected)))).toBe(true);
        // protobufjs reads it back, with as many data points as were kept.
        const decoded = otlpRequestType.toObject(otlpRequestType.decode(out.body)) as {
          resourceMetrics?: unknown[];
        };
        expect(decoded.resourceMetrics?.length ?? 0).toBe(expected.length);
        const points = expected.flatMap((r) => r.metrics).reduce((s, m) => s + m.points.length, 0);
        expect(out.points).toBe(points);
        expect(cost(scanOtlpProto(out.body, 0))).toBe(itemsOf(expected));
      }),
      { numRuns: 400 },
    );
  });

  it('keeps in OTLP/JSON exactly the points not refused, the rest of the text as sent, and charges their items', () => {
    fc.assert(
      fc.property(
        resourcesArb,
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.constantFrom(0, 2),
        (resources, bits, indent) => {
          // Indented or not: the kept elements keep their own bytes, whitespace included.
          const text = JSON.stringify(otlpRequest(resources), null, indent);
          const keep = new Uint8Array(ordinalsOf(resources)).map((_, i) => (bits[i] === false ? 0 : 1));
          const targetInfoOrdinals = new Set<number>();
          let at = 0;
          for (const r of resources) {
            for (const m of r.metrics) if (counted(m)) at += m.points.length;
            targetInfoOrdinals.add(at++);
          }
          const expected = keptSpec(resources, (i) => targetInfoOrdinals.has(i) || keep[i] === 1);
          const out = reencodeOtlpJson(Buffer.from(text), keep);
          const sent = Buffer.from(out.body).toString('utf8');
          expect(JSON.parse(sent)).toEqual(otlpRequest(expected));
          expect(cost(scanOtlpJson(out.body, 0))).toBe(itemsOf(expected));
          // Nothing refused: the very bytes sent.
          if (keep.every((k) => k === 1)) expect(sent).toBe(text);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('forwards only series within the limits, refuses the first one over in body order, and charges what goes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Format>('otlp-proto', 'otlp-json'),
        resourcesArb,
        fc.record({
          maxLabelNames: fc.integer({ min: 0, max: 5 }),
          maxLabelNameLength: fc.constantFrom(0, 8, 12, 20),
          maxLabelValueLength: fc.constantFrom(0, 6, 10, 14),
        }),
        (format, resources, limits) => {
          const type = format === 'otlp-proto' ? 'application/x-protobuf' : 'application/json';
          const decoder = selectDecoder('/otlp/v1/metrics', type, '');
          if ('unsupported' in decoder) throw new Error(decoder.unsupported);
          const measured = measureBody(decoder, encode(format, resources), 1 << 20);
          const f = filterOtlp(measured.decoded, measured.info, limits, new Set());
          const over = (limit: number, value: number): boolean => limit > 0 && value > limit;
          const i = measured.info;
          const anyOver =
            over(limits.maxLabelNames, i.maxLabelNames) ||
            over(limits.maxLabelNameLength, i.maxLabelNameLength) ||
            over(limits.maxLabelValueLength, i.maxLabelValueLength);
          expect(f.firstProblem !== undefined, 'something is refused exactly when a bound is over').toBe(
            anyOver,
          );
          if (!f.body) {
            expect(cost(f.kept)).toBe(cost(i));
            return;
          }
          // What goes upstream, scanned as it is sent: every series in it within the limits, except a refused
          // target_info kept with its resource's points (not charged).
          const sent = scan(format, f.body);
          expect(f.kept.maxLabelNames <= limits.maxLabelNames || limits.maxLabelNames === 0).toBe(true);
          expect(over(limits.maxLabelNameLength, f.kept.maxLabelNameLength)).toBe(false);
          expect(over(limits.maxLabelValueLength, f.kept.maxLabelValueLength)).toBe(false);
          expect(cost(f.kept)).toBeLessThanOrEqual(cost(sent));
          expect(cost(sent) - cost(f.kept)).toBeLessThanOrEqual(resources.length);
          expect(f.kept.floatSamples + f.kept.histogramSamples).toBeLessThan(
            i.floatSamples + i.histogramSamples,
          );
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('OTLP/JSON partial acceptance: fields as the scanner reads them', () => {
  it('reads snake_case fields and the temporality written as its enum name', () => {
    const point = (zone: string) => `{"attributes":[{"key":"zone","value":{"stringValue":"${zone}"}}]}`;
    const text =
      `{"resource_metrics":[{"resource":{"attributes":[]},"scope_metrics":[{"metrics":[` +
      `{"name":"a","sum":{"data_points":[${point('x')},${point('too-long-value')},${point('y')}],` +
      `"aggregation_temporality":"AGGREGATION_TEMPORALITY_CUMULATIVE"}},` +
      `{"name":"b","gauge":{"data_points":[${point('z')}]}}]}]}]}`;
    const decoder = selectDecoder('/otlp/v1/metrics', 'application/json', '');
    if ('unsupported' in decoder) throw new Error(decoder.unsupported);
    const measured = measureBody(decoder, Buffer.from(text), 1 << 20);
    const limits = { maxLabelNames: 0, maxLabelNameLength: 0, maxLabelValueLength: 8 };
    const f = filterOtlp(measured.decoded, measured.info, limits, new Set());
    expect(f.firstProblem).toMatchObject({ kind: 'max_label_value_length', series: 1 });
    expect(Buffer.from(f.body!).toString('utf8')).toBe(text.replace(`${point('too-long-value')},`, ''));
    // a: 2 points, b: 1 point, and one metadata entry for each name.
    expect(cost(f.kept)).toBe(5);
  });
});
