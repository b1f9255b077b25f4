// Renders one series of a decompressed remote-write 1.0 body the way Mimir prints a series in its errors.
// Error path only: it may allocate, but must never decode more than the one series asked for, and must never
// throw anything but BodyDecodeError for a malformed body.

import { invalidProtobuf } from './errors.js';
import { ProtoReader, WIRE_LENGTH_DELIMITED, makeTag } from '../wire/protobuf-reader.js';
import { LABEL_NAME, LABEL_VALUE, TIMESERIES_LABELS, WRITE_REQUEST_TIMESERIES } from './rw1-scanner.js';

/** Mimir formats the label set with `%.200s` and appends an ellipsis when it cut something. */
export const MAX_DESCRIBED_RUNES = 200;
const ELLIPSIS = '\u2026';

const TAG_TIMESERIES = makeTag(WRITE_REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
const TAG_LABELS = makeTag(TIMESERIES_LABELS, WIRE_LENGTH_DELIMITED);
const TAG_LABEL_NAME = makeTag(LABEL_NAME, WIRE_LENGTH_DELIMITED);
const TAG_LABEL_VALUE = makeTag(LABEL_VALUE, WIRE_LENGTH_DELIMITED);

const METRIC_NAME_LABEL = '__name__';

const utf8 = new TextDecoder('utf-8');

/**
 * Series number `seriesIndex` (0-based, in body order) of `buf` as Mimir's errors show it:
 * `series: 'up{instance="a", job="b"}'`. The label set follows Mimir's formatLabelSet: the first non-empty
 * `__name__` value, then every other label as `name="value"` in body order, duplicates kept, values quoted like
 * Go's %q; `{}` for a series without labels. Like Mimir's `'%.200s%s'`, a label set longer than 200 code points
 * is cut to 200 and an ellipsis follows, inside the quotes.
 *
 * Throws BodyDecodeError for a malformed body and RangeError when the body has no such series (a caller bug:
 * indexes come from scanWriteRequest over the same body).
 */
export function describeSeries(buf: Uint8Array, seriesIndex: number): string {
  if (!Number.isSafeInteger(seriesIndex) || seriesIndex < 0) {
    throw new RangeError(`series index must be a non-negative integer, got ${seriesIndex}`);
  }
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let current = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const length = reader.length(end);
    if (current === seriesIndex) {
      return `series: '${truncateRunes(formatSeries(reader, reader.pos + length))}'`;
    }
    current++;
    reader.pos += length;
  }
  throw new RangeError(`series ${seriesIndex} does not exist: the body has ${current} series`);
}

/** Formats the TimeSeries payload from `reader.pos` to `seriesEnd`, following Mimir's formatLabelSet. */
function formatSeries(reader: ProtoReader, seriesEnd: number): string {
  const buf = reader.buf;
  let metricName = '';
  let hasMetricName = false;
  const labelStrings: string[] = [];
  while (reader.pos < seriesEnd) {
    const tag = reader.tag(seriesEnd);
    if (tag !== TAG_LABELS) {
      reader.skip(tag, seriesEnd);
      continue;
    }
    const labelLength = reader.length(seriesEnd);
    const labelEnd = reader.pos + labelLength;
    let nameStart = 0;
    let nameEnd = 0;
    let valueStart = 0;
    let valueEnd = 0;
    while (reader.pos < labelEnd) {
      const labelTag = reader.tag(labelEnd);
      if (labelTag === TAG_LABEL_NAME || labelTag === TAG_LABEL_VALUE) {
        const length = reader.length(labelEnd);
        if (labelTag === TAG_LABEL_NAME) {
          nameStart = reader.pos;
          nameEnd = nameStart + length;
        } else {
          valueStart = reader.pos;
          valueEnd = valueStart + length;
        }
        reader.pos += length;
      } else if (labelTag >>> 3 === LABEL_NAME || labelTag >>> 3 === LABEL_VALUE) {
        throw invalidProtobuf(
          `wrong wire type ${labelTag & 7} for Label field ${labelTag >>> 3}`,
          reader.pos,
        );
      } else {
        reader.skip(labelTag, labelEnd);
      }
    }
    const name = utf8.decode(buf.subarray(nameStart, nameEnd));
    if (!hasMetricName && name === METRIC_NAME_LABEL && valueEnd > valueStart) {
      metricName = utf8.decode(buf.subarray(valueStart, valueEnd));
      hasMetricName = true;
    } else {
      labelStrings.push(`${name}=${goQuote(buf, valueStart, valueEnd)}`);
    }
  }
  if (labelStrings.length === 0) {
    return hasMetricName ? metricName : '{}';
  }
  return `${metricName}{${labelStrings.join(', ')}}`;
}

/** One label of a series being described: the name as text, the value as the raw UTF-8 bytes `[start, end)` of `buf`. */
export interface DescribedLabel {
  name: string;
  buf: Uint8Array;
  start: number;
  end: number;
}

/**
 * Renders a label set the way describeSeries() does for RW1, for formats whose labels are not RW1 `Label`
 * messages (RW2 symbol references, OTLP attributes): `series: 'name{a="1", b="2"}'`, cut at 200 code points.
 */
export function describeLabels(labels: readonly DescribedLabel[]): string {
  let metricName = '';
  let hasMetricName = false;
  const labelStrings: string[] = [];
  for (const label of labels) {
    if (!hasMetricName && label.name === METRIC_NAME_LABEL && label.end > label.start) {
      metricName = utf8.decode(label.buf.subarray(label.start, label.end));
      hasMetricName = true;
    } else {
      labelStrings.push(`${label.name}=${goQuote(label.buf, label.start, label.end)}`);
    }
  }
  const text =
    labelStrings.length === 0
      ? hasMetricName
        ? metricName
        : '{}'
      : `${metricName}{${labelStrings.join(', ')}}`;
  return `series: '${truncateRunes(text)}'`;
}

function truncateRunes(text: string): string {
  // Cheap exit: a string of at most 200 UTF-16 units has at most 200 code points.
  if (text.length <= MAX_DESCRIBED_RUNES) {
    return text;
  }
  const codePoints = Array.from(text);
  if (codePoints.length <= MAX_DESCRIBED_RUNES) {
    return text;
  }
  return codePoints.slice(0, MAX_DESCRIBED_RUNES).join('') + ELLIPSIS;
}

/** Go's unicode.IsPrint is false for control, format, private-use, unassigned and separator runes except ' '. */
const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/** Quotes the UTF-8 bytes `[start, end)` of `buf` as Go's strconv.Quote does, invalid bytes as `\xNN`. */
export function goQuote(buf: Uint8Array, start: number, end: number): string {
  let out = '"';
  let pos = start;
  while (pos < end) {
    const byte = buf[pos]!;
    const shortEscape = SHORT_ESCAPES[byte];
    if (shortEscape !== undefined) {
      out += shortEscape;
      pos++;
      continue;
    }
    if (byte < 0x80) {
      out += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${hex(byte, 2)}`;
      pos++;
      continue;
    }
    const width = utf8SequenceWidth(buf, pos, end);
    if (width === 0) {
      out += `\\x${hex(byte, 2)}`;
      pos++;
      continue;
    }
    const rune = utf8.decode(buf.subarray(pos, pos + width));
    const codePoint = rune.codePointAt(0) ?? 0xfffd;
    if (rune !== ' ' && NON_PRINTABLE.test(rune)) {
      out += codePoint < 0x10000 ? `\\u${hex(codePoint, 4)}` : `\\U${hex(codePoint, 8)}`;
    } else {
      out += rune;
    }
    pos += width;
  }
  return out + '"';
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/**
 * Width of the valid UTF-8 sequence starting at `pos` (2..4), or 0 when the bytes there are not one — overlong
 * forms, surrogates and code points above U+10FFFF included, exactly the sequences Go decodes as RuneError.
 */
function utf8SequenceWidth(buf: Uint8Array, pos: number, end: number): number {
  const first = buf[pos]!;
  let width: number;
  let secondLow = 0x80;
  let secondHigh = 0xbf;
  if (first >= 0xc2 && first <= 0xdf) {
    width = 2;
  } else if (first >= 0xe0 && first <= 0xef) {
    width = 3;
    if (first === 0xe0) secondLow = 0xa0;
    else if (first === 0xed) secondHigh = 0x9f;
  } else if (first >= 0xf0 && first <= 0xf4) {
    width = 4;
    if (first === 0xf0) secondLow = 0x90;
    else if (first === 0xf4) secondHigh = 0x8f;
  } else {
    return 0;
  }
  if (pos + width > end) {
    return 0;
  }
  const second = buf[pos + 1]!;
  if (second < secondLow || second > secondHigh) {
    return 0;
  }
  for (let i = 2; i < width; i++) {
    const continuation = buf[pos + i]!;
    if (continuation < 0x80 || continuation > 0xbf) {
      return 0;
    }
  }
  return width;
}
