// Renders one series of a decompressed remote-write 2.0 body the way Mimir prints a series in its errors,
// resolving labels_refs through the symbols table. Error path only: it may allocate, but must never throw
// anything but BodyDecodeError for a malformed body.

import type { DescribedLabel } from './describe-series.js';
import { describeLabels } from './describe-series.js';
import { invalidProtobuf } from './errors.js';
import { ProtoReader } from '../wire/protobuf-reader.js';
import { TAG_LABELS_REFS_ONE, TAG_LABELS_REFS_PACKED, TAG_SYMBOLS, TAG_TIMESERIES } from './rw2-scanner.js';

const utf8 = new TextDecoder('utf-8');

/**
 * Series number `seriesIndex` (0-based, in body order) of an RW2 body, as `series: 'up{job="a"}'`.
 * Throws RangeError when the body has no such series (indexes come from scanWriteRequestV2 over the same body).
 */
export function describeSeriesV2(buf: Uint8Array, seriesIndex: number): string {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  const symbolStarts: number[] = [];
  const symbolEnds: number[] = [];
  let seriesStart = -1;
  let seriesEnd = -1;
  let current = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_SYMBOLS) {
      const length = reader.length(end);
      symbolStarts.push(reader.pos);
      symbolEnds.push(reader.pos + length);
      reader.pos += length;
    } else if (tag === TAG_TIMESERIES) {
      const length = reader.length(end);
      if (current++ === seriesIndex) {
        seriesStart = reader.pos;
        seriesEnd = reader.pos + length;
      }
      reader.pos += length;
    } else {
      reader.skip(tag, end);
    }
  }
  if (seriesStart < 0) {
    throw new RangeError(`series ${seriesIndex} does not exist: the body has ${current} series`);
  }

  const refs: number[] = [];
  reader.pos = seriesStart;
  while (reader.pos < seriesEnd) {
    const tag = reader.tag(seriesEnd);
    if (tag === TAG_LABELS_REFS_ONE) {
      refs.push(reader.varint(seriesEnd));
    } else if (tag === TAG_LABELS_REFS_PACKED) {
      const refsEnd = reader.messageEnd(seriesEnd);
      while (reader.pos < refsEnd) refs.push(reader.varint(refsEnd));
    } else {
      reader.skip(tag, seriesEnd);
    }
  }
  const labels: DescribedLabel[] = [];
  for (let i = 0; i + 1 < refs.length; i += 2) {
    const nameRef = refs[i]!;
    const valueRef = refs[i + 1]!;
    if (nameRef >= symbolStarts.length || valueRef >= symbolStarts.length) {
      throw invalidProtobuf(`labels_refs entry past the ${symbolStarts.length} symbols`, seriesStart);
    }
    labels.push({
      name: utf8.decode(buf.subarray(symbolStarts[nameRef], symbolEnds[nameRef])),
      buf,
      start: symbolStarts[valueRef]!,
      end: symbolEnds[valueRef]!,
    });
  }
  return describeLabels(labels);
}
