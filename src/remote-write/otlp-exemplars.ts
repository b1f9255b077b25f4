// The exemplars Mimir keeps, and so charges, of an OTLP request (protobuf read here, JSON in otlp-json-exemplars.ts).
// Mimir's translation (prometheusremotewrite getPromExemplars) makes an exemplar's labels of its trace_id and span_id
// (hex, when not empty) and of its filtered attributes, these only when the whole set stays within 128 characters;
// its time is time_unix_nano in ms. A number or exponential histogram point gives its exemplars to its one series; a classic
// histogram point hands each to the first `_bucket` series whose bound is at least its value, in body order (the
// rest to `le="+Inf"`); a summary has none. Points of one metric with the same labels are one series (Mimir's
// appender merges them). The distributor then applies remote write's rules (exemplar-filter.ts): the first
// max_exemplars_per_series_per_request per series, then no labels, no time, too old or too new are dropped
// silently. Runs only for a request with exemplars the tenant is charged for, so it may allocate.

import { ProtoReader, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { ExemplarRules } from './exemplar-filter.js';
import type { OtlpExemplar, OtlpPoints, PointExemplars } from './otlp-exemplar-labels.js';
import { translatedExemplar } from './otlp-exemplar-labels.js';
import {
  TAG_DATA_POINTS,
  TAG_EXPLICIT_BOUNDS_ONE,
  TAG_EXPLICIT_BOUNDS_PACKED,
  TAG_BUCKET_COUNTS_ONE,
  TAG_BUCKET_COUNTS_PACKED,
  TAG_EXPONENTIAL_ATTRIBUTES,
  TAG_EXPONENTIAL_EXEMPLARS,
  TAG_EXPONENTIAL_HISTOGRAM,
  TAG_GAUGE,
  TAG_HISTOGRAM,
  TAG_HISTOGRAM_ATTRIBUTES,
  TAG_HISTOGRAM_EXEMPLARS,
  TAG_KEY,
  TAG_METRICS,
  TAG_METRIC_NAME,
  TAG_NUMBER_ATTRIBUTES,
  TAG_NUMBER_EXEMPLARS,
  TAG_POINT_TIME,
  TAG_RESOURCE,
  TAG_RESOURCE_METRICS,
  TAG_SCOPE_METRICS,
  TAG_STRING_VALUE,
  TAG_SUM,
  TAG_SUMMARY,
  TAG_VALUE,
  TEMPORALITY_CUMULATIVE,
  anyValueLength,
  temporalityOf,
} from './otlp-proto-fields.js';
import { readJsonPoints } from './otlp-json-exemplars.js';
import { nanosToMs } from './otlp-point-times.js';

/** Mimir drops exemplars more than 5 minutes older than the request's earliest sample. */
const EXEMPLAR_MAX_AGE_MS = 5 * 60 * 1000;

// Exemplar: filtered_attributes = 7; fixed64 time_unix_nano = 2; double as_double = 3; sfixed64 as_int = 6;
// bytes span_id = 4; bytes trace_id = 5.
const TAG_EXEMPLAR_ATTRIBUTES = makeTag(7, WIRE_LENGTH_DELIMITED);
const TAG_EXEMPLAR_TIME = makeTag(2, WIRE_FIXED64);
const TAG_EXEMPLAR_DOUBLE = makeTag(3, WIRE_FIXED64);
const TAG_EXEMPLAR_INT = makeTag(6, WIRE_FIXED64);
const TAG_EXEMPLAR_SPAN_ID = makeTag(4, WIRE_LENGTH_DELIMITED);
const TAG_EXEMPLAR_TRACE_ID = makeTag(5, WIRE_LENGTH_DELIMITED);

const NUMBER = 0;
const HISTOGRAM = 1;
const EXPONENTIAL = 2;
const SUMMARY = 3;

/**
 * For each point ordinal of an OTLP protobuf body (as the scanner numbers them: target_info ordinals hold none),
 * how many of its exemplars Mimir keeps. Points Mimir refuses are the caller's business.
 */
export function keptOtlpExemplars(
  buf: Uint8Array,
  format: 'otlp-proto' | 'otlp-json',
  rules: ExemplarRules,
): number[] {
  return keptOf(format === 'otlp-json' ? readJsonPoints(buf) : readPoints(buf), rules);
}

function keptOf(points: OtlpPoints, rules: ExemplarRules): number[] {
  let earliest = Infinity;
  for (const p of points.times) if (p < earliest) earliest = p;
  // Without samples Mimir rejects no exemplar for its age, whatever past_grace_period says.
  const minTimestamp =
    earliest === Infinity ? 0 : Math.max(earliest - EXEMPLAR_MAX_AGE_MS, rules.pastBoundMs ?? -Infinity);
  const kept = new Array<number>(points.ordinals).fill(0);
  const seenPerSeries = new Map<string, number>();
  const judge = (key: string, exemplar: OtlpExemplar): boolean => {
    if (rules.maxPerSeries > 0) {
      const seen = seenPerSeries.get(key) ?? 0;
      seenPerSeries.set(key, seen + 1);
      if (seen >= rules.maxPerSeries) return false;
    }
    return (
      exemplar.labels > 0 &&
      exemplar.validLabel &&
      exemplar.ms !== 0 &&
      exemplar.ms >= minTimestamp &&
      exemplar.ms <= rules.maxTimestampMs
    );
  };
  for (const p of points.withExemplars) {
    let count = 0;
    if (p.bounds === undefined) {
      for (const e of p.exemplars) if (judge(p.key, e)) count++;
    } else {
      // Each bucket takes the exemplars that follow, while their values are within its bound.
      let next = 0;
      for (let b = 0; b <= p.bounds.length; b++) {
        const bound = b < p.bounds.length ? p.bounds[b]! : Infinity;
        const key = `${p.key}\u0000${b < p.bounds.length ? String(bound) : '+Inf'}`;
        for (; next < p.exemplars.length; next++) {
          const e = p.exemplars[next]!;
          if (b < p.bounds.length && e.value > bound) break;
          if (judge(key, e)) count++;
        }
      }
    }
    kept[p.ordinal] = count;
  }
  return kept;
}

/** Every point's time (ms) and the points carrying exemplars, in body order. */
function readPoints(buf: Uint8Array): OtlpPoints {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const latin1 = (start: number, end: number): string =>
    Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
  const times: number[] = [];
  const withExemplars: PointExemplars[] = [];
  let ordinal = 0;
  const end = buf.length;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_RESOURCE_METRICS) {
      reader.skip(tag, end);
      continue;
    }
    const rmEnd = reader.messageEnd(end);
    // The resource stands for job, instance and promoted attributes: the same bytes, the same labels.
    let resourceKey = '';
    const start = reader.pos;
    while (reader.pos < rmEnd) {
      const t = reader.tag(rmEnd);
      if (t === TAG_RESOURCE) {
        const e = reader.messageEnd(rmEnd);
        resourceKey = latin1(reader.pos, e);
        reader.pos = e;
      } else reader.skip(t, rmEnd);
    }
    reader.pos = start;
    while (reader.pos < rmEnd) {
      const t = reader.tag(rmEnd);
      if (t !== TAG_SCOPE_METRICS) {
        reader.skip(t, rmEnd);
        continue;
      }
      const smEnd = reader.messageEnd(rmEnd);
      while (reader.pos < smEnd) {
        const mt = reader.tag(smEnd);
        if (mt !== TAG_METRICS) {
          reader.skip(mt, smEnd);
          continue;
        }
        const mEnd = reader.messageEnd(smEnd);
        const mStart = reader.pos;
        let name = '';
        while (reader.pos < mEnd) {
          const f = reader.tag(mEnd);
          if (f === TAG_METRIC_NAME) {
            const length = reader.length(mEnd);
            name = latin1(reader.pos, reader.pos + length);
            reader.pos += length;
          } else reader.skip(f, mEnd);
        }
        reader.pos = mStart;
        while (reader.pos < mEnd) {
          const f = reader.tag(mEnd);
          const kind =
            f === TAG_GAUGE || f === TAG_SUM
              ? NUMBER
              : f === TAG_HISTOGRAM
                ? HISTOGRAM
                : f === TAG_EXPONENTIAL_HISTOGRAM
                  ? EXPONENTIAL
                  : f === TAG_SUMMARY
                    ? SUMMARY
                    : -1;
          if (kind < 0) {
            reader.skip(f, mEnd);
            continue;
          }
          const dEnd = reader.messageEnd(mEnd);
          const aggregated = f !== TAG_GAUGE && f !== TAG_SUMMARY;
          if (aggregated && temporalityOf(reader, dEnd) !== TEMPORALITY_CUMULATIVE) {
            reader.pos = dEnd;
            continue;
          }
          while (reader.pos < dEnd) {
            const pt = reader.tag(dEnd);
            if (pt !== TAG_DATA_POINTS) {
              reader.skip(pt, dEnd);
              continue;
            }
            const pEnd = reader.messageEnd(dEnd);
            const point = readPoint(reader, view, latin1, kind, pEnd);
            times.push(point.ms);
            if (point.exemplars.length > 0) {
              withExemplars.push({
                ordinal,
                key: `${resourceKey}\u0001${name}\u0001${point.attributes.sort().join('\u0001')}`,
                bounds:
                  kind === HISTOGRAM
                    ? point.bounds.slice(0, Math.min(point.bounds.length, point.buckets))
                    : undefined,
                exemplars: point.exemplars,
              });
            }
            ordinal++;
          }
        }
      }
    }
    ordinal++; // the resource's target_info
  }
  return { ordinals: ordinal, times, withExemplars };
}

function readPoint(
  reader: ProtoReader,
  view: DataView,
  latin1: (start: number, end: number) => string,
  kind: number,
  end: number,
): { ms: number; attributes: string[]; bounds: number[]; buckets: number; exemplars: OtlpExemplar[] } {
  const attributesTag =
    kind === HISTOGRAM
      ? TAG_HISTOGRAM_ATTRIBUTES
      : kind === EXPONENTIAL
        ? TAG_EXPONENTIAL_ATTRIBUTES
        : TAG_NUMBER_ATTRIBUTES;
  const exemplarsTag =
    kind === HISTOGRAM
      ? TAG_HISTOGRAM_EXEMPLARS
      : kind === EXPONENTIAL
        ? TAG_EXPONENTIAL_EXEMPLARS
        : TAG_NUMBER_EXEMPLARS;
  let ms = 0;
  const attributes: string[] = [];
  const bounds: number[] = [];
  let buckets = 0;
  const exemplars: OtlpExemplar[] = [];
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === attributesTag && kind !== SUMMARY) {
      const e = reader.messageEnd(end);
      attributes.push(latin1(reader.pos, e));
      reader.pos = e;
    } else if (tag === TAG_POINT_TIME) {
      ms = nanosToMs(view.getBigUint64(reader.pos, true));
      reader.skip(tag, end);
    } else if (tag === exemplarsTag && kind !== SUMMARY) {
      exemplars.push(readExemplar(reader, view, reader.messageEnd(end)));
    } else if (kind === HISTOGRAM && tag === TAG_EXPLICIT_BOUNDS_PACKED) {
      const e = reader.messageEnd(end);
      for (; reader.pos + 8 <= e; reader.pos += 8) bounds.push(view.getFloat64(reader.pos, true));
      reader.pos = e;
    } else if (kind === HISTOGRAM && tag === TAG_EXPLICIT_BOUNDS_ONE) {
      bounds.push(view.getFloat64(reader.pos, true));
      reader.skip(tag, end);
    } else if (kind === HISTOGRAM && tag === TAG_BUCKET_COUNTS_PACKED) {
      const length = reader.length(end);
      buckets += Math.floor(length / 8);
      reader.pos += length;
    } else if (kind === HISTOGRAM && tag === TAG_BUCKET_COUNTS_ONE) {
      buckets++;
      reader.skip(tag, end);
    } else {
      reader.skip(tag, end);
    }
  }
  return { ms, attributes, bounds, buckets, exemplars };
}

/** An exemplar's time, value and labels as getPromExemplars makes them. */
function readExemplar(reader: ProtoReader, view: DataView, end: number): OtlpExemplar {
  const buf = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let ms = 0;
  let value = 0;
  let trace = false;
  let span = false;
  let attributes = 0;
  let attributeRunes = 0;
  let validAttribute = false;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_EXEMPLAR_TIME) {
      ms = nanosToMs(view.getBigUint64(reader.pos, true));
      reader.skip(tag, end);
    } else if (tag === TAG_EXEMPLAR_DOUBLE) {
      value = view.getFloat64(reader.pos, true);
      reader.skip(tag, end);
    } else if (tag === TAG_EXEMPLAR_INT) {
      value = Number(view.getBigInt64(reader.pos, true));
      reader.skip(tag, end);
    } else if (tag === TAG_EXEMPLAR_TRACE_ID || tag === TAG_EXEMPLAR_SPAN_ID) {
      // An ID of zero bytes, or of zeros only, is empty: no label.
      const length = reader.length(end);
      const id = !allZero(buf, reader.pos, length);
      reader.pos += length;
      if (tag === TAG_EXEMPLAR_TRACE_ID) trace = id;
      else span = id;
    } else if (tag === TAG_EXEMPLAR_ATTRIBUTES) {
      const kvEnd = reader.messageEnd(end);
      const { keyRunes, valueRunes } = attributeRunesOf(reader, buf, kvEnd);
      attributes++;
      attributeRunes += keyRunes + valueRunes;
      if (keyRunes > 0 && valueRunes > 0) validAttribute = true;
    } else {
      reader.skip(tag, end);
    }
  }
  return translatedExemplar(ms, value, trace, span, attributes, attributeRunes, validAttribute);
}

function allZero(buf: Uint8Array, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** UTF-8 characters in buf[start, start + length): bytes that do not continue a character. */
function runes(buf: Uint8Array, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) if ((buf[i]! & 0xc0) !== 0x80) n++;
  return n;
}

/**
 * The characters of a KeyValue's key and of its value as pcommon's AsString writes it: a string's characters;
 * other values are ASCII, their length as anyValueLength gives it (arrays and maps by their encoded size).
 */
function attributeRunesOf(
  reader: ProtoReader,
  buf: Uint8Array,
  end: number,
): { keyRunes: number; valueRunes: number } {
  let keyRunes = 0;
  let valueRunes = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_KEY) {
      const length = reader.length(end);
      keyRunes = runes(buf, reader.pos, length);
      reader.pos += length;
    } else if (tag === TAG_VALUE) {
      const valueEnd = reader.messageEnd(end);
      const start = reader.pos;
      let stringRunes = -1;
      while (reader.pos < valueEnd) {
        const t = reader.tag(valueEnd);
        if (t === TAG_STRING_VALUE) {
          const length = reader.length(valueEnd);
          stringRunes = runes(buf, reader.pos, length);
          reader.pos += length;
        } else reader.skip(t, valueEnd);
      }
      if (stringRunes >= 0) valueRunes = stringRunes;
      else {
        reader.pos = start;
        valueRunes = anyValueLength(reader, buf, valueEnd);
      }
      reader.pos = valueEnd;
    } else {
      reader.skip(tag, end);
    }
  }
  return { keyRunes, valueRunes };
}
