// The two HA labels (cluster, replica) of a body's first series, read as Mimir's HA tracker reads them, without
// walking past that series.

import { ProtoReader } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { RequestInfo } from './request-info.js';
import { otlpFirstSeriesLabels } from './otlp-series-labels.js';
import {
  readRw1Label,
  TAG_LABELS,
  TAG_TIMESERIES,
  TAG_V2_REFS_ONE,
  TAG_V2_REFS_PACKED,
  TAG_V2_TIMESERIES,
  sameBytes,
  symbolTable,
  utf8,
} from './rw-series-fields.js';

/** The values of two labels in the first series of a body; '' for a label the series does not have. */
export interface FirstSeriesLabels {
  first: string;
  second: string;
}

const encoder = new TextEncoder();
/** Label names as UTF-8, kept: the HA label names in use are few (bounded in case they are not). */
const encodedNames = new Map<string, Uint8Array>();
function encodedName(name: string): Uint8Array {
  let bytes = encodedNames.get(name);
  if (!bytes) {
    if (encodedNames.size >= 256) encodedNames.clear();
    bytes = encoder.encode(name);
    encodedNames.set(name, bytes);
  }
  return bytes;
}

/**
 * Mimir's HA tracker reads the cluster and replica labels of the first series only (findHALabels on
 * req.Timeseries[0]): this reads those two values from a decompressed RW1 or RW2 body (already scanned, so well
 * formed) without walking past the first series. For OTLP, the first series of Mimir's translation (see
 * otlpFirstSeriesLabels). Undefined when the body has no series.
 */
export function firstSeriesLabels(
  buf: Uint8Array,
  format: RequestInfo['format'],
  firstName: string,
  secondName: string,
  /** OTLP: promote_otel_resource_attributes, resource attributes Mimir copies onto every series as labels. */
  promoted?: readonly string[],
): FirstSeriesLabels | undefined {
  if (format === 'otlp-proto' || format === 'otlp-json') {
    return otlpFirstSeriesLabels(buf, format, firstName, secondName, promoted);
  }
  const a = encodedName(firstName);
  const b = encodedName(secondName);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  const found: FirstSeriesLabels = { first: '', second: '' };
  const take = (nameStart: number, nameLength: number, valueStart: number, valueLength: number): void => {
    if (sameBytes(buf, nameStart, nameLength, a)) found.first = utf8(buf, valueStart, valueLength);
    else if (sameBytes(buf, nameStart, nameLength, b)) found.second = utf8(buf, valueStart, valueLength);
  };
  if (format === 'prw1') {
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag !== TAG_TIMESERIES) {
        reader.skip(tag, end);
        continue;
      }
      const seriesEnd = reader.messageEnd(end);
      while (reader.pos < seriesEnd) {
        const seriesTag = reader.tag(seriesEnd);
        if (seriesTag !== TAG_LABELS) {
          reader.skip(seriesTag, seriesEnd);
          continue;
        }
        const l = readRw1Label(reader, seriesEnd);
        take(l.nameStart, l.nameLength, l.valueStart, l.valueLength);
      }
      return found;
    }
    return undefined;
  }
  if (format !== 'prw2') return undefined;
  const { starts, lengths, count } = symbolTable(buf);
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_V2_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    let pendingName = -1;
    const ref = (value: number): void => {
      if (value >= count) return;
      if (pendingName < 0) {
        pendingName = value;
        return;
      }
      take(starts[pendingName]!, lengths[pendingName]!, starts[value]!, lengths[value]!);
      pendingName = -1;
    };
    while (reader.pos < seriesEnd) {
      const seriesTag = reader.tag(seriesEnd);
      if (seriesTag === TAG_V2_REFS_PACKED) {
        const refsEnd = reader.messageEnd(seriesEnd);
        while (reader.pos < refsEnd) ref(reader.varint(refsEnd));
      } else if (seriesTag === TAG_V2_REFS_ONE) {
        ref(reader.varint(seriesEnd));
      } else {
        reader.skip(seriesTag, seriesEnd);
      }
    }
    return found;
  }
  return undefined;
}
