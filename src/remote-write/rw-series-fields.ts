// The RW1 and RW2 wire tags, and the small readers, shared by the passes that read a remote-write body series by
// series once the one-pass scan found something over a limit (series-filter.ts, metadata-filter.ts,
// first-series-labels.ts, fitting-prefix.ts). Off the fast path: these may allocate.

import { ProtoReader, WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import {
  LABEL_NAME,
  LABEL_VALUE,
  TIMESERIES_EXEMPLARS,
  TIMESERIES_HISTOGRAMS,
  TIMESERIES_LABELS,
  TIMESERIES_SAMPLES,
  WRITE_REQUEST_METADATA,
  WRITE_REQUEST_TIMESERIES,
} from './rw1-scanner.js';
import { REQUEST_SYMBOLS, REQUEST_TIMESERIES, SERIES_LABELS_REFS } from './rw2-scanner.js';

// RW1 tags (prometheus.WriteRequest).
export const TAG_TIMESERIES = makeTag(WRITE_REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
export const TAG_METADATA = makeTag(WRITE_REQUEST_METADATA, WIRE_LENGTH_DELIMITED);
export const TAG_LABELS = makeTag(TIMESERIES_LABELS, WIRE_LENGTH_DELIMITED);
export const TAG_SAMPLES = makeTag(TIMESERIES_SAMPLES, WIRE_LENGTH_DELIMITED);
export const TAG_EXEMPLARS = makeTag(TIMESERIES_EXEMPLARS, WIRE_LENGTH_DELIMITED);
export const TAG_HISTOGRAMS = makeTag(TIMESERIES_HISTOGRAMS, WIRE_LENGTH_DELIMITED);
export const TAG_LABEL_NAME = makeTag(LABEL_NAME, WIRE_LENGTH_DELIMITED);
export const TAG_LABEL_VALUE = makeTag(LABEL_VALUE, WIRE_LENGTH_DELIMITED);

// RW2 tags (io.prometheus.write.v2.Request). TimeSeries: samples = 2, histograms = 3, exemplars = 4, metadata = 5.
export const TAG_V2_SYMBOLS = makeTag(REQUEST_SYMBOLS, WIRE_LENGTH_DELIMITED);
export const TAG_V2_TIMESERIES = makeTag(REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
export const TAG_V2_REFS_PACKED = makeTag(SERIES_LABELS_REFS, WIRE_LENGTH_DELIMITED);
export const TAG_V2_REFS_ONE = makeTag(SERIES_LABELS_REFS, WIRE_VARINT);
export const TAG_V2_SAMPLES = makeTag(2, WIRE_LENGTH_DELIMITED);
export const TAG_V2_HISTOGRAMS = makeTag(3, WIRE_LENGTH_DELIMITED);
export const TAG_V2_EXEMPLARS = makeTag(4, WIRE_LENGTH_DELIMITED);
export const TAG_V2_METADATA = makeTag(5, WIRE_LENGTH_DELIMITED);
const TAG_V2_METADATA_FIELDS = [makeTag(1, WIRE_VARINT), makeTag(3, WIRE_VARINT), makeTag(4, WIRE_VARINT)];

/**
 * Moves `reader` to the payload of the `index`-th series (field `seriesTag` of the request, counted from 0) and
 * returns where that payload ends, or -1 when the body has fewer series (the reader is then at the end).
 */
export function seekSeries(reader: ProtoReader, seriesTag: number, index: number): number {
  const end = reader.buf.length;
  let current = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== seriesTag) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    if (current++ === index) return seriesEnd;
    reader.pos = seriesEnd;
  }
  return -1;
}

/** Where one RW1 Label's name and value lie in the body. readRw1Label() reuses one of these: read it at once. */
export interface LabelSpan {
  nameStart: number;
  nameLength: number;
  valueStart: number;
  valueLength: number;
}
const labelSpan: LabelSpan = { nameStart: 0, nameLength: 0, valueStart: 0, valueLength: 0 };

/**
 * Reads one RW1 Label message (the reader is at its length) and returns where its name and value lie; proto3
 * keeps the last occurrence of a scalar field, as the scanner does. The span is shared by every call.
 */
export function readRw1Label(reader: ProtoReader, end: number): LabelSpan {
  const labelEnd = reader.messageEnd(end);
  const span = labelSpan;
  span.nameStart = span.nameLength = span.valueStart = span.valueLength = 0;
  while (reader.pos < labelEnd) {
    const labelTag = reader.tag(labelEnd);
    if (labelTag === TAG_LABEL_NAME) {
      span.nameLength = reader.length(labelEnd);
      span.nameStart = reader.pos;
      reader.pos += span.nameLength;
    } else if (labelTag === TAG_LABEL_VALUE) {
      span.valueLength = reader.length(labelEnd);
      span.valueStart = reader.pos;
      reader.pos += span.valueLength;
    } else {
      reader.skip(labelTag, labelEnd);
    }
  }
  return span;
}

/**
 * Reads an RW2 series' Metadata message (the reader is at its length); true when it sets a type, help or unit,
 * which is when Mimir counts it as one metadata item.
 */
export function rw2MetadataIsSet(reader: ProtoReader, seriesEnd: number): boolean {
  const metadataEnd = reader.messageEnd(seriesEnd);
  let set = false;
  while (reader.pos < metadataEnd) {
    const metadataTag = reader.tag(metadataEnd);
    if (TAG_V2_METADATA_FIELDS.includes(metadataTag)) {
      if (reader.varint(metadataEnd) !== 0) set = true;
    } else {
      reader.skip(metadataTag, metadataEnd);
    }
  }
  return set;
}

/** Where each RW2 symbol's bytes start and how long they are. */
export function symbolTable(buf: Uint8Array): { starts: Uint32Array; lengths: Uint32Array; count: number } {
  let starts = new Uint32Array(256);
  let lengths = new Uint32Array(256);
  let count = 0;
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_V2_SYMBOLS) {
      reader.skip(tag, end);
      continue;
    }
    const length = reader.length(end);
    if (count === starts.length) {
      const grownStarts = new Uint32Array(count * 2);
      const grownLengths = new Uint32Array(count * 2);
      grownStarts.set(starts);
      grownLengths.set(lengths);
      starts = grownStarts;
      lengths = grownLengths;
    }
    starts[count] = reader.pos;
    lengths[count++] = length;
    reader.pos += length;
  }
  return { starts, lengths, count };
}

const decoder = new TextDecoder();

export function utf8(buf: Uint8Array, start: number, length: number): string {
  return decoder.decode(buf.subarray(start, start + length));
}

/** Whether `buf[start, start + length)` holds exactly the bytes of `name`. */
export function sameBytes(buf: Uint8Array, start: number, length: number, name: Uint8Array): boolean {
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) if (buf[start + i] !== name[i]) return false;
  return true;
}
