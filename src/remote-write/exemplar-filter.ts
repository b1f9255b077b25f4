// The exemplars Mimir keeps, and so charges: per series the first max_exemplars_per_series_per_request, less the
// ones its validateExemplars drops without an error (no labels, no timestamp, a label set over 128 characters,
// every label blank, older than the request's earliest sample minus 5 minutes or, with past_grace_period, than now
// minus it and the out-of-order window, later than now plus the creation grace period). Runs only for a request
// carrying exemplars that the tenant is charged for, so it may allocate.

import { ProtoReader, WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { WriteFormat } from './request-info.js';
import {
  TAG_SAMPLES,
  TAG_TIMESERIES,
  TAG_V2_SYMBOLS,
  TAG_V2_TIMESERIES,
  readRw1Label,
} from './rw-series-fields.js';

/** Mimir's ExemplarMaxLabelSetLength (OpenMetrics): names and values together, in characters. */
export const EXEMPLAR_MAX_LABEL_SET_LENGTH = 128;
/** Mimir drops exemplars more than 5 minutes older than the request's earliest sample. */
const EXEMPLAR_MAX_AGE_MS = 5 * 60 * 1000;

export interface ExemplarRules {
  /** max_exemplars_per_series_per_request; 0: all. Mimir keeps the first ones, before validating. */
  maxPerSeries: number;
  /** Now plus creation_grace_period, in ms: a later exemplar is dropped. */
  maxTimestampMs: number;
  /**
   * With past_grace_period above 0, now minus it and out_of_order_time_window, in ms: when the request has samples,
   * an older exemplar is dropped too (Mimir raises its minimum exemplar time to this). Omitted: no such bound.
   */
  pastBoundMs?: number;
}

// RW1: WriteRequest.timeseries = 1; TimeSeries samples = 2, exemplars = 3, histograms = 4; Label name 1, value 2.
// RW2: Request.symbols = 4, timeseries = 5; TimeSeries samples = 2, histograms = 3, exemplars = 4.
// Both: Sample.timestamp = 2, Exemplar labels = 1 (RW2: refs), timestamp = 3, Histogram.timestamp = 15.
const TAG_SAMPLE_TIMESTAMP = makeTag(2, WIRE_VARINT);
const TAG_EXEMPLAR_LABELS = makeTag(1, WIRE_LENGTH_DELIMITED);
const TAG_EXEMPLAR_REF = makeTag(1, WIRE_VARINT);
const TAG_EXEMPLAR_TIMESTAMP = makeTag(3, WIRE_VARINT);
const TAG_HISTOGRAM_TIMESTAMP = makeTag(15, WIRE_VARINT);

/** UTF-8 characters in buf[start, start + length): bytes that do not continue a character. */
function runes(buf: Uint8Array, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) if ((buf[i]! & 0xc0) !== 0x80) n++;
  return n;
}

/** Reads the varint field `wanted` of the message ending at `end` (last one wins); 0 when absent. */
function varintField(reader: ProtoReader, end: number, wanted: number): number {
  let value = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === wanted) value = reader.varint(end);
    else reader.skip(tag, end);
  }
  return value;
}

/**
 * For each series of a scanned RW1 or RW2 body (body order), how many of its exemplars Mimir keeps. Series Mimir
 * refuses are the caller's business (their exemplars are not charged either).
 */
export function keptExemplars(
  buf: Uint8Array,
  format: WriteFormat,
  series: number,
  rules: ExemplarRules,
): Uint32Array {
  const rw2 = format === 'prw2';
  const seriesTag = rw2 ? TAG_V2_TIMESERIES : TAG_TIMESERIES;
  const exemplarsTag = makeTag(rw2 ? 4 : 3, WIRE_LENGTH_DELIMITED);
  const histogramsTag = makeTag(rw2 ? 3 : 4, WIRE_LENGTH_DELIMITED);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;

  // Pass 1: the earliest sample or histogram timestamp, and (RW2) where each symbol lies.
  let earliest = Infinity;
  const symbolStarts: number[] = [];
  const symbolLengths: number[] = [];
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (rw2 && tag === TAG_V2_SYMBOLS) {
      const length = reader.length(end);
      symbolStarts.push(reader.pos);
      symbolLengths.push(length);
      reader.pos += length;
      continue;
    }
    if (tag !== seriesTag) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    while (reader.pos < seriesEnd) {
      const field = reader.tag(seriesEnd);
      if (field === TAG_SAMPLES || field === histogramsTag) {
        const messageEnd = reader.messageEnd(seriesEnd);
        const wanted = field === TAG_SAMPLES ? TAG_SAMPLE_TIMESTAMP : TAG_HISTOGRAM_TIMESTAMP;
        const timestamp = varintField(reader, messageEnd, wanted);
        if (timestamp < earliest) earliest = timestamp;
      } else {
        reader.skip(field, seriesEnd);
      }
    }
  }
  // Without samples Mimir rejects no exemplar for its age, whatever past_grace_period says.
  const minTimestamp =
    earliest === Infinity ? 0 : Math.max(earliest - EXEMPLAR_MAX_AGE_MS, rules.pastBoundMs ?? -Infinity);

  // Pass 2: each series' exemplars, the first maxPerSeries of them judged.
  const kept = new Uint32Array(series);
  reader.pos = 0;
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== seriesTag) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    let seen = 0;
    let count = 0;
    while (reader.pos < seriesEnd) {
      const field = reader.tag(seriesEnd);
      if (field !== exemplarsTag) {
        reader.skip(field, seriesEnd);
        continue;
      }
      const exemplarEnd = reader.messageEnd(seriesEnd);
      if (rules.maxPerSeries > 0 && seen >= rules.maxPerSeries) {
        reader.pos = exemplarEnd;
        continue;
      }
      seen++;
      let labels = 0;
      let length = 0;
      let validLabel = false;
      let timestamp = 0;
      let pendingName = -1;
      const pair = (nameStart: number, nameLength: number, valueStart: number, valueLength: number): void => {
        labels++;
        length += runes(buf, nameStart, nameLength) + runes(buf, valueStart, valueLength);
        if (nameLength > 0 && valueLength > 0) validLabel = true;
      };
      const ref = (r: number): void => {
        if (r >= symbolStarts.length) return; // the scan already refused such a body
        if (pendingName < 0) {
          pendingName = r;
          return;
        }
        pair(symbolStarts[pendingName]!, symbolLengths[pendingName]!, symbolStarts[r]!, symbolLengths[r]!);
        pendingName = -1;
      };
      while (reader.pos < exemplarEnd) {
        const exemplarTag = reader.tag(exemplarEnd);
        if (exemplarTag === TAG_EXEMPLAR_TIMESTAMP) {
          timestamp = reader.varint(exemplarEnd);
        } else if (!rw2 && exemplarTag === TAG_EXEMPLAR_LABELS) {
          const l = readRw1Label(reader, exemplarEnd);
          pair(l.nameStart, l.nameLength, l.valueStart, l.valueLength);
        } else if (rw2 && exemplarTag === TAG_EXEMPLAR_LABELS) {
          const refsEnd = reader.messageEnd(exemplarEnd);
          while (reader.pos < refsEnd) ref(reader.varint(refsEnd));
        } else if (rw2 && exemplarTag === TAG_EXEMPLAR_REF) {
          ref(reader.varint(exemplarEnd));
        } else {
          reader.skip(exemplarTag, exemplarEnd);
        }
      }
      const keep =
        labels > 0 &&
        timestamp !== 0 &&
        length <= EXEMPLAR_MAX_LABEL_SET_LENGTH &&
        validLabel &&
        timestamp >= minTimestamp &&
        timestamp <= rules.maxTimestampMs;
      if (keep) count++;
    }
    if (index < series) kept[index] = count;
    index++;
  }
  return kept;
}
