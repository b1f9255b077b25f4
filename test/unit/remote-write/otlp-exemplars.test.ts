// keptOtlpExemplars: the exemplars Mimir keeps of an OTLP request, by point ordinal as the scanners number them,
// the same for protobuf and JSON (src/remote-write/otlp-exemplars.ts, otlp-json-exemplars.ts).

import { describe, expect, it } from 'vitest';

import { keptOtlpExemplars } from '../../../src/remote-write/otlp-exemplars.js';
import { DELTA, encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';
import type { OtlpResourceSpec } from '../../helpers/otlp-request.js';

const TRACE = '0102030405060708090a0b0c0d0e0f10';
const NOW = 1_700_000_000_000;
const RULES = { maxPerSeries: 0, maxTimestampMs: NOW + 600_000 };

const both = (resources: OtlpResourceSpec[], rules = RULES): number[][] => {
  const request = otlpRequest(resources);
  return [
    keptOtlpExemplars(encodeOtlpProto(request), 'otlp-proto', rules),
    keptOtlpExemplars(encodeOtlpJson(request), 'otlp-json', rules),
  ];
};

describe('keptOtlpExemplars', () => {
  it('numbers points as the scanners do: dropped metrics take none, each resource one for its target_info', () => {
    const traced = [{ traceId: TRACE }];
    const resources: OtlpResourceSpec[] = [
      {
        attributes: { 'service.name': 'api', region: 'eu' },
        metrics: [
          { name: 'a', kind: 'gauge', points: [{ attributes: {}, exemplarList: traced }] },
          {
            name: 'delta',
            kind: 'sum',
            temporality: DELTA,
            points: [{ attributes: {}, exemplarList: [...traced, ...traced] }],
          },
          { name: 'b', kind: 'summary', points: [{ attributes: {}, buckets: 2 }] },
          { name: 'c', kind: 'sum', points: [{ attributes: {}, exemplarList: [...traced, ...traced] }] },
        ],
      },
      {
        attributes: { 'service.name': 'db' },
        metrics: [
          {
            name: 'h',
            kind: 'histogram',
            points: [{ attributes: {}, buckets: 2, exemplarList: [...traced, ...traced, ...traced] }],
          },
          { name: 'e', kind: 'exponentialHistogram', points: [{ attributes: {}, exemplarList: traced }] },
        ],
      },
    ];
    for (const kept of both(resources)) expect(kept).toEqual([1, 0, 2, 0, 3, 1, 0]);
  });

  it('caps per translated series, in body order, the same for protobuf and JSON', () => {
    const ex = (value: number) => ({ traceId: TRACE, value });
    const resources: OtlpResourceSpec[] = [
      {
        attributes: { 'service.name': 'api' },
        metrics: [
          {
            name: 'h',
            kind: 'histogram',
            // Bounds 0 and 0.5: 0.7 waits for +Inf, and takes the 0.1 after it there.
            points: [
              { attributes: { a: '1' }, buckets: 2, exemplarList: [ex(0), ex(0.4), ex(0.7), ex(0.1)] },
            ],
          },
          {
            name: 'g',
            kind: 'gauge',
            points: [
              { attributes: { a: '1' }, exemplarList: [ex(1), ex(2)] },
              { attributes: { a: '1' }, timeOffsetMs: 1000, exemplarList: [ex(3)] },
              { attributes: { a: '2' }, exemplarList: [ex(4)] },
            ],
          },
        ],
      },
    ];
    for (const kept of both(resources, { ...RULES, maxPerSeries: 1 })) expect(kept).toEqual([3, 1, 0, 1, 0]);
  });

  // The helper writes nanoseconds as a float64 (within 128 ns), so the bounds are crossed by 10 ms, not 1.
  it('drops an exemplar without labels, without a time, or out of the time bounds', () => {
    const resources: OtlpResourceSpec[] = [
      {
        attributes: {},
        metrics: [
          {
            name: 'g',
            kind: 'gauge',
            points: [
              {
                attributes: {},
                exemplarList: [
                  {},
                  { attributes: { k: '' } },
                  { attributes: { k: 'v' } },
                  { traceId: TRACE, timeOffsetMs: null },
                  { traceId: TRACE, timeOffsetMs: -300_010 },
                  { traceId: TRACE, timeOffsetMs: 600_010 },
                  { spanId: '0000000000000001', timeOffsetMs: 600_000 },
                ],
              },
            ],
          },
        ],
      },
    ];
    for (const kept of both(resources)) expect(kept).toEqual([2, 0]);
    const past = { ...RULES, pastBoundMs: NOW + 1 };
    for (const kept of both(resources, past)) expect(kept).toEqual([1, 0]);
  });
});
