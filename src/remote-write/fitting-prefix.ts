// Selective filtering's choice: the longest run of an RW1 or RW2 body's series, in body order, whose items fit
// what is left of a tenant's ingestion_rate budget. Runs only on a request over that budget.

import { ProtoReader, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import { histogramTimestamp } from './duplicate-histograms.js';
import { invalidProtobuf } from './errors.js';
import type { RequestInfo } from './request-info.js';
import {
  TAG_EXEMPLARS,
  TAG_HISTOGRAMS,
  TAG_SAMPLES,
  TAG_TIMESERIES,
  TAG_V2_EXEMPLARS,
  TAG_V2_HISTOGRAMS,
  TAG_V2_METADATA,
  TAG_V2_SAMPLES,
  TAG_V2_TIMESERIES,
  rw2MetadataIsSet,
} from './rw-series-fields.js';

/** The longest run of series, from the first in body order, whose items fit a budget (selective filtering). */
export interface FittingPrefix {
  /** 1 for each series of the prefix, 0 for every other, in body order. */
  keep: Uint8Array;
  /** What the prefix is worth: the items Mimir charges, and the counts of the request it makes. */
  cost: number;
  info: RequestInfo;
}

/**
 * The series of an RW1 or RW2 body that fit `budget` items of `ingestion_rate`, taken in body order from series
 * `skip` on (the ones before were delivered already) and stopping at the first that does not fit: a stable
 * choice, so a sender retrying the same request is offered the rest in order. A series costs its samples,
 * native histogram samples and (when `exemplarsCharged`) exemplars, plus, in RW2, its metadata. RW1 metadata,
 * which sits outside the series, is not part of any prefix. Series past the prefix are not read. A sample or
 * histogram repeating a timestamp of its series costs nothing (Mimir keeps one); their times are read only when
 * the scan saw samples out of order or the request has two histograms or more.
 */
export function fittingPrefix(
  buf: Uint8Array,
  measured: RequestInfo,
  exemplarsCharged: boolean,
  budget: number,
  skip = 0,
): FittingPrefix {
  const v2 = measured.format === 'prw2';
  if (!v2 && measured.format !== 'prw1')
    throw new RangeError(`selective filtering reads remote write only, not ${measured.format}`);
  const seriesTag = v2 ? TAG_V2_TIMESERIES : TAG_TIMESERIES;
  const samplesTag = v2 ? TAG_V2_SAMPLES : TAG_SAMPLES;
  const histogramsTag = v2 ? TAG_V2_HISTOGRAMS : TAG_HISTOGRAMS;
  const exemplarsTag = v2 ? TAG_V2_EXEMPLARS : TAG_EXEMPLARS;
  const dedupe = measured.samplesOutOfOrder === true || measured.histogramSamples > 1;
  const seenSamples = new Set<number>();
  const seenHistograms = new Set<number>();
  const keep = new Uint8Array(measured.series);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let index = 0;
  let kept = 0;
  let cost = 0;
  let floatSamples = 0;
  let histogramSamples = 0;
  let exemplars = 0;
  let metadata = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== seriesTag) {
      reader.skip(tag, end);
      continue;
    }
    if (index < skip) {
      index++;
      reader.skipLengthDelimited(end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    let samples = 0;
    let histograms = 0;
    let seriesExemplars = 0;
    let seriesMetadata = 0;
    while (reader.pos < seriesEnd) {
      const t = reader.tag(seriesEnd);
      if (v2 && t === TAG_V2_METADATA) {
        if (rw2MetadataIsSet(reader, seriesEnd)) seriesMetadata = 1;
        continue;
      }
      if (dedupe && (t === samplesTag || t === histogramsTag)) {
        const messageEnd = reader.messageEnd(seriesEnd);
        const histogram = t === histogramsTag;
        const seen = histogram ? seenHistograms : seenSamples;
        const at = histogram
          ? histogramTimestamp(reader, messageEnd)
          : sampleTimestampField(reader, messageEnd);
        if (seen.has(at)) continue;
        seen.add(at);
        if (histogram) histograms++;
        else samples++;
        continue;
      }
      if (t === samplesTag) samples++;
      else if (t === histogramsTag) histograms++;
      else if (t === exemplarsTag) seriesExemplars++;
      reader.skip(t, seriesEnd);
    }
    if (dedupe) {
      seenSamples.clear();
      seenHistograms.clear();
    }
    const seriesCost = samples + histograms + seriesMetadata + (exemplarsCharged ? seriesExemplars : 0);
    if (cost + seriesCost > budget) break;
    keep[index++] = 1;
    kept++;
    cost += seriesCost;
    floatSamples += samples;
    histogramSamples += histograms;
    exemplars += seriesExemplars;
    metadata += seriesMetadata;
  }
  return {
    keep,
    cost,
    info: { ...measured, series: kept, floatSamples, histogramSamples, exemplars, metadata },
  };
}

const TAG_SAMPLE_TIMESTAMP = makeTag(2, WIRE_VARINT);

/** The timestamp field of the Sample ending at `end` (the last one written; 0 when absent). */
function sampleTimestampField(reader: ProtoReader, end: number): number {
  let timestamp = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_SAMPLE_TIMESTAMP) timestamp = reader.varint(end);
    else reader.skip(tag, end);
  }
  return timestamp;
}
