// The remote-write 2.0 scanner as it was before its fast paths: every read goes through ProtoReader, in two passes
// (symbol lengths, then the series). Kept only as an oracle: the equivalence property test checks that the fast
// scanner returns the same RequestInfo, or throws the same error, for any body. Never import it from src/.

import { invalidProtobuf } from '../../src/remote-write/errors.js';
import { RW2_MESSAGE_NAME, foreignTopLevelField } from '../../src/remote-write/format-fit.js';
import { ProtoReader, WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../../src/wire/protobuf-reader.js';
import type { RequestInfo } from '../../src/remote-write/request-info.js';

// Field numbers from prometheus/prompb io/prometheus/write/v2/types.proto.
// Request: reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5;
const REQUEST_SYMBOLS = 4;
const REQUEST_TIMESERIES = 5;
// TimeSeries: repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
// repeated Exemplar exemplars = 4; Metadata metadata = 5; int64 created_timestamp = 6;
const SERIES_LABELS_REFS = 1;
const SERIES_SAMPLES = 2;
const SERIES_HISTOGRAMS = 3;
const SERIES_EXEMPLARS = 4;
const SERIES_METADATA = 5;
const SERIES_CREATED_TIMESTAMP = 6;
// Metadata: MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4;
const METADATA_TYPE = 1;
const METADATA_HELP_REF = 3;
const METADATA_UNIT_REF = 4;

const TAG_SYMBOLS = makeTag(REQUEST_SYMBOLS, WIRE_LENGTH_DELIMITED);
const TAG_TIMESERIES = makeTag(REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
const TAG_LABELS_REFS_PACKED = makeTag(SERIES_LABELS_REFS, WIRE_LENGTH_DELIMITED);
const TAG_LABELS_REFS_ONE = makeTag(SERIES_LABELS_REFS, WIRE_VARINT);
const TAG_SAMPLES = makeTag(SERIES_SAMPLES, WIRE_LENGTH_DELIMITED);
const TAG_HISTOGRAMS = makeTag(SERIES_HISTOGRAMS, WIRE_LENGTH_DELIMITED);
const TAG_EXEMPLARS = makeTag(SERIES_EXEMPLARS, WIRE_LENGTH_DELIMITED);
const TAG_METADATA = makeTag(SERIES_METADATA, WIRE_LENGTH_DELIMITED);
const TAG_CREATED_TIMESTAMP = makeTag(SERIES_CREATED_TIMESTAMP, WIRE_VARINT);
const TAG_METADATA_TYPE = makeTag(METADATA_TYPE, WIRE_VARINT);
const TAG_METADATA_HELP_REF = makeTag(METADATA_HELP_REF, WIRE_VARINT);
const TAG_METADATA_UNIT_REF = makeTag(METADATA_UNIT_REF, WIRE_VARINT);

/**
 * Byte length of every symbol, reused across requests so a scan allocates nothing once warm. Only the
 * synchronous scan touches it, so concurrent requests cannot interleave.
 */
let symbolLengths = new Uint32Array(4096);

function growSymbolLengths(needed: number): void {
  let size = symbolLengths.length;
  while (size < needed) size *= 2;
  const grown = new Uint32Array(size);
  grown.set(symbolLengths);
  symbolLengths = grown;
}

/**
 * Scans `buf` (the decompressed body) and returns what Mimir would count: series, float samples, native
 * histogram samples, exemplars, metadata (a series whose metadata sets a type, help or unit), and the label
 * extremes with the series that holds each — label lengths are the byte lengths of the referenced symbols.
 *
 * Rejects, as Prometheus' and Mimir's decoders do: a `labels_refs` list of odd length, a reference past the
 * symbols table, and a known field with the wrong wire type. Unknown fields (and the reserved 1..3) are skipped.
 */
export function scanWriteRequestV2Reference(buf: Uint8Array, bytesCompressed: number): RequestInfo {
  const end = buf.length;
  const symbolCount = collectSymbolLengths(buf);
  const lengths = symbolLengths;
  const reader = new ProtoReader(buf, 0, invalidProtobuf);

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

  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_TIMESERIES) {
      // Symbols were measured in the first pass; everything else is unknown or reserved.
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    const seriesIndex = series++;
    // Position in this series' labels_refs list: even entries are names, odd ones values.
    let refs = 0;
    let seriesExemplars = 0;
    while (reader.pos < seriesEnd) {
      const seriesTag = reader.tag(seriesEnd);
      if (seriesTag === TAG_LABELS_REFS_PACKED || seriesTag === TAG_LABELS_REFS_ONE) {
        // An unpacked entry is one varint; a packed list (the usual encoding) may be empty.
        const single = seriesTag === TAG_LABELS_REFS_ONE;
        const refsEnd = single ? seriesEnd : reader.messageEnd(seriesEnd);
        for (;;) {
          if (!single && reader.pos >= refsEnd) break;
          const at = reader.pos;
          // Refs past 127 take two bytes; reading those inline keeps big symbol tables off the slow path.
          let ref: number;
          if (at + 1 < refsEnd && buf[at]! >= 0x80 && buf[at + 1]! < 0x80) {
            ref = (buf[at]! & 0x7f) | (buf[at + 1]! << 7);
            reader.pos = at + 2;
          } else {
            ref = reader.varint(refsEnd);
          }
          if (ref >= symbolCount) {
            throw invalidProtobuf(`labels_refs entry ${ref} is past the ${symbolCount} symbols`, at);
          }
          const length = lengths[ref]!;
          if ((refs & 1) === 0) {
            if (length > maxLabelNameLength || maxLabelNameSeries < 0) {
              maxLabelNameLength = length;
              maxLabelNameSeries = seriesIndex;
            }
          } else if (length > maxLabelValueLength || maxLabelValueSeries < 0) {
            maxLabelValueLength = length;
            maxLabelValueSeries = seriesIndex;
          }
          refs++;
          if (single) break;
        }
      } else if (seriesTag === TAG_SAMPLES) {
        floatSamples++;
        reader.skipLengthDelimited(seriesEnd);
      } else if (seriesTag === TAG_HISTOGRAMS) {
        histogramSamples++;
        reader.skipLengthDelimited(seriesEnd);
      } else if (seriesTag === TAG_EXEMPLARS) {
        seriesExemplars++;
        reader.skipLengthDelimited(seriesEnd);
      } else if (seriesTag === TAG_METADATA) {
        if (metadataIsSet(reader, reader.messageEnd(seriesEnd))) metadata++;
      } else if (seriesTag === TAG_CREATED_TIMESTAMP) {
        reader.varint(seriesEnd);
      } else if (seriesTag >>> 3 <= SERIES_CREATED_TIMESTAMP) {
        throw wrongWireType(seriesTag, 'TimeSeries', reader.pos);
      } else {
        reader.skip(seriesTag, seriesEnd);
      }
    }
    if ((refs & 1) !== 0) {
      throw invalidProtobuf(`series ${seriesIndex} has an odd number of labels_refs (${refs})`, seriesEnd);
    }
    const labels = refs >>> 1;
    exemplars += seriesExemplars;
    if (seriesExemplars > maxExemplarsPerSeries) maxExemplarsPerSeries = seriesExemplars;
    if (labels > maxLabelNames || maxLabelNamesSeries < 0) {
      maxLabelNames = labels;
      maxLabelNamesSeries = seriesIndex;
    }
  }

  return {
    format: 'prw2',
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
    bytesCompressed,
    bytesUncompressed: buf.length,
  };
}

/** First pass: records each symbol's byte length in `symbolLengths`; returns the symbol count. */
function collectSymbolLengths(buf: Uint8Array): number {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let count = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_SYMBOLS) {
      const length = reader.length(end);
      if (count === symbolLengths.length) growSymbolLengths(count + 1);
      symbolLengths[count++] = length;
      reader.pos += length;
    } else if (tag === TAG_TIMESERIES) {
      reader.skipLengthDelimited(end);
    } else if (tag >>> 3 === REQUEST_SYMBOLS || tag >>> 3 === REQUEST_TIMESERIES) {
      throw wrongWireType(tag, 'Request', reader.pos);
    } else {
      throw foreignTopLevelField(tag, RW2_MESSAGE_NAME, reader.pos);
    }
  }
  return count;
}

/** True when a series' Metadata sets a type, a help or a unit (references are checked only for wire shape). */
function metadataIsSet(reader: ProtoReader, end: number): boolean {
  let set = false;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_METADATA_TYPE || tag === TAG_METADATA_HELP_REF || tag === TAG_METADATA_UNIT_REF) {
      if (reader.varint(end) !== 0) set = true;
    } else if (
      tag >>> 3 === METADATA_TYPE ||
      tag >>> 3 === METADATA_HELP_REF ||
      tag >>> 3 === METADATA_UNIT_REF
    ) {
      throw wrongWireType(tag, 'Metadata', reader.pos);
    } else {
      reader.skip(tag, end);
    }
  }
  return set;
}

function wrongWireType(tag: number, message: string, offset: number): Error {
  return invalidProtobuf(`wrong wire type ${tag & 7} for ${message} field ${tag >>> 3}`, offset);
}
