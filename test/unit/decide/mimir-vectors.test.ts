// Runs test/vectors/mimir-decisions.yaml: each vector is one behaviour of Mimir 3.x's distributor, and the edge
// must decide it the same way (status after the upstream accepted the rest, error id, series forwarded, items
// charged). The decision is composed exactly as WriteChecker composes it: mimirView (then observedSeriesRules for a
// request it left whole) → checkStatic → mimirCost.

import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { checkStatic } from '../../../src/decide/stages/static-limits.js';
import { mimirCost, mimirView } from '../../../src/decide/mimir-rules.js';
import { observedSeriesRules } from '../../../src/decide/observed-series-rules.js';
import { LIMIT_DEFINITIONS, limitDefinition, limitValue } from '../../../src/limits/limit-definitions.js';
import type { LimitName, LimitValue } from '../../../src/limits/limit-definitions.js';
import type { ResolvedTenant } from '../../../src/limits/tenant-limits.js';
import { measureBody, selectDecoder } from '../../../src/remote-write/index.js';
import type { OtlpResourceSpec } from '../../helpers/otlp-request.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest, otlpRequestType } from '../../helpers/otlp-request.js';
import type { Rw2SeriesSpec } from '../../helpers/rw2-request.js';
import { RW2_CONTENT_TYPE, encodeRw2, rw2Request, rw2RequestType } from '../../helpers/rw2-request.js';
import type { SeriesSpec } from '../../helpers/write-request.js';
import { encodeWriteRequest, writeRequest, writeRequestType } from '../../helpers/write-request.js';

interface Vector {
  id: string;
  mimir: string;
  format: 'prw1' | 'prw2' | 'otlp-proto' | 'otlp-json';
  limits?: Record<string, unknown>;
  enforcement?: Partial<Record<LimitName, boolean>>;
  /** The time of the decision, in ms after the vectors' base time (1_700_000_000_000); default: the real now. */
  now_offset_ms?: number;
  series: (SeriesSpec & Rw2SeriesSpec & { raw_labels?: [string, string][] })[];
  /** OTLP formats: the request's resources (test/helpers/otlp-request.ts), instead of `series`. */
  otlp?: OtlpResourceSpec[];
  /** RW1 metadata: a count of short entries, or the entries themselves. */
  metadata?: number | MetadataSpec[];
  expect: {
    status: number;
    error_id?: string;
    names?: string;
    /** Text the message must contain (Mimir's wording). */
    message_contains?: string;
    untouched?: boolean;
    forwarded?: string[];
    metadata_forwarded?: number;
    /** Metric names of the RW1 metadata that reach the upstream. */
    metadata_names_forwarded?: string[];
    /** The reason recorded as would-deny for a limit only observed ('' for none). */
    would_deny?: string;
    cost: number;
  };
}

interface MetadataSpec {
  name: string;
  help?: string;
  unit?: string;
}

/**
 * RW1 with labels as bytes, for vectors whose labels repeat a name or are not UTF-8 (`raw_labels`, in body order,
 * `\xHH` for a byte); wire-compatible with prometheus.WriteRequest.
 */
const rawWriteRequestType = protobuf
  .parse(
    `syntax = "proto3";
     message W { repeated T timeseries = 1; }
     message T { repeated L labels = 1; repeated S samples = 2; }
     message L { bytes name = 1; bytes value = 2; }
     message S { double value = 1; int64 timestamp = 2; }`,
  )
  .root.lookupType('W');

function rawBytes(text: string): Buffer {
  const parts = text.split(/(\\x[0-9a-fA-F]{2})/);
  return Buffer.concat(
    parts.map((p) =>
      /^\\x[0-9a-fA-F]{2}$/.test(p) ? Buffer.from([parseInt(p.slice(2), 16)]) : Buffer.from(p),
    ),
  );
}

/** The RW1 body of a vector, its metadata written as the vector gives it. */
function rw1Body(v: Vector): Buffer {
  if (v.series.some((s) => s.raw_labels)) {
    const built = writeRequest(v.series);
    const timeseries = v.series.map((s, i) => ({
      labels: (s.raw_labels ?? Object.entries(s.labels)).map(([name, value]) => ({
        name: rawBytes(name),
        value: rawBytes(value),
      })),
      samples: built.timeseries[i]!.samples,
    }));
    return Buffer.from(rawWriteRequestType.encode(rawWriteRequestType.fromObject({ timeseries })).finish());
  }
  const meta = v.metadata ?? 0;
  const request = writeRequest(v.series, typeof meta === 'number' ? meta : 0);
  if (typeof meta !== 'number') {
    request.metadata = meta.map((m) => ({
      type: 1,
      metricFamilyName: m.name,
      help: m.help ?? '',
      unit: m.unit ?? '',
    }));
  }
  return encodeWriteRequest(request);
}

export const VECTORS: Vector[] = (
  parse(readFileSync(new URL('../../vectors/mimir-decisions.yaml', import.meta.url), 'utf8')) as {
    vectors: Vector[];
  }
).vectors;

function tenantOf(v: Vector): ResolvedTenant {
  const limits = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])) as Record<
    LimitName,
    LimitValue
  >;
  for (const [name, value] of Object.entries(v.limits ?? {})) {
    const def = limitDefinition(name);
    if (!def) throw new Error(`vector ${v.id}: unknown limit ${name}`);
    limits[def.name] = limitValue(def, value);
  }
  return {
    limits: limits as ResolvedTenant['limits'],
    enforcement: { enabled: true, limits: v.enforcement ?? {} },
    hasOverrides: true,
  };
}

/** Names (`__name__`) and metadata count of the series in a decompressed body. */
function contents(
  format: Vector['format'],
  decoded: Uint8Array,
): { names: string[]; metadata: number; metadataNames: string[] } {
  if (format === 'otlp-proto' || format === 'otlp-json') {
    // One name per data point that reaches the upstream, in body order (OTLP partial acceptance).
    const req = (
      format === 'otlp-json'
        ? JSON.parse(Buffer.from(decoded).toString('utf8'))
        : otlpRequestType.toObject(otlpRequestType.decode(decoded))
    ) as {
      resourceMetrics?: { scopeMetrics?: { metrics?: Record<string, { dataPoints?: unknown[] }>[] }[] }[];
    };
    const names: string[] = [];
    for (const rm of req.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const name = m['name'] as unknown as string;
          for (const [key, data] of Object.entries(m)) {
            if (key === 'name' || typeof data !== 'object') continue;
            const points = data.dataPoints?.length ?? 0;
            for (let i = 0; i < points; i++) names.push(name);
          }
        }
      }
    }
    return { names, metadata: 0, metadataNames: [] };
  }
  if (format === 'prw1') {
    const req = writeRequestType.toObject(writeRequestType.decode(decoded), { defaults: true }) as {
      timeseries: { labels: { name: string; value: string }[] }[];
      metadata: unknown[];
    };
    return {
      names: req.timeseries.map((t) => t.labels.find((l) => l.name === '__name__')?.value ?? ''),
      metadata: req.metadata.length,
      metadataNames: (req.metadata as { metricFamilyName: string }[]).map((m) => m.metricFamilyName),
    };
  }
  const req = rw2RequestType.toObject(rw2RequestType.decode(decoded), { defaults: true }) as {
    symbols: string[];
    timeseries: { labelsRefs: number[] }[];
  };
  const names = req.timeseries.map((t) => {
    for (let i = 0; i < t.labelsRefs.length; i += 2) {
      if (req.symbols[t.labelsRefs[i]!] === '__name__') return req.symbols[t.labelsRefs[i + 1]!]!;
    }
    return '';
  });
  return { names, metadata: 0, metadataNames: [] };
}

interface Outcome {
  status: number;
  errorId: string;
  message: string;
  /** The decompressed body that goes upstream, undefined when nothing does. */
  forwarded: Uint8Array | undefined;
  cost: number;
  /** The reason recorded as would-deny ('' for none). */
  wouldDeny?: string;
}

/** The body, path, Content-Type and Content-Encoding a vector is sent with. */
function requestOf(v: Vector): { body: Buffer; path: string; contentType: string; encoding: string } {
  if (v.format === 'otlp-proto' || v.format === 'otlp-json') {
    const request = otlpRequest(v.otlp ?? []);
    const proto = v.format === 'otlp-proto';
    return {
      body: proto ? encodeOtlpProto(request) : encodeOtlpJson(request),
      path: '/otlp/v1/metrics',
      contentType: proto ? 'application/x-protobuf' : 'application/json',
      encoding: '',
    };
  }
  return {
    body:
      v.format === 'prw1'
        ? snappy.compressSync(rw1Body(v))
        : snappy.compressSync(encodeRw2(rw2Request(v.series))),
    path: '/api/v1/push',
    contentType: v.format === 'prw1' ? 'application/x-protobuf' : RW2_CONTENT_TYPE,
    encoding: 'snappy',
  };
}

function decideVector(v: Vector): { outcome: Outcome; decoded: Uint8Array } {
  const tenant = tenantOf(v);
  const { body, path, contentType, encoding } = requestOf(v);
  const decoder = selectDecoder(path, contentType, encoding);
  if ('unsupported' in decoder) throw new Error(decoder.unsupported);
  const measured = measureBody(decoder, body, 50 << 20);
  const now = v.now_offset_ms === undefined ? Date.now() : 1_700_000_000_000 + v.now_offset_ms;
  const view = mimirView(tenant, measured, false, undefined, now);
  if (view?.refusal) {
    const r = view.refusal;
    return {
      outcome: { status: r.status, errorId: r.errorId, message: r.message, forwarded: undefined, cost: 0 },
      decoded: measured.decoded,
    };
  }
  const info = view ? view.info : measured.info;
  const observed = view?.partial ? undefined : observedSeriesRules(tenant, measured, false, undefined, now);
  const st = checkStatic({
    tenant,
    info,
    dryRun: false,
    body: measured.decoded,
    describeSeries: view?.describeSeries ?? measured.describeSeries,
    seriesJudged: observed !== undefined,
  });
  if (st && !st.allowed) {
    return {
      outcome: { status: st.status, errorId: st.errorId, message: st.message, forwarded: undefined, cost: 0 },
      decoded: measured.decoded,
    };
  }
  const partial = view?.partial;
  return {
    outcome: {
      status: partial?.refusal ? partial.refusal.status : 200,
      errorId: partial?.refusal ? partial.refusal.errorId : '',
      message: partial?.refusal ? partial.refusal.message : '',
      // OTLP vectors are sent uncompressed, so a re-encoded OTLP body goes upstream as it is.
      forwarded: !partial
        ? measured.decoded
        : v.format === 'otlp-proto' || v.format === 'otlp-json'
          ? partial.body
          : (snappy.uncompressSync(Buffer.from(partial.body)) as Buffer),
      cost: mimirCost(info, tenant.limits),
      wouldDeny: (st ?? observed?.wouldDeny)?.reason ?? '',
    },
    decoded: measured.decoded,
  };
}

describe('Mimir decision vectors (test/vectors/mimir-decisions.yaml)', () => {
  it('has unique ids', () => {
    expect(new Set(VECTORS.map((v) => v.id)).size).toBe(VECTORS.length);
  });

  for (const v of VECTORS) {
    it(`${v.id}: ${v.mimir}`, () => {
      const { outcome, decoded } = decideVector(v);
      const e = v.expect;
      expect(outcome.status, 'status the client gets').toBe(e.status);
      if (e.error_id) expect(outcome.errorId).toBe(e.error_id);
      if (e.names) expect(outcome.message).toContain(`${e.names}{`);
      if (e.message_contains) expect(outcome.message).toContain(e.message_contains);
      expect(outcome.cost, 'items charged to ingestion_rate').toBe(e.cost);
      if (e.would_deny !== undefined) expect(outcome.wouldDeny, 'recorded as would-deny').toBe(e.would_deny);
      if (e.untouched) {
        expect(outcome.forwarded, 'the client body goes upstream as sent').toBe(decoded);
      }
      if (e.forwarded) {
        if (e.forwarded.length === 0 && !e.metadata_names_forwarded?.length) {
          expect(outcome.forwarded, 'nothing goes upstream').toBeUndefined();
        } else {
          const sent = contents(v.format, outcome.forwarded!);
          expect(sent.names, 'series that reach the upstream').toEqual(e.forwarded);
          if (e.metadata_forwarded !== undefined) expect(sent.metadata).toBe(e.metadata_forwarded);
          if (e.metadata_names_forwarded) {
            expect(sent.metadataNames, 'metadata that reach the upstream').toEqual(
              e.metadata_names_forwarded,
            );
          }
        }
      }
    });
  }
});
