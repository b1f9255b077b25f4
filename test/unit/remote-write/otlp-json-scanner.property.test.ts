// Checks the streaming OTLP/JSON scanner against the JSON.parse one it replaced (test/helpers/otlp-json-scan-
// reference.ts). Random OTLP metric requests, with every AnyValue kind, int64 as strings or numbers, temporality
// as a number, a string or an enum name, snake_case keys, shuffled keys, unknown fields, hex trace ids, escapes and
// random whitespace, must give the identical RequestInfo. Mutated and truncated bodies must end in the decoder's
// error or in the oracle's own answer, and JSON.parse's refusals must be refusals here too.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { BodyDecodeError, scanOtlpJson } from '../../../src/remote-write/index.js';
import type { RequestInfo } from '../../../src/remote-write/index.js';
import { scanOtlpJsonReference } from '../../helpers/otlp-json-scan-reference.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/** Characters that exercise escapes and UTF-8 lengths: quote, backslash, controls, 2-, 3- and 4-byte, lone surrogate. */
const char = fc.constantFrom(
  ...[
    'a',
    'b',
    'z',
    '_',
    '.',
    ' ',
    '0',
    '"',
    '\\',
    '/',
    '\n',
    '\t',
    '\u0001',
    'é',
    '€',
    '😀',
    '\ud800',
    '\udc00',
  ],
);
const text = fc.string({ unit: char, maxLength: 8 });

const scalarValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: text.map((s) => ({ stringValue: s })) },
  { weight: 1, arbitrary: fc.boolean().map((b) => ({ boolValue: b })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String))
      .map((v) => ({ intValue: v })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('NaN', 'Infinity', '-1.5'))
      .map((v) => ({ doubleValue: v })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 7 })
      .map((b) => ({ bytesValue: Buffer.from(b).toString('base64') })),
  },
  { weight: 1, arbitrary: fc.constant({}) },
);
const anyValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 8, arbitrary: scalarValue },
  {
    weight: 1,
    arbitrary: fc.array(scalarValue, { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.record({ key: text, value: scalarValue }), { maxLength: 3 })
      .map((values) => ({ kvlistValue: { values } })),
  },
);
const attributes = fc.array(fc.record({ key: text, value: anyValue }), { maxLength: 4 });
const resourceAttributes = fc
  .tuple(
    attributes,
    fc.subarray(['service.name', 'service.namespace', 'service.instance.id']),
    fc.array(text, { minLength: 3, maxLength: 3 }),
  )
  .map(([attrs, service, values]) => [
    ...attrs,
    ...service.map((key, i) => ({ key, value: { stringValue: values[i]! } })),
  ]);

const nano = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const exemplars = fc.array(
  fc.record({
    timeUnixNano: nano,
    asDouble: fc.double({ noNaN: true, noDefaultInfinity: true }),
    traceId: hex(16),
    spanId: hex(8),
  }),
  { maxLength: 2 },
);
const temporality = fc.constantFrom<Json | undefined>(
  2,
  2,
  '2',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
  1,
  'AGGREGATION_TEMPORALITY_DELTA',
  0,
  undefined,
);

const numberPoint = fc.record(
  {
    attributes,
    timeUnixNano: nano,
    asDouble: fc.double({ noNaN: true, noDefaultInfinity: true }),
    asInt: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
    exemplars,
    futureField: fc.constant({ nested: [1, { deeper: 'x' }] }),
  },
  { requiredKeys: ['attributes'] },
);
const histogramPoint = fc
  .tuple(fc.nat(4), fc.nat(5), fc.boolean(), attributes, exemplars)
  .map(([bounds, counts, hasSum, attrs, ex]) => ({
    attributes: attrs,
    count: String(counts),
    ...(hasSum ? { sum: 1.5 } : {}),
    bucketCounts: Array.from({ length: counts }, (_, i) => String(i)),
    explicitBounds: Array.from({ length: bounds }, (_, i) => i / 2),
    exemplars: ex,
  }));
const summaryPoint = fc.tuple(fc.nat(3), attributes).map(([q, attrs]) => ({
  attributes: attrs,
  count: '3',
  sum: 2,
  quantileValues: Array.from({ length: q }, (_, i) => ({ quantile: i / 10, value: i })),
}));
const exponentialPoint = fc.tuple(attributes, exemplars).map(([attrs, ex]) => ({
  attributes: attrs,
  count: '2',
  scale: -1,
  positive: { offset: 0, bucketCounts: ['1', 1] },
  exemplars: ex,
}));

// The records are JSON by construction; their inferred optional-key types are not spelled as Json.
const metric = fc.oneof(
  fc.record({
    name: text,
    unit: text,
    gauge: fc.record({ dataPoints: fc.array(numberPoint, { maxLength: 3 }) }),
  }),
  fc.tuple(text, fc.array(numberPoint, { maxLength: 3 }), temporality).map(([name, dataPoints, t]) => ({
    name,
    sum: { dataPoints, isMonotonic: true, ...(t === undefined ? {} : { aggregationTemporality: t }) },
  })),
  fc.tuple(text, fc.array(histogramPoint, { maxLength: 3 }), temporality).map(([name, dataPoints, t]) => ({
    name,
    histogram: { dataPoints, ...(t === undefined ? {} : { aggregationTemporality: t }) },
  })),
  fc.tuple(text, fc.array(exponentialPoint, { maxLength: 2 }), temporality).map(([name, dataPoints, t]) => ({
    name,
    exponentialHistogram: { dataPoints, ...(t === undefined ? {} : { aggregationTemporality: t }) },
  })),
  fc.record({ name: text, summary: fc.record({ dataPoints: fc.array(summaryPoint, { maxLength: 2 }) }) }),
) as unknown as fc.Arbitrary<Json>;

const request: fc.Arbitrary<Json> = fc
  .array(
    fc.record({
      resource: fc.record({ attributes: resourceAttributes, droppedAttributesCount: fc.nat(3) }),
      scopeMetrics: fc.array(
        fc.record({
          scope: fc.record({ name: text, version: fc.constant('1.0') }),
          metrics: fc.array(metric, { maxLength: 4 }),
          schemaUrl: fc.constant('https://opentelemetry.io/schemas/1.21.0'),
        }),
        { maxLength: 2 },
      ),
    }),
    { maxLength: 3 },
  )
  .map((resourceMetrics) => ({ resourceMetrics }));

/** The snake_case spellings the decoders accept besides lowerCamelCase. */
const SNAKE: Record<string, string> = {
  resourceMetrics: 'resource_metrics',
  scopeMetrics: 'scope_metrics',
  dataPoints: 'data_points',
  aggregationTemporality: 'aggregation_temporality',
  bucketCounts: 'bucket_counts',
  explicitBounds: 'explicit_bounds',
  quantileValues: 'quantile_values',
  exponentialHistogram: 'exponential_histogram',
  stringValue: 'string_value',
  boolValue: 'bool_value',
  intValue: 'int_value',
  doubleValue: 'double_value',
  bytesValue: 'bytes_value',
  arrayValue: 'array_value',
  kvlistValue: 'kvlist_value',
};

/** A small deterministic PRNG (mulberry32), so a failing case shrinks and replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * JSON text for `value`: keys shuffled and sometimes snake_case, whitespace between tokens, characters sometimes
 * written as \u escapes (surrogate pairs as two), numbers as JSON.stringify writes them.
 */
function serialize(value: Json, random: () => number): string {
  const ws = (): string => (random() < 0.15 ? [' ', '\n', '\t', '\r\n  '][Math.floor(random() * 4)]! : '');
  const str = (s: string): string => {
    let out = '"';
    for (const cp of s) {
      if (random() < 0.15) {
        for (let i = 0; i < cp.length; i++) out += `\\u${cp.charCodeAt(i).toString(16).padStart(4, '0')}`;
      } else {
        out += JSON.stringify(cp).slice(1, -1);
      }
    }
    return `${out}"`;
  };
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return str(value);
  if (Array.isArray(value))
    return `[${ws()}${value.map((v) => serialize(v, random)).join(`${ws()},${ws()}`)}${ws()}]`;
  const entries = Object.entries(value).filter((e): e is [string, Json] => e[1] !== undefined);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const members = entries.map(([k, v]) => {
    const key = SNAKE[k] !== undefined && random() < 0.3 ? SNAKE[k] : k;
    return `${ws()}${str(key)}${ws()}:${ws()}${serialize(v, random)}`;
  });
  return `{${members.join(',')}${ws()}}`;
}

type Outcome = { ok: unknown } | { error: { name: string; code?: unknown } };

function outcome(scan: (buf: Uint8Array, compressed: number) => unknown, body: Uint8Array): Outcome {
  try {
    return { ok: scan(body, 7) };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { error: { name: e.name, code: e.code } };
  }
}

/**
 * scanOtlpJson without maxUnitBytes: the scanner bounds each metric's unit by its bytes as written (quotes and
 * escapes included), which the oracle cannot see; here it is held to be at least the unit's decoded bytes.
 */
function scanned(body: Uint8Array, compressed: number): RequestInfo {
  const { maxUnitBytes, ...info } = scanOtlpJson(body, compressed);
  expect(maxUnitBytes ?? 0).toBeGreaterThanOrEqual(longestUnit(body));
  return info;
}

function longestUnit(body: Uint8Array): number {
  let root: unknown;
  try {
    root = JSON.parse(strictUtf8.decode(body));
  } catch {
    return 0;
  }
  let longest = 0;
  const items = (o: unknown, camel: string, snake: string): unknown[] => {
    if (o === null || typeof o !== 'object') return [];
    const r = o as Record<string, unknown>;
    const v = r[camel] ?? r[snake];
    return Array.isArray(v) ? v : [];
  };
  for (const rm of items(root, 'resourceMetrics', 'resource_metrics'))
    for (const sm of items(rm, 'scopeMetrics', 'scope_metrics'))
      for (const m of items(sm, 'metrics', 'metrics')) {
        const u = m !== null && typeof m === 'object' ? (m as Record<string, unknown>)['unit'] : undefined;
        if (typeof u === 'string') longest = Math.max(longest, Buffer.byteLength(u));
      }
  return longest;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function parses(body: Uint8Array): boolean {
  try {
    JSON.parse(strictUtf8.decode(body));
    return true;
  } catch {
    return false;
  }
}

describe('streaming OTLP/JSON scanner', () => {
  it('returns the JSON.parse scanner’s RequestInfo for random OTLP requests', () => {
    fc.assert(
      fc.property(request, fc.integer(), (req, seed) => {
        const body = Buffer.from(serialize(req, prng(seed)));
        expect(scanned(body, 7)).toEqual(scanOtlpJsonReference(body, 7));
      }),
      { numRuns: 1500 },
    );
  });

  it('measures every kind of attribute value as the oracle does (one attribute, so it is the longest)', () => {
    fc.assert(
      fc.property(text, anyValue, fc.integer(), (key, value, seed) => {
        const req = {
          resourceMetrics: [
            {
              scopeMetrics: [
                { metrics: [{ name: '', gauge: { dataPoints: [{ attributes: [{ key, value }] }] } }] },
              ],
            },
          ],
        };
        const body = Buffer.from(serialize(req, prng(seed)));
        expect(scanned(body, 7)).toEqual(scanOtlpJsonReference(body, 7));
      }),
      { numRuns: 1500 },
    );
  });

  it('measures escaped strings on their decoded bytes', () => {
    const body = Buffer.from(
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"attributes":' +
        '[{"key":"p\\u0061th","value":{"stringValue":"\\u00e9\\ud83d\\ude00\\n"}}]}]}}]}]}]}',
    );
    const info = scanned(body, 1);
    // "é" (2 bytes) + "😀" (4) + "\n" (1) = 7; "path" = 4, below "__name__" (8).
    expect(info.maxLabelValueLength).toBe(7);
    expect(info.maxLabelNameLength).toBe(8);
    expect(info).toEqual(scanOtlpJsonReference(body, 1));
  });

  it('refuses what JSON.parse refuses, and otherwise agrees with the oracle or refuses, after mutation', () => {
    const interesting = [...'{}[]",:\\n0-e.tu '].map((c) => c.charCodeAt(0)).concat([0xff, 0xc3, 0xed, 0x00]);
    fc.assert(
      fc.property(
        request,
        fc.integer(),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...interesting), fc.nat(3)), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.option(fc.nat()),
        (req, seed, edits, cut) => {
          let body = Buffer.from(serialize(req, prng(seed)));
          for (const [at, byte, op] of edits) {
            const i = at % (body.length + 1);
            if (op === 0) body[Math.min(i, body.length - 1)] = byte;
            else if (op === 1)
              body = Buffer.concat([body.subarray(0, i), Buffer.from([byte]), body.subarray(i)]);
            else body = Buffer.concat([body.subarray(0, i), body.subarray(i + 1 + (at % 7))]);
          }
          if (cut !== null) body = body.subarray(0, cut % (body.length + 1));
          const ours = outcome(scanned, body);
          if ('error' in ours) {
            expect(ours.error).toEqual({ name: 'BodyDecodeError', code: 'invalid_json' });
          } else {
            expect(ours).toEqual(outcome(scanOtlpJsonReference, body));
          }
          if (!parses(body)) expect('error' in ours).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects bad text with a 400-class decode error naming the offset', () => {
    for (const bad of [
      '',
      '{',
      '{"resourceMetrics":[}',
      '{"a":1,}',
      '{"a":01}',
      '{"a":"\\x"}',
      '[1]',
      '{"a":1} x',
    ]) {
      let caught: unknown;
      try {
        scanOtlpJson(Buffer.from(bad), 1);
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(BodyDecodeError);
      expect((caught as BodyDecodeError).reason).toBe('invalid_body');
      expect((caught as BodyDecodeError).message).toMatch(/^invalid OTLP JSON: /);
    }
  });

  it('skips deep unknown nesting without recursion, and finishes within a bound on large bodies', () => {
    const depth = 200_000;
    const deep = `{"unknown":${'['.repeat(depth)}${']'.repeat(depth)},"resourceMetrics":[]}`;
    expect(scanOtlpJson(Buffer.from(deep), 1).series).toBe(0);
    const started = performance.now();
    expect(() => scanOtlpJson(Buffer.from(`{"unknown":${'['.repeat(depth)}`), 1)).toThrow(BodyDecodeError);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
