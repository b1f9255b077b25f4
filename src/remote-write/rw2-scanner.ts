// Measures a decompressed Prometheus remote-write 2.0 body (io.prometheus.write.v2.Request): one walk of the top
// level records symbol lengths and series bounds, then the series are read from those bounds.
// Must never decode strings or allocate per series, and must never throw anything but BodyDecodeError.

import { invalidProtobuf } from './errors.js';
import { RW2_MESSAGE_NAME, foreignTopLevelField } from './format-fit.js';
import { ProtoReader, WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import type { RequestInfo } from './request-info.js';
import { isAscii } from 'node:buffer';

import { sampleTimestamp } from './duplicate-samples.js';
import { sampleTimeKey } from './sample-times.js';

// Field numbers from prometheus/prompb io/prometheus/write/v2/types.proto.
// Request: reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5;
export const REQUEST_SYMBOLS = 4;
export const REQUEST_TIMESERIES = 5;
// TimeSeries: repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
// repeated Exemplar exemplars = 4; Metadata metadata = 5; int64 created_timestamp = 6;
export const SERIES_LABELS_REFS = 1;
const SERIES_SAMPLES = 2;
const SERIES_HISTOGRAMS = 3;
const SERIES_EXEMPLARS = 4;
const SERIES_METADATA = 5;
const SERIES_CREATED_TIMESTAMP = 6;
// Metadata: MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4;
const METADATA_TYPE = 1;
const METADATA_HELP_REF = 3;
const METADATA_UNIT_REF = 4;

export const TAG_SYMBOLS = makeTag(REQUEST_SYMBOLS, WIRE_LENGTH_DELIMITED);
export const TAG_TIMESERIES = makeTag(REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
export const TAG_LABELS_REFS_PACKED = makeTag(SERIES_LABELS_REFS, WIRE_LENGTH_DELIMITED);
export const TAG_LABELS_REFS_ONE = makeTag(SERIES_LABELS_REFS, WIRE_VARINT);
const TAG_SAMPLES = makeTag(SERIES_SAMPLES, WIRE_LENGTH_DELIMITED);
const TAG_HISTOGRAMS = makeTag(SERIES_HISTOGRAMS, WIRE_LENGTH_DELIMITED);
const TAG_EXEMPLARS = makeTag(SERIES_EXEMPLARS, WIRE_LENGTH_DELIMITED);
const TAG_METADATA = makeTag(SERIES_METADATA, WIRE_LENGTH_DELIMITED);
const TAG_CREATED_TIMESTAMP = makeTag(SERIES_CREATED_TIMESTAMP, WIRE_VARINT);
const TAG_METADATA_TYPE = makeTag(METADATA_TYPE, WIRE_VARINT);
const TAG_METADATA_HELP_REF = makeTag(METADATA_HELP_REF, WIRE_VARINT);
const TAG_METADATA_UNIT_REF = makeTag(METADATA_UNIT_REF, WIRE_VARINT);

/**
 * Scratch reused across requests so a warm scan allocates nothing but its result: the byte length of every symbol,
 * and each series' [start, end) in the body. Only the synchronous scan touches them, so concurrent requests cannot
 * interleave.
 *
 * Symbol lengths are bytes saturated at 255: a quarter of the size of 32-bit lengths, so the table of a large
 * request stays in the L1 cache while the series loop looks up every reference (~5% of the scan). The exact length
 * of a symbol of 255 bytes or more is in `longSymbolLengths`, read only for a series that references one.
 */
const SATURATED = 255;
let symbolLengths = new Uint8Array(4096);
let longSymbolLengths = new Uint32Array(4096);
let seriesBounds = new Int32Array(2 * 1024);

/**
 * Bodies up to this size keep series bounds in the Int32Array: positions stay small integers, which V8 keeps in
 * registers (doubles made every position computation in the series loop a float operation: ~10% of the scan).
 * Larger bodies (possible: Node 20 buffers reach 4 GiB and nothing caps MAX_REQUEST_BYTES) get a Float64Array.
 */
const MAX_INT32_POSITION = 0x7fff_ffff;

function growSymbolLengths(needed: number): typeof symbolLengths {
  let size = symbolLengths.length;
  while (size < needed) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(symbolLengths);
  symbolLengths = grown;
  const long = new Uint32Array(size);
  long.set(longSymbolLengths);
  longSymbolLengths = long;
  return grown;
}

function growSeriesBounds(bounds: Int32Array | Float64Array, needed: number): Int32Array | Float64Array {
  let size = bounds.length;
  while (size < needed) size *= 2;
  if (bounds instanceof Float64Array) {
    const wide = new Float64Array(size);
    wide.set(bounds);
    return wide;
  }
  const grown = new Int32Array(size);
  grown.set(bounds);
  seriesBounds = grown;
  return grown;
}

/**
 * Scans `buf` (the decompressed body) and returns what Mimir would count: series, float samples, native
 * histogram samples, exemplars, metadata (a series whose metadata sets a type, help or unit), and the label
 * extremes with the series that holds each — label lengths are the byte lengths of the referenced symbols.
 *
 * Rejects, as Prometheus' and Mimir's decoders do: a `labels_refs` list of odd length, a reference past the
 * symbols table, and a known field with the wrong wire type. Unknown fields (and the reserved 1..3) are skipped.
 *
 * Two loops over the bytes, each visiting a byte once: the top level (symbol lengths and series bounds, so a
 * series' label lengths are known whatever the field order), then the recorded series. The common encodings
 * (one-byte tags, one-byte lengths, references of up to three bytes) are read inline on local variables; anything
 * else goes through ProtoReader, which also produces every error, so messages and offsets are those of the
 * reader's checks.
 */
export function scanWriteRequestV2(buf: Uint8Array, bytesCompressed: number): RequestInfo {
  const end = buf.length;
  // Only the slow paths use the reader; the inline paths keep the position in a local.
  const reader = new ProtoReader(buf, 0, invalidProtobuf);

  // Top level: symbols and series bounds.
  let lengths = symbolLengths;
  let bounds: Int32Array | Float64Array =
    end > MAX_INT32_POSITION ? new Float64Array(seriesBounds.length) : seriesBounds;
  let symbolCount = 0;
  let series = 0;
  let pos = 0;
  // Some symbol has a byte of 128 or more: a name outside the legacy character set or a value that may not be
  // UTF-8, so Mimir's name and value checks must read the series (one native ASCII check per run of symbols).
  let nonAscii = false;
  while (pos < end) {
    // The symbols table is usually a long run of short strings. This loop takes them with no tag dispatch; it
    // stops at anything else (another field, a length of 128 or more, a full scratch array) for the code below.
    // Each symbol takes at least two bytes, so below `limit` the scratch array has room and both bytes are in
    // the body: one compare per symbol (~3% of the scan). A length running past the body is not checked here:
    // the whole run is taken again with every check, which stops in front of it for the code below to reject.
    const runStart = pos;
    const runCount = symbolCount;
    const limit = Math.min(end - 1, pos + 2 * (lengths.length - symbolCount));
    while (pos < limit && buf[pos] === TAG_SYMBOLS) {
      const length = buf[pos + 1]!;
      if (length >= 0x80) break;
      lengths[symbolCount++] = length;
      pos += 2 + length;
    }
    if (pos > end) {
      pos = runStart;
      symbolCount = runCount;
      while (pos + 1 < end && buf[pos] === TAG_SYMBOLS) {
        const length = buf[pos + 1]!;
        if (length >= 0x80 || length > end - pos - 2) break;
        lengths[symbolCount++] = length;
        pos += 2 + length;
      }
    }
    // The run's tags (0x22) and one-byte lengths are ASCII, so the run is ASCII exactly when its symbols are.
    if (pos > runStart && !nonAscii && !isAscii(buf.subarray(runStart, pos))) nonAscii = true;
    if (pos >= end) break;
    let tag = buf[pos]!;
    let p = pos + 1;
    if (tag !== TAG_SYMBOLS && tag !== TAG_TIMESERIES) {
      // Anything else, including a non-minimal encoding of these two tags, is validated by the reader.
      reader.pos = pos;
      tag = reader.tag(end);
      p = reader.pos;
    }
    if (tag === TAG_SYMBOLS || tag === TAG_TIMESERIES) {
      let length = p < end ? buf[p]! : 0x80;
      // A one-byte length that fits is the usual case; the reader handles longer ones and every error.
      if (length < 0x80 && length < end - p) {
        p++;
      } else {
        reader.pos = p;
        length = reader.length(end);
        p = reader.pos;
      }
      if (tag === TAG_SYMBOLS) {
        if (symbolCount === lengths.length) lengths = growSymbolLengths(symbolCount + 1);
        if (length >= SATURATED) longSymbolLengths[symbolCount] = length;
        if (!nonAscii && length > 0 && !isAscii(buf.subarray(p, p + length))) nonAscii = true;
        lengths[symbolCount++] = length < SATURATED ? length : SATURATED;
      } else {
        if (2 * series === bounds.length) bounds = growSeriesBounds(bounds, 2 * series + 2);
        bounds[2 * series] = p;
        bounds[2 * series + 1] = p + length;
        series++;
      }
      pos = p + length;
    } else if (tag >>> 3 === REQUEST_SYMBOLS || tag >>> 3 === REQUEST_TIMESERIES) {
      throw wrongWireType(tag, 'Request', p);
    } else {
      // Reserved 1..3 (RW1's timeseries and metadata, OTLP's resource_metrics) or any other field: not this
      // message, so the body is not what its Content-Type says.
      throw foreignTopLevelField(tag, RW2_MESSAGE_NAME, p);
    }
  }

  let floatSamples = 0;
  let histogramSamples = 0;
  let exemplars = 0;
  let metadata = 0;
  // The maxima start at -1 so the first entry always wins without a second test per reference; one still at -1
  // (no series, or no labels) is reported as 0 with series -1.
  let maxLabelNames = -1;
  let maxLabelNamesSeries = -1;
  let maxLabelNameLength = -1;
  let maxLabelNameSeries = -1;
  let maxLabelValueLength = -1;
  let maxLabelValueSeries = -1;
  let maxExemplarsPerSeries = 0;
  let samplesOutOfOrder = false;
  // The request's smallest and largest sample-time keys (sampleTimeKey): bounds for the grace periods.
  let minTimeKey = 0x7fffffff;
  let maxTimeKey = -1;

  for (let seriesIndex = 0; seriesIndex < series; seriesIndex++) {
    let p = bounds[2 * seriesIndex]!;
    const seriesEnd = bounds[2 * seriesIndex + 1]!;
    // Position in this series' labels_refs list: even entries are names, odd ones values.
    let refs = 0;
    let seriesExemplars = 0;
    // As in the RW1 scanner: the first sample's timestamp is read only when a second one comes.
    let seriesSamples = 0;
    let firstSampleStart = 0;
    let firstSampleEnd = 0;
    let lastTimestamp = 0;
    // This series' longest name and value; folded into the request's maxima once the series is read.
    let seriesNameMax = -1;
    let seriesValueMax = -1;
    while (p < seriesEnd) {
      let tag = buf[p]!;
      let q = p + 1;
      if (tag !== TAG_LABELS_REFS_PACKED && tag !== TAG_SAMPLES) {
        reader.pos = p;
        tag = reader.tag(seriesEnd);
        q = reader.pos;
      }
      if (tag === TAG_LABELS_REFS_PACKED || tag === TAG_LABELS_REFS_ONE) {
        let refsEnd: number;
        if (tag === TAG_LABELS_REFS_ONE) {
          // An unpacked entry (rare, but proto3 decoders must accept it) is read as a packed list of one: the
          // reader finds where its varint ends, or throws the error a truncated one gets.
          reader.pos = q;
          reader.varint(seriesEnd);
          refsEnd = reader.pos;
        } else {
          // A packed list (the usual encoding) may be empty.
          let length = q < seriesEnd ? buf[q]! : 0x80;
          if (length < 0x80 && length < seriesEnd - q) {
            q++;
          } else {
            reader.pos = q;
            length = reader.length(seriesEnd);
            q = reader.pos;
          }
          refsEnd = q + length;
        }
        // Entries alternate name, value, so the loop reads whole pairs: a name, then a value, each decoded inline
        // (the two copies are deliberate: a helper returning the new position through memory or a packed number
        // measured ~1.7x slower). References of up to three bytes (tables of up to 2^21 symbols) take the inline
        // path; a byte at or past refsEnd reads as a continuation byte, so a truncated entry reaches the reader,
        // which throws its usual error. A list that resumes mid-pair (labels_refs split over several fields)
        // starts with the value.
        // Whole pairs while at least six bytes remain: both references then end inside the list whatever their
        // first three bytes hold, so no byte needs an end check. A longer reference stops this loop where it
        // starts (nothing consumed) and the checked loop below reads it.
        if ((refs & 1) === 0) {
          while (q + 6 <= refsEnd) {
            const at = q;
            let ref: number;
            const n0 = buf[q]!;
            if (n0 < 0x80) {
              ref = n0;
              q += 1;
            } else {
              const n1 = buf[q + 1]!;
              if (n1 < 0x80) {
                ref = (n0 & 0x7f) | (n1 << 7);
                q += 2;
              } else {
                const n2 = buf[q + 2]!;
                if (n2 >= 0x80) break;
                ref = (n0 & 0x7f) | ((n1 & 0x7f) << 7) | (n2 << 14);
                q += 3;
              }
            }
            if (ref >= symbolCount) throw refPastSymbols(ref, symbolCount, at);
            seriesNameMax = Math.max(seriesNameMax, lengths[ref]!);
            refs++;
            const valueAt = q;
            const v0 = buf[q]!;
            if (v0 < 0x80) {
              ref = v0;
              q += 1;
            } else {
              const v1 = buf[q + 1]!;
              if (v1 < 0x80) {
                ref = (v0 & 0x7f) | (v1 << 7);
                q += 2;
              } else {
                const v2 = buf[q + 2]!;
                if (v2 >= 0x80) break;
                ref = (v0 & 0x7f) | ((v1 & 0x7f) << 7) | (v2 << 14);
                q += 3;
              }
            }
            if (ref >= symbolCount) throw refPastSymbols(ref, symbolCount, valueAt);
            seriesValueMax = Math.max(seriesValueMax, lengths[ref]!);
            refs++;
          }
        }
        let valueNext = (refs & 1) !== 0;
        while (q < refsEnd) {
          let at = q;
          let ref: number;
          if (!valueNext) {
            const b0 = buf[q]!;
            if (b0 < 0x80) {
              ref = b0;
              q += 1;
            } else {
              const b1 = q + 1 < refsEnd ? buf[q + 1]! : 0x80;
              if (b1 < 0x80) {
                ref = (b0 & 0x7f) | (b1 << 7);
                q += 2;
              } else {
                const b2 = q + 2 < refsEnd ? buf[q + 2]! : 0x80;
                if (b2 < 0x80) {
                  ref = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
                  q += 3;
                } else {
                  reader.pos = q;
                  ref = reader.varint(refsEnd);
                  q = reader.pos;
                }
              }
            }
            if (ref >= symbolCount) throw refPastSymbols(ref, symbolCount, at);
            // Math.max compiles without a branch; a compare-and-store per entry was measurably slower.
            seriesNameMax = Math.max(seriesNameMax, lengths[ref]!);
            refs++;
            if (q >= refsEnd) break;
            at = q;
          }
          valueNext = false;
          const b0 = buf[q]!;
          if (b0 < 0x80) {
            ref = b0;
            q += 1;
          } else {
            const b1 = q + 1 < refsEnd ? buf[q + 1]! : 0x80;
            if (b1 < 0x80) {
              ref = (b0 & 0x7f) | (b1 << 7);
              q += 2;
            } else {
              const b2 = q + 2 < refsEnd ? buf[q + 2]! : 0x80;
              if (b2 < 0x80) {
                ref = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
                q += 3;
              } else {
                reader.pos = q;
                ref = reader.varint(refsEnd);
                q = reader.pos;
              }
            }
          }
          if (ref >= symbolCount) throw refPastSymbols(ref, symbolCount, at);
          seriesValueMax = Math.max(seriesValueMax, lengths[ref]!);
          refs++;
        }
        p = q;
      } else if (tag === TAG_SAMPLES || tag === TAG_HISTOGRAMS || tag === TAG_EXEMPLARS) {
        if (tag === TAG_SAMPLES) floatSamples++;
        else if (tag === TAG_HISTOGRAMS) histogramSamples++;
        else seriesExemplars++;
        // Only counted, so skipped by length.
        let length = q < seriesEnd ? buf[q]! : 0x80;
        if (length < 0x80 && length < seriesEnd - q) {
          q++;
        } else {
          reader.pos = q;
          length = reader.length(seriesEnd);
          q = reader.pos;
        }
        p = q + length;
        if (tag === TAG_SAMPLES) {
          // The sample's time key (sampleTimeKey), read inline for the layout every sender writes.
          const timeKey =
            p - q === 16 && buf[q] === 0x09
              ? (buf[q + 15]! << 21) |
                ((buf[q + 14]! & 0x7f) << 14) |
                ((buf[q + 13]! & 0x7f) << 7) |
                (buf[q + 12]! & 0x7f)
              : sampleTimeKey(buf, q, p);
          if (timeKey > maxTimeKey) maxTimeKey = timeKey;
          if (timeKey < minTimeKey) minTimeKey = timeKey;
          // Mimir keeps one sample per timestamp in a series; increasing timestamps cannot repeat.
          if (seriesSamples === 0) {
            firstSampleStart = q;
            firstSampleEnd = p;
          } else {
            if (seriesSamples === 1) lastTimestamp = sampleTimestamp(buf, firstSampleStart, firstSampleEnd);
            const timestamp = sampleTimestamp(buf, q, p);
            if (!(timestamp > lastTimestamp)) samplesOutOfOrder = true;
            lastTimestamp = timestamp;
          }
          seriesSamples++;
        }
      } else if (tag === TAG_METADATA) {
        reader.pos = q;
        if (metadataIsSet(reader, reader.messageEnd(seriesEnd))) metadata++;
        p = reader.pos;
      } else if (tag === TAG_CREATED_TIMESTAMP) {
        reader.pos = q;
        reader.varint(seriesEnd);
        p = reader.pos;
      } else if (tag >>> 3 <= SERIES_CREATED_TIMESTAMP) {
        throw wrongWireType(tag, 'TimeSeries', q);
      } else {
        reader.pos = q;
        reader.skip(tag, seriesEnd);
        p = reader.pos;
      }
    }
    if ((refs & 1) !== 0) {
      throw invalidProtobuf(`series ${seriesIndex} has an odd number of labels_refs (${refs})`, seriesEnd);
    }
    if (seriesNameMax === SATURATED || seriesValueMax === SATURATED) {
      // The series references a symbol of 255 bytes or more: read its references again with exact lengths.
      exactSeriesMaxima(reader, bounds[2 * seriesIndex]!, seriesEnd, lengths);
      seriesNameMax = exactNameMax;
      seriesValueMax = exactValueMax;
    }
    if (seriesNameMax > maxLabelNameLength) {
      maxLabelNameLength = seriesNameMax;
      maxLabelNameSeries = seriesIndex;
    }
    if (seriesValueMax > maxLabelValueLength) {
      maxLabelValueLength = seriesValueMax;
      maxLabelValueSeries = seriesIndex;
    }
    const labels = refs >>> 1;
    exemplars += seriesExemplars;
    if (seriesExemplars > maxExemplarsPerSeries) maxExemplarsPerSeries = seriesExemplars;
    if (labels > maxLabelNames) {
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
    maxLabelNames: maxLabelNames < 0 ? 0 : maxLabelNames,
    maxLabelNamesSeries,
    maxLabelNameLength: maxLabelNameLength < 0 ? 0 : maxLabelNameLength,
    maxLabelNameSeries,
    maxLabelValueLength: maxLabelValueLength < 0 ? 0 : maxLabelValueLength,
    maxLabelValueSeries,
    maxExemplarsPerSeries,
    // Absent (undefined) in the common case, so a RequestInfo without the flag reads the same.
    samplesOutOfOrder: samplesOutOfOrder || undefined,
    minSampleTimeKey: floatSamples === 0 ? undefined : minTimeKey,
    maxSampleTimeKey: floatSamples === 0 ? undefined : maxTimeKey,
    nonAsciiSymbols: nonAscii || undefined,
    bytesCompressed,
    bytesUncompressed: buf.length,
  };
}

let exactNameMax = -1;
let exactValueMax = -1;

/**
 * The longest name and value of one series `[start, end)` with exact symbol lengths, into exactNameMax and
 * exactValueMax. Only for a series the main loop has already read without error, so nothing here can throw.
 */
function exactSeriesMaxima(reader: ProtoReader, start: number, end: number, lengths: Uint8Array): void {
  let refs = 0;
  let name = -1;
  let value = -1;
  reader.pos = start;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_LABELS_REFS_PACKED && tag !== TAG_LABELS_REFS_ONE) {
      reader.skip(tag, end);
      continue;
    }
    // An unpacked entry is one reference; a packed list (possibly empty) runs to its end.
    const packed = tag === TAG_LABELS_REFS_PACKED;
    const listEnd = packed ? reader.messageEnd(end) : end;
    let more = !packed || reader.pos < listEnd;
    while (more) {
      const ref = reader.varint(listEnd);
      const length = lengths[ref] === SATURATED ? longSymbolLengths[ref]! : lengths[ref]!;
      if ((refs & 1) === 0) name = Math.max(name, length);
      else value = Math.max(value, length);
      refs++;
      more = packed && reader.pos < listEnd;
    }
  }
  exactNameMax = name;
  exactValueMax = value;
}

function refPastSymbols(ref: number, symbolCount: number, offset: number): Error {
  return invalidProtobuf(`labels_refs entry ${ref} is past the ${symbolCount} symbols`, offset);
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
