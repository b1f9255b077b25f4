// drop_labels for OTLP as Mimir applies it to the translated series: an OTLP request decided for a tenant that
// drops some labels must get exactly the decision (status, reason, observed value, message) that the same request
// without those attributes gets for a tenant that drops nothing, in protobuf and JSON alike. The exact pass that
// recounts the label extremes is also checked against the one-pass scanners it must agree with.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkStatic } from '../../../src/decide/stages/static-limits.js';
import { mimirCost, mimirView } from '../../../src/decide/mimir-rules.js';
import { LIMIT_DEFINITIONS } from '../../../src/limits/limit-definitions.js';
import type { LimitName, LimitValue } from '../../../src/limits/limit-definitions.js';
import type { ResolvedTenant } from '../../../src/limits/tenant-limits.js';
import {
  measureBody,
  otlpLabelExtremes,
  otlpLabelName,
  selectDecoder,
} from '../../../src/remote-write/index.js';
import { translatesTo } from '../../../src/remote-write/otlp-proto-drop-pass.js';
import type { Attributes, OtlpResourceSpec } from '../../helpers/otlp-request.js';
import {
  CUMULATIVE,
  DELTA,
  encodeOtlpJson,
  encodeOtlpProto,
  otlpRequest,
} from '../../helpers/otlp-request.js';

type Format = 'otlp-proto' | 'otlp-json';

const RESOURCE_KEYS = ['service.name', 'service.namespace', 'service.instance.id', 'host.id', 'region.name'];
const POINT_KEYS = ['pod', 'zone', 'k8s.pod.uid', 'trace_id', 'code'];
/**
 * Translated names a tenant may drop, as Mimir names the point attributes. Resource attributes have no twin
 * without them: Mimir builds target_info from them before drop_labels runs, so removing the last one from the
 * request removes target_info, while dropping it keeps target_info (the vector otlp-drop-labels-target-info).
 */
const DROPPABLE = ['pod', 'zone', 'k8s_pod_uid', 'trace_id'];

function measure(format: Format, resources: OtlpResourceSpec[]) {
  const request = otlpRequest(resources);
  const proto = format === 'otlp-proto';
  const decoder = selectDecoder(
    '/otlp/v1/metrics',
    proto ? 'application/x-protobuf' : 'application/json',
    '',
  );
  if ('unsupported' in decoder) throw new Error(decoder.unsupported);
  return measureBody(decoder, proto ? encodeOtlpProto(request) : encodeOtlpJson(request), 50 << 20);
}

function tenant(limits: Partial<Record<LimitName, LimitValue>>): ResolvedTenant {
  const all = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])) as Record<
    LimitName,
    LimitValue
  >;
  return {
    limits: { ...all, ...limits } as ResolvedTenant['limits'],
    enforcement: { enabled: true, limits: {} },
    hasOverrides: true,
  };
}

/**
 * The decision as WriteChecker composes it (mimirView → checkStatic → mimirCost), without the rate buckets; with
 * partial acceptance, the 400 owed for the refused series and the cost of what is forwarded.
 */
function decide(t: ResolvedTenant, format: Format, resources: OtlpResourceSpec[]) {
  const measured = measure(format, resources);
  const view = mimirView(t, measured, false);
  const refused = view?.refusal;
  if (refused) {
    const { status, reason, observed, message } = refused;
    return { allowed: false, status, reason, observed, message };
  }
  const info = view ? view.info : measured.info;
  const st = checkStatic({
    tenant: t,
    info,
    dryRun: false,
    body: measured.decoded,
    describeSeries: view?.describeSeries ?? measured.describeSeries,
  });
  if (st && !st.allowed) {
    return {
      allowed: false,
      status: st.status,
      reason: st.reason,
      observed: st.observed,
      message: st.message,
    };
  }
  const owed = view?.partial?.refusal;
  return owed
    ? { allowed: true, cost: mimirCost(info, t.limits), owed: [owed.reason, owed.observed, owed.message] }
    : { allowed: true, cost: mimirCost(info, t.limits) };
}

const attributesArb = (keys: string[]): fc.Arbitrary<Attributes> =>
  fc.dictionary(fc.constantFrom(...keys), fc.string({ minLength: 0, maxLength: 14 }), {
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
          }),
          { minLength: 0, maxLength: 3 },
        ),
      }),
      { minLength: 0, maxLength: 3 },
    ),
  }),
  { minLength: 1, maxLength: 3 },
);

function without(resources: OtlpResourceSpec[], dropped: string[]): OtlpResourceSpec[] {
  const keep = (a: Attributes): Attributes =>
    Object.fromEntries(Object.entries(a).filter(([k]) => !dropped.includes(otlpLabelName(k))));
  return resources.map((r) => ({
    attributes: r.attributes,
    metrics: r.metrics.map((m) => ({
      ...m,
      points: m.points.map((p) => ({ ...p, attributes: keep(p.attributes) })),
    })),
  }));
}

const extremes = (i: ReturnType<typeof measure>['info']) => [
  i.maxLabelNames,
  i.maxLabelNamesSeries,
  i.maxLabelNameLength,
  i.maxLabelNameSeries,
  i.maxLabelValueLength,
  i.maxLabelValueSeries,
];

describe('drop_labels for OTLP (property)', () => {
  it('matches attribute keys on the bytes exactly as their translated names compare', () => {
    const encoder = new TextEncoder();
    const keyArb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.stringMatching(/^[0-9a-z._-]{0,8}$/u),
    );
    fc.assert(
      fc.property(keyArb, keyArb, (key, other) => {
        const bytes = encoder.encode(key);
        const name = otlpLabelName(key);
        expect(translatesTo(bytes, 0, bytes.length, encoder.encode(name))).toBe(true);
        const otherName = otlpLabelName(other);
        expect(translatesTo(bytes, 0, bytes.length, encoder.encode(otherName))).toBe(otherName === name);
      }),
      { numRuns: 2000 },
    );
  });

  it('recounts, with nothing dropped, exactly the label extremes the scanners measured', () => {
    fc.assert(
      fc.property(fc.constantFrom<Format>('otlp-proto', 'otlp-json'), resourcesArb, (format, resources) => {
        const measured = measure(format, resources);
        const recounted = otlpLabelExtremes(measured.decoded, measured.info, new Set());
        expect(extremes(recounted)).toEqual(extremes(measured.info));
      }),
      { numRuns: 300 },
    );
  });

  it('decides a request with dropped labels exactly as the same request without those attributes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Format>('otlp-proto', 'otlp-json'),
        resourcesArb,
        fc.subarray(DROPPABLE, { minLength: 1 }),
        fc.record({
          max_label_names_per_series: fc.integer({ min: 0, max: 7 }),
          max_label_name_length: fc.constantFrom(0, 3, 8, 11),
          max_label_value_length: fc.integer({ min: 0, max: 16 }),
        }),
        (format, resources, dropped, limits) => {
          const withDrop = decide(tenant({ ...limits, drop_labels: dropped }), format, resources);
          expect(withDrop).toEqual(decide(tenant(limits), format, without(resources, dropped)));
        },
      ),
      { numRuns: 400 },
    );
  });
});
