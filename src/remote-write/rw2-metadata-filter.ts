// Mimir's cleanAndValidateMetadata over remote write 2.0 metadata, which sits inside each series: its metric
// name is the series' __name__ and its unit the symbol unit_ref names. A name or unit longer than
// max_metadata_length drops that metadata (the series stays) with a 400; a long HELP is truncated by Mimir.
// Runs only when the body is longer than the limit and carries metadata, so it may allocate.

import { ProtoReader, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { FilteredMetadata, MetadataProblem } from './metadata-filter.js';
import {
  TAG_V2_METADATA,
  TAG_V2_REFS_ONE,
  TAG_V2_REFS_PACKED,
  TAG_V2_TIMESERIES,
  rw2MetadataIsSet,
  symbolTable,
  utf8,
} from './rw-series-fields.js';

// Metadata: MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4;
const TAG_UNIT_REF = makeTag(4, WIRE_VARINT);
const METRIC_NAME = new TextEncoder().encode('__name__');

/**
 * Per series (body order), whether Mimir keeps its metadata: `keep[i]` is 0 for a series whose metadata is set
 * and has a metric name or unit over `maxLength`. Undefined when none is dropped.
 */
export function filterMetadataRw2(
  buf: Uint8Array,
  series: number,
  maxLength: number,
): FilteredMetadata | undefined {
  const { starts, lengths, count } = symbolTable(buf);
  const isMetricName = (ref: number): boolean => {
    if (ref >= count || lengths[ref] !== METRIC_NAME.length) return false;
    for (let i = 0; i < METRIC_NAME.length; i++) if (buf[starts[ref]! + i] !== METRIC_NAME[i]) return false;
    return true;
  };
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let keep: Uint8Array | undefined;
  let dropped = 0;
  let firstProblem: MetadataProblem | undefined;
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_V2_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    const i = index++;
    let nameRef = -1;
    let unitRef = 0;
    let metadataSet = false;
    let refs = 0;
    let pendingName = -1;
    const ref = (value: number): void => {
      if ((refs++ & 1) === 0) pendingName = value;
      else if (nameRef < 0 && isMetricName(pendingName)) nameRef = value;
    };
    while (reader.pos < seriesEnd) {
      const field = reader.tag(seriesEnd);
      if (field === TAG_V2_REFS_PACKED) {
        const listEnd = reader.messageEnd(seriesEnd);
        while (reader.pos < listEnd) ref(reader.varint(listEnd));
      } else if (field === TAG_V2_REFS_ONE) {
        ref(reader.varint(seriesEnd));
      } else if (field === TAG_V2_METADATA) {
        const at = reader.pos;
        metadataSet = rw2MetadataIsSet(reader, seriesEnd) || metadataSet;
        // Read again for the unit (proto3: the last one wins).
        const after = reader.pos;
        reader.pos = at;
        const metadataEnd = reader.messageEnd(seriesEnd);
        while (reader.pos < metadataEnd) {
          const t = reader.tag(metadataEnd);
          if (t === TAG_UNIT_REF) unitRef = reader.varint(metadataEnd);
          else reader.skip(t, metadataEnd);
        }
        reader.pos = after;
      } else {
        reader.skip(field, seriesEnd);
      }
    }
    if (!metadataSet || i >= series) continue;
    const nameLength = nameRef >= 0 && nameRef < count ? lengths[nameRef]! : 0;
    const unitLength = unitRef < count ? lengths[unitRef]! : 0;
    const kind =
      nameLength > maxLength
        ? ('metadata_metric_name_too_long' as const)
        : unitLength > maxLength
          ? ('metadata_unit_too_long' as const)
          : undefined;
    if (!kind) continue;
    keep ??= new Uint8Array(series).fill(1);
    keep[i] = 0;
    dropped++;
    firstProblem ??= {
      kind,
      observed: kind === 'metadata_unit_too_long' ? unitLength : nameLength,
      limit: maxLength,
      metricName: nameRef >= 0 ? utf8(buf, starts[nameRef]!, nameLength) : '',
      unit: unitLength > 0 ? utf8(buf, starts[unitRef]!, unitLength) : '',
    };
  }
  return keep && firstProblem ? { keep, dropped, firstProblem } : undefined;
}

/**
 * `buf` (a decompressed RW2 body) without the series whose `keepSeries` entry is 0, and without the metadata
 * field of the series whose `keepMetadata` entry is 0; every other byte is copied as it is.
 */
export function reencodeRw2Metadata(
  buf: Uint8Array,
  keepSeries: Uint8Array | undefined,
  keepMetadata: Uint8Array,
): Uint8Array {
  // Leaving fields out never lengthens a series' length prefix, so the body can only shrink.
  const out = new Uint8Array(buf.length);
  let written = 0;
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let index = 0;
  while (reader.pos < end) {
    const fieldStart = reader.pos;
    const tag = reader.tag(end);
    if (tag !== TAG_V2_TIMESERIES) {
      reader.skip(tag, end);
      out.set(buf.subarray(fieldStart, reader.pos), written);
      written += reader.pos - fieldStart;
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    const i = index++;
    if (keepSeries !== undefined && keepSeries[i] !== 1) {
      reader.pos = seriesEnd;
      continue;
    }
    if (keepMetadata[i] !== 0) {
      out.set(buf.subarray(fieldStart, seriesEnd), written);
      written += seriesEnd - fieldStart;
      reader.pos = seriesEnd;
      continue;
    }
    // The series without its metadata: the other fields' bytes, under a new length.
    const parts: [number, number][] = [];
    let length = 0;
    while (reader.pos < seriesEnd) {
      const at = reader.pos;
      const field = reader.tag(seriesEnd);
      reader.skip(field, seriesEnd);
      if (field === TAG_V2_METADATA) continue;
      parts.push([at, reader.pos]);
      length += reader.pos - at;
    }
    out[written++] = TAG_V2_TIMESERIES;
    for (let n = length; ; n = Math.floor(n / 128)) {
      if (n < 128) {
        out[written++] = n;
        break;
      }
      out[written++] = (n % 128) | 0x80;
    }
    for (const [from, to] of parts) {
      out.set(buf.subarray(from, to), written);
      written += to - from;
    }
    reader.pos = seriesEnd;
  }
  return out.subarray(0, written);
}
