// Measures a decompressed Prometheus remote-write 1.0 body (prometheus.WriteRequest) in one pass.
// Must never build per-series objects, decode strings or allocate per series, and must never throw anything but
// BodyDecodeError, whatever the bytes. Sample, exemplar, histogram and metadata payloads are skipped by length.

import { invalidProtobuf } from './errors.js';
import {
  RW1_MESSAGE_NAME,
  RW1_TAG_SKIP_LABEL_NAME_VALIDATION,
  RW1_TAG_SOURCE,
  foreignTopLevelField,
} from './format-fit.js';
import {
  ProtoReader,
  WIRE_FIXED64,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  makeTag,
} from '../wire/protobuf-reader.js';
import type { RequestInfo } from './request-info.js';
import { sampleTimestamp } from './duplicate-samples.js';
import { sampleTimeKey } from './sample-times.js';

// Field numbers from prometheus/prompb remote.proto and types.proto. All are length-delimited.
// WriteRequest: repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3;
// (2 is reserved: Cortex/Mimir put their `source` enum there, so it is skipped like any unknown field.)
export const WRITE_REQUEST_TIMESERIES = 1;
export const WRITE_REQUEST_METADATA = 3;
// TimeSeries: repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
// repeated Histogram histograms = 4;
export const TIMESERIES_LABELS = 1;
export const TIMESERIES_SAMPLES = 2;
export const TIMESERIES_EXEMPLARS = 3;
export const TIMESERIES_HISTOGRAMS = 4;
// Label: string name = 1; string value = 2;
export const LABEL_NAME = 1;
export const LABEL_VALUE = 2;

const TAG_TIMESERIES = makeTag(WRITE_REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
const TAG_METADATA = makeTag(WRITE_REQUEST_METADATA, WIRE_LENGTH_DELIMITED);
const TAG_LABELS = makeTag(TIMESERIES_LABELS, WIRE_LENGTH_DELIMITED);
const TAG_SAMPLES = makeTag(TIMESERIES_SAMPLES, WIRE_LENGTH_DELIMITED);
const TAG_EXEMPLARS = makeTag(TIMESERIES_EXEMPLARS, WIRE_LENGTH_DELIMITED);
const TAG_HISTOGRAMS = makeTag(TIMESERIES_HISTOGRAMS, WIRE_LENGTH_DELIMITED);
const TAG_LABEL_NAME = makeTag(LABEL_NAME, WIRE_LENGTH_DELIMITED);
const TAG_LABEL_VALUE = makeTag(LABEL_VALUE, WIRE_LENGTH_DELIMITED);
// Sample: double value = 1; int64 timestamp = 2;
const TAG_SAMPLE_VALUE = makeTag(1, WIRE_FIXED64);
const TAG_SAMPLE_TIMESTAMP = makeTag(2, WIRE_VARINT);

/**
 * Scans `buf` (the decompressed body) and returns what Mimir would count: series, float samples, histogram
 * samples, exemplars, metadata, and the label extremes with the index of the series that holds each.
 *
 * Ties keep the first series. `maxLabelNamesSeries` is -1 only when there are no series; `maxLabelNameSeries` and
 * `maxLabelValueSeries` are -1 when there is no label at all. Lengths are in bytes, as Mimir measures them.
 * A known field with the wrong wire type is rejected, as gogo-protobuf (Mimir's decoder) rejects it; unknown
 * fields of wire types 0, 1, 2 and 5 are skipped.
 */
export function scanWriteRequest(buf: Uint8Array, bytesCompressed: number): RequestInfo {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;

  let series = 0;
  let floatSamples = 0;
  let histogramSamples = 0;
  let exemplars = 0;
  let metadata = 0;
  let maxLabelNames = 0;
  let maxLabelNamesSeries = -1;
  let maxLabelNameLength = 0;
  let maxLabelNameSeries = -1;
  let maxLabelValueLength = 0;
  let maxLabelValueSeries = -1;
  let maxExemplarsPerSeries = 0;
  let samplesOutOfOrder = false;
  // The request's smallest and largest sample-time keys (sampleTimeKey): bounds for the grace periods.
  let minTimeKey = 0x7fffffff;
  let maxTimeKey = -1;

  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_TIMESERIES) {
      const seriesLength = reader.length(end);
      const seriesEnd = reader.pos + seriesLength;
      const seriesIndex = series++;
      let labels = 0;
      let seriesExemplars = 0;
      // Samples of this series, and where the first one lies: its timestamp is read only when a second comes, so
      // a series of one sample (most of them) pays nothing for the duplicate-timestamp check.
      let seriesSamples = 0;
      let firstSampleStart = 0;
      let firstSampleEnd = 0;
      let lastTimestamp = 0;
      while (reader.pos < seriesEnd) {
        // Labels as every sender writes them, `0a <l> 0a <n> name 12 <m> value` with one-byte lengths filling the
        // Label exactly, are read here in a run without a call, on a local position: labels are most of a body.
        // Every read stays inside the label; anything else ends the run and takes the checked path below, which
        // also raises every error.
        let p = reader.pos;
        while (p + 1 < seriesEnd && buf[p] === TAG_LABELS) {
          const labelLength = buf[p + 1]!;
          const labelStart = p + 2;
          const labelEnd = labelStart + labelLength;
          if (
            labelLength >= 0x80 ||
            labelLength < 4 ||
            labelEnd > seriesEnd ||
            buf[labelStart] !== TAG_LABEL_NAME
          )
            break;
          const nameLength = buf[labelStart + 1]!;
          const valueTagAt = labelStart + 2 + nameLength;
          const valueLength = labelEnd - valueTagAt - 2;
          if (valueLength < 0 || buf[valueTagAt] !== TAG_LABEL_VALUE || buf[valueTagAt + 1] !== valueLength)
            break;
          labels++;
          if (nameLength > maxLabelNameLength || maxLabelNameSeries < 0) {
            maxLabelNameLength = nameLength;
            maxLabelNameSeries = seriesIndex;
          }
          if (valueLength > maxLabelValueLength || maxLabelValueSeries < 0) {
            maxLabelValueLength = valueLength;
            maxLabelValueSeries = seriesIndex;
          }
          p = labelEnd;
        }
        reader.pos = p;
        if (p >= seriesEnd) break;
        const seriesTag = reader.tag(seriesEnd);
        if (seriesTag === TAG_LABELS) {
          const labelLength = reader.length(seriesEnd);
          const labelStart = reader.pos;
          const labelEnd = labelStart + labelLength;
          labels++;
          // Fast path for the encoding every sender produces: `0a <n> name 12 <m> value` with n, m < 128 filling
          // the label exactly. Reading those bytes directly is most of the scanner's speed; anything else (long
          // or empty strings, another field order, unknown fields) takes the general loop below.
          let nameLength = -1;
          let valueLength = -1;
          if (labelLength >= 4 && buf[labelStart] === TAG_LABEL_NAME) {
            const fastNameLength = buf[labelStart + 1]!;
            const valueTagAt = labelStart + 2 + fastNameLength;
            if (fastNameLength < 0x80 && valueTagAt + 2 <= labelEnd && buf[valueTagAt] === TAG_LABEL_VALUE) {
              const fastValueLength = buf[valueTagAt + 1]!;
              if (fastValueLength < 0x80 && valueTagAt + 2 + fastValueLength === labelEnd) {
                nameLength = fastNameLength;
                valueLength = fastValueLength;
              }
            }
          }
          if (nameLength < 0) {
            // Proto3 keeps the last occurrence of a repeated scalar field, so a later name or value overrides.
            nameLength = 0;
            valueLength = 0;
            while (reader.pos < labelEnd) {
              const labelTag = reader.tag(labelEnd);
              if (labelTag === TAG_LABEL_NAME) {
                nameLength = reader.length(labelEnd);
                reader.pos += nameLength;
              } else if (labelTag === TAG_LABEL_VALUE) {
                valueLength = reader.length(labelEnd);
                reader.pos += valueLength;
              } else {
                skipUnknownField(reader, labelTag, labelEnd, 2, 'Label');
              }
            }
          }
          reader.pos = labelEnd;
          if (nameLength > maxLabelNameLength || maxLabelNameSeries < 0) {
            maxLabelNameLength = nameLength;
            maxLabelNameSeries = seriesIndex;
          }
          if (valueLength > maxLabelValueLength || maxLabelValueSeries < 0) {
            maxLabelValueLength = valueLength;
            maxLabelValueSeries = seriesIndex;
          }
        } else if (seriesTag === TAG_SAMPLES) {
          floatSamples++;
          // A Sample (double value = 1, int64 timestamp = 2) is where another format's message would sit in a
          // mislabelled body (an OTLP ScopeMetrics, whose fields are all length-delimited), so it must not pass
          // as one sample. Its first tag decides: the value's or the timestamp's (every sender's encoding) is
          // skipped by length as before; anything else is read field by field, wire types checked.
          const sampleEnd = reader.messageEnd(seriesEnd);
          const sampleStart = reader.pos;
          const first = buf[sampleStart];
          if (sampleStart === sampleEnd || first === TAG_SAMPLE_VALUE || first === TAG_SAMPLE_TIMESTAMP)
            reader.pos = sampleEnd;
          else checkSample(reader, sampleEnd);
          // The sample's time key (sampleTimeKey), read inline for the layout every sender writes.
          let timeKey = -1;
          if (sampleEnd - sampleStart === 16 && first === TAG_SAMPLE_VALUE) {
            timeKey =
              (buf[sampleStart + 15]! << 21) |
              ((buf[sampleStart + 14]! & 0x7f) << 14) |
              ((buf[sampleStart + 13]! & 0x7f) << 7) |
              (buf[sampleStart + 12]! & 0x7f);
          }
          if (timeKey < 0) timeKey = sampleTimeKey(buf, sampleStart, sampleEnd);
          if (timeKey > maxTimeKey) maxTimeKey = timeKey;
          if (timeKey < minTimeKey) minTimeKey = timeKey;
          // Mimir keeps one sample per timestamp in a series: timestamps that only increase cannot repeat, so
          // only a series whose timestamps do not (or that the quick read cannot tell) needs the exact count.
          if (seriesSamples === 0) {
            firstSampleStart = sampleStart;
            firstSampleEnd = sampleEnd;
          } else {
            if (seriesSamples === 1) lastTimestamp = sampleTimestamp(buf, firstSampleStart, firstSampleEnd);
            const timestamp = sampleTimestamp(buf, sampleStart, sampleEnd);
            if (!(timestamp > lastTimestamp)) samplesOutOfOrder = true;
            lastTimestamp = timestamp;
          }
          seriesSamples++;
        } else if (seriesTag === TAG_HISTOGRAMS) {
          histogramSamples++;
          reader.skipLengthDelimited(seriesEnd);
        } else if (seriesTag === TAG_EXEMPLARS) {
          seriesExemplars++;
          reader.skipLengthDelimited(seriesEnd);
        } else {
          skipUnknownField(reader, seriesTag, seriesEnd, 4, 'TimeSeries');
        }
      }
      if (labels > maxLabelNames || maxLabelNamesSeries < 0) {
        maxLabelNames = labels;
        maxLabelNamesSeries = seriesIndex;
      }
      exemplars += seriesExemplars;
      if (seriesExemplars > maxExemplarsPerSeries) maxExemplarsPerSeries = seriesExemplars;
    } else if (tag === TAG_METADATA) {
      metadata++;
      reader.skipLengthDelimited(end);
    } else if (tag >>> 3 === WRITE_REQUEST_TIMESERIES || tag >>> 3 === WRITE_REQUEST_METADATA) {
      throw wrongWireType(tag, 'WriteRequest', reader.pos);
    } else if (tag === RW1_TAG_SOURCE || tag === RW1_TAG_SKIP_LABEL_NAME_VALIDATION) {
      // Mimir's `source` enum (2) and `skip_label_name_validation` (1000): varints that carry no items.
      reader.varint(end);
    } else {
      // Anything else at the top level is another message's field (RW2's symbols 4 and timeseries 5, say).
      throw foreignTopLevelField(tag, RW1_MESSAGE_NAME, reader.pos);
    }
  }

  return {
    format: 'prw1',
    series,
    floatSamples,
    histogramSamples,
    exemplars,
    metadata,
    maxLabelNames,
    maxLabelNamesSeries,
    maxLabelNameLength,
    maxLabelNameSeries,
    maxLabelValueLength,
    maxLabelValueSeries,
    maxExemplarsPerSeries,
    // Absent (undefined) in the common case, so a RequestInfo without the flag reads the same.
    samplesOutOfOrder: samplesOutOfOrder || undefined,
    minSampleTimeKey: floatSamples === 0 ? undefined : minTimeKey,
    maxSampleTimeKey: floatSamples === 0 ? undefined : maxTimeKey,
    bytesCompressed,
    bytesUncompressed: buf.length,
  };
}

/**
 * Skips a field the scanner does not read. Fields 1..highestKnownField are known (all length-delimited), so
 * reaching here with one of them means the wire type is wrong.
 */
function skipUnknownField(
  reader: ProtoReader,
  tag: number,
  end: number,
  highestKnownField: number,
  message: string,
): void {
  if (tag >>> 3 <= highestKnownField) {
    throw wrongWireType(tag, message, reader.pos);
  }
  reader.skip(tag, end);
}

/** Reads a Sample (double value = 1; int64 timestamp = 2) field by field, only to check its wire types. */
function checkSample(reader: ProtoReader, end: number): void {
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_SAMPLE_VALUE || tag === TAG_SAMPLE_TIMESTAMP) reader.skip(tag, end);
    else skipUnknownField(reader, tag, end, 2, 'Sample');
  }
}

function wrongWireType(tag: number, message: string, offset: number): Error {
  return invalidProtobuf(`wrong wire type ${tag & 7} for ${message} field ${tag >>> 3}`, offset);
}
