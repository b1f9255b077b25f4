// The label Mimir names when it refuses a series for a label name or value over its limit: validateLabels
// (pkg/distributor/validate.go) walks the labels sorted by name, after removing those with an empty value and
// those drop_labels names, and stops at the first one too long. Error path only, for the message of one series
// whose index the scan (or the exact pass) gave: it may allocate, and throws nothing for a body without such a
// series or such a label (undefined then).

import { ProtoReader } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import { walkOtlpSeries } from './otlp-series-labels.js';
import { otlpLabelName } from './otlp-series-labels.js';
import type { WriteFormat } from './request-info.js';
import type { OtelTranslation } from './otlp-metric-name.js';
import { otlpNameType, translatedOtlpNameText } from './otlp-metric-name.js';
import {
  TAG_LABELS,
  TAG_TIMESERIES,
  TAG_V2_REFS_ONE,
  TAG_V2_REFS_PACKED,
  TAG_V2_TIMESERIES,
  readRw1Label,
  seekSeries,
  symbolTable,
  utf8,
} from './rw-series-fields.js';

/** A label as Mimir's message quotes it. */
export interface FaultyLabel {
  name: string;
  value: string;
  /** The value's length in bytes, which Mimir's value message quotes. */
  valueBytes: number;
}

/** What is too long: the name (max_label_name_length) or the value (max_label_value_length). */
export type LabelPart = 'name' | 'value';

interface Candidate {
  name: string;
  nameBytes: number;
  valueBytes: number;
  value: () => string;
}

const encoder = new TextEncoder();
const byteLength = (s: string): number => encoder.encode(s).length;

/**
 * The first label, in Mimir's order, of series `index` of `body` whose name (or value) is longer than `limit`
 * bytes, without the labels named in `dropped`; undefined when there is none or the body cannot be read.
 */
export function labelAtFault(
  body: Uint8Array,
  format: WriteFormat,
  index: number,
  part: LabelPart,
  limit: number,
  dropped: ReadonlySet<string> | readonly string[] = [],
  translation?: OtelTranslation,
): FaultyLabel | undefined {
  try {
    const labels = seriesLabels(body, format, index, translation);
    if (labels === undefined) return undefined;
    const skip = new Set(dropped);
    const kept = labels.filter((l) => l.valueBytes > 0 && !skip.has(l.name));
    // Go compares strings bytewise; UTF-16 order differs only above U+FFFF, which label names rarely hold.
    kept.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const found = kept.find((l) => (part === 'name' ? l.nameBytes : l.valueBytes) > limit);
    return found ? { name: found.name, value: found.value(), valueBytes: found.valueBytes } : undefined;
  } catch {
    return undefined;
  }
}

function seriesLabels(
  body: Uint8Array,
  format: WriteFormat,
  index: number,
  translation: OtelTranslation | undefined,
): Candidate[] | undefined {
  if (format === 'prw1') return rw1Labels(body, index);
  if (format === 'prw2') return rw2Labels(body, index);
  return otlpLabels(body, format, index, translation);
}

function rw1Labels(buf: Uint8Array, index: number): Candidate[] | undefined {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const seriesEnd = seekSeries(reader, TAG_TIMESERIES, index);
  if (seriesEnd < 0) return undefined;
  const labels: Candidate[] = [];
  while (reader.pos < seriesEnd) {
    const field = reader.tag(seriesEnd);
    if (field !== TAG_LABELS) {
      reader.skip(field, seriesEnd);
      continue;
    }
    // readRw1Label reuses its answer: keep the value's span.
    const { nameStart, nameLength, valueStart, valueLength } = readRw1Label(reader, seriesEnd);
    labels.push({
      name: utf8(buf, nameStart, nameLength),
      nameBytes: nameLength,
      valueBytes: valueLength,
      value: () => utf8(buf, valueStart, valueLength),
    });
  }
  return labels;
}

function rw2Labels(buf: Uint8Array, index: number): Candidate[] | undefined {
  const { starts, lengths, count } = symbolTable(buf);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const seriesEnd = seekSeries(reader, TAG_V2_TIMESERIES, index);
  if (seriesEnd < 0) return undefined;
  const refs: number[] = [];
  while (reader.pos < seriesEnd) {
    const field = reader.tag(seriesEnd);
    if (field === TAG_V2_REFS_PACKED) {
      const refsEnd = reader.messageEnd(seriesEnd);
      while (reader.pos < refsEnd) refs.push(reader.varint(refsEnd));
    } else if (field === TAG_V2_REFS_ONE) {
      refs.push(reader.varint(seriesEnd));
    } else {
      reader.skip(field, seriesEnd);
    }
  }
  const labels: Candidate[] = [];
  for (let k = 0; k + 1 < refs.length; k += 2) {
    const n = refs[k]!;
    const v = refs[k + 1]!;
    if (n >= count || v >= count) continue;
    labels.push({
      name: utf8(buf, starts[n]!, lengths[n]!),
      nameBytes: lengths[n]!,
      valueBytes: lengths[v]!,
      value: () => utf8(buf, starts[v]!, lengths[v]!),
    });
  }
  return labels;
}

/** A translated OTLP series: `__name__`, the point's attributes under their translated names, job and instance. */
function otlpLabels(
  buf: Uint8Array,
  format: WriteFormat,
  index: number,
  translation: OtelTranslation | undefined,
): Candidate[] | undefined {
  let labels: Candidate[] | undefined;
  walkOtlpSeries(
    buf,
    format,
    (n) => n === index,
    (s) => {
      const text = (l: { text?: string; buf: Uint8Array; start: number; end: number }): string =>
        l.text ?? utf8(l.buf, l.start, l.end - l.start);
      const attribute = (translate: boolean) => (l: (typeof s.attributes)[number]) => {
        const name = translate ? otlpLabelName(l.name) : l.name;
        return { name, nameBytes: byteLength(name), valueBytes: l.valueLength, value: () => text(l) };
      };
      // The name as the tenant's translation strategy writes it, where one is given.
      const name =
        translation === undefined
          ? s.metricName
          : translatedOtlpNameText(
              s.metricName,
              s.unit ?? '',
              otlpNameType(s.kind, s.monotonic === true),
              translation,
            );
      labels = [
        { name: '__name__', nameBytes: 8, valueBytes: byteLength(name), value: () => name },
        ...s.attributes.map(attribute(true)),
        ...s.resource.map(attribute(false)),
      ];
      return true;
    },
  );
  return labels;
}
