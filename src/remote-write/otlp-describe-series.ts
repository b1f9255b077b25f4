// Renders the series behind one point ordinal of an OTLP protobuf body for a label-limit message: the metric
// name, the point's attributes, and job/instance from the resource (or target_info for a resource's ordinal).
// Error path only: it may allocate, but walks the body in exactly the scanner's order and throws only BodyDecodeError.

import type { DescribedLabel } from './describe-series.js';
import { describeLabels } from './describe-series.js';
import {
  SERVICE_INSTANCE_ID,
  SERVICE_NAME,
  SERVICE_NAMESPACE,
  TAG_BOOL_VALUE,
  TAG_BYTES_VALUE,
  TAG_DATA_POINTS,
  TAG_DOUBLE_VALUE,
  TAG_EXPONENTIAL_ATTRIBUTES,
  TAG_EXPONENTIAL_HISTOGRAM,
  TAG_GAUGE,
  TAG_HISTOGRAM,
  TAG_HISTOGRAM_ATTRIBUTES,
  TAG_INT_VALUE,
  TAG_KEY,
  TAG_METRICS,
  TAG_METRIC_NAME,
  TAG_NUMBER_ATTRIBUTES,
  TAG_RESOURCE,
  TAG_RESOURCE_ATTRIBUTES,
  TAG_RESOURCE_METRICS,
  TAG_SCOPE_METRICS,
  TAG_STRING_VALUE,
  TAG_SUM,
  TAG_SUMMARY,
  TAG_SUMMARY_ATTRIBUTES,
  TAG_VALUE,
  TEMPORALITY_CUMULATIVE,
  bytesEqual,
  temporalityOf,
} from './otlp-proto-fields.js';
import { ProtoReader } from './protobuf-reader.js';

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Thrown inside the walk when the wanted ordinal is reached, carrying the rendered series out of the loops. */
class Found {
  constructor(readonly text: string) {}
}

/**
 * The series at point ordinal `ordinal` (as scanOtlpProto() numbers them) as `series: 'name{a="1", job="x"}'`.
 * Throws RangeError when the body has no such ordinal.
 */
export function describeOtlpSeries(buf: Uint8Array, ordinal: number): string {
  try {
    const count = walk(buf, ordinal);
    throw new RangeError(`series ${ordinal} does not exist: the body has ${count} series ordinals`);
  } catch (result) {
    if (result instanceof Found) return result.text;
    throw result;
  }
}

function walk(buf: Uint8Array, wanted: number): number {
  const reader = new ProtoReader(buf);
  let ordinal = 0;
  const end = buf.length;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_RESOURCE_METRICS) {
      reader.skip(tag, end);
      continue;
    }
    const rmEnd = reader.messageEnd(end);
    const rmStart = reader.pos;
    let resourceLabels: DescribedLabel[] = [];
    let targetInfoLabels: DescribedLabel[] = [];
    while (reader.pos < rmEnd) {
      const t = reader.tag(rmEnd);
      if (t === TAG_RESOURCE) {
        [resourceLabels, targetInfoLabels] = resource(reader, reader.messageEnd(rmEnd));
      } else reader.skip(t, rmEnd);
    }
    reader.pos = rmStart;
    while (reader.pos < rmEnd) {
      const t = reader.tag(rmEnd);
      if (t !== TAG_SCOPE_METRICS) {
        reader.skip(t, rmEnd);
        continue;
      }
      const smEnd = reader.messageEnd(rmEnd);
      while (reader.pos < smEnd) {
        const st = reader.tag(smEnd);
        if (st !== TAG_METRICS) {
          reader.skip(st, smEnd);
          continue;
        }
        ordinal = metric(reader, reader.messageEnd(smEnd), ordinal, wanted, resourceLabels);
      }
    }
    if (ordinal++ === wanted) {
      throw new Found(describeLabels([nameLabel('target_info'), ...targetInfoLabels, ...resourceLabels]));
    }
  }
  return ordinal;
}

function metric(
  reader: ProtoReader,
  end: number,
  ordinal: number,
  wanted: number,
  resourceLabels: DescribedLabel[],
): number {
  const start = reader.pos;
  let name = '';
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_METRIC_NAME) {
      const length = reader.length(end);
      name = utf8.decode(reader.buf.subarray(reader.pos, reader.pos + length));
      reader.pos += length;
    } else reader.skip(tag, end);
  }
  reader.pos = start;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    let attributesTag: number;
    if (tag === TAG_GAUGE) attributesTag = TAG_NUMBER_ATTRIBUTES;
    else if (tag === TAG_SUM) attributesTag = TAG_NUMBER_ATTRIBUTES;
    else if (tag === TAG_HISTOGRAM) attributesTag = TAG_HISTOGRAM_ATTRIBUTES;
    else if (tag === TAG_EXPONENTIAL_HISTOGRAM) attributesTag = TAG_EXPONENTIAL_ATTRIBUTES;
    else if (tag === TAG_SUMMARY) attributesTag = TAG_SUMMARY_ATTRIBUTES;
    else {
      reader.skip(tag, end);
      continue;
    }
    const aggEnd = reader.messageEnd(end);
    const needsCumulative = tag === TAG_SUM || tag === TAG_HISTOGRAM || tag === TAG_EXPONENTIAL_HISTOGRAM;
    if (needsCumulative && temporalityOf(reader, aggEnd) !== TEMPORALITY_CUMULATIVE) {
      reader.pos = aggEnd;
      continue;
    }
    while (reader.pos < aggEnd) {
      const t = reader.tag(aggEnd);
      if (t !== TAG_DATA_POINTS) {
        reader.skip(t, aggEnd);
        continue;
      }
      const pointEnd = reader.messageEnd(aggEnd);
      if (ordinal++ !== wanted) {
        reader.pos = pointEnd;
        continue;
      }
      const labels: DescribedLabel[] = [nameLabel(name)];
      while (reader.pos < pointEnd) {
        const pt = reader.tag(pointEnd);
        if (pt === attributesTag) labels.push(keyValue(reader, reader.messageEnd(pointEnd)));
        else reader.skip(pt, pointEnd);
      }
      throw new Found(describeLabels([...labels, ...resourceLabels]));
    }
  }
  return ordinal;
}

/** The resource's job/instance labels, and its other attributes (what target_info carries). */
function resource(reader: ProtoReader, end: number): [DescribedLabel[], DescribedLabel[]] {
  const others: DescribedLabel[] = [];
  let name: DescribedLabel | undefined;
  let namespace: DescribedLabel | undefined;
  let instance: DescribedLabel | undefined;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_RESOURCE_ATTRIBUTES) {
      reader.skip(tag, end);
      continue;
    }
    const label = keyValue(reader, reader.messageEnd(end));
    const key = encoder.encode(label.name);
    if (bytesEqual(key, 0, key.length, SERVICE_NAME)) name = label;
    else if (bytesEqual(key, 0, key.length, SERVICE_NAMESPACE)) namespace = label;
    else if (bytesEqual(key, 0, key.length, SERVICE_INSTANCE_ID)) instance = label;
    else others.push(label);
  }
  const labels: DescribedLabel[] = [];
  if (name) {
    const job = namespace
      ? `${utf8.decode(namespace.buf.subarray(namespace.start, namespace.end))}/${utf8.decode(name.buf.subarray(name.start, name.end))}`
      : utf8.decode(name.buf.subarray(name.start, name.end));
    labels.push(textLabel('job', job));
  }
  if (instance) labels.push({ ...instance, name: 'instance' });
  return [labels, others];
}

function keyValue(reader: ProtoReader, end: number): DescribedLabel {
  let name = '';
  let value: DescribedLabel = textLabel('', '');
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_KEY) {
      const length = reader.length(end);
      name = utf8.decode(reader.buf.subarray(reader.pos, reader.pos + length));
      reader.pos += length;
    } else if (tag === TAG_VALUE) {
      value = anyValue(reader, reader.messageEnd(end));
    } else reader.skip(tag, end);
  }
  return { ...value, name };
}

/** An AnyValue as label bytes: strings as sent, scalars printed, arrays, maps and bytes shown as their size. */
function anyValue(reader: ProtoReader, end: number): DescribedLabel {
  let label = textLabel('', '');
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_STRING_VALUE) {
      const length = reader.length(end);
      label = { name: '', buf: reader.buf, start: reader.pos, end: reader.pos + length };
      reader.pos += length;
    } else if (tag === TAG_BOOL_VALUE) {
      label = textLabel('', reader.varint(end) !== 0 ? 'true' : 'false');
    } else if (tag === TAG_INT_VALUE) {
      const unsigned = reader.varint(end);
      label = textLabel('', String(unsigned >= 2 ** 63 ? unsigned - 2 ** 64 : unsigned));
    } else if (tag === TAG_DOUBLE_VALUE) {
      const at = reader.pos;
      reader.skip(tag, end);
      const view = new DataView(reader.buf.buffer, reader.buf.byteOffset + at, 8);
      label = textLabel('', String(view.getFloat64(0, true)));
    } else if ((tag & 7) === 2) {
      const length = reader.length(end);
      reader.pos += length;
      label = textLabel('', tag === TAG_BYTES_VALUE ? `<${length} bytes>` : `<${length}-byte value>`);
    } else reader.skip(tag, end);
  }
  return label;
}

function nameLabel(name: string): DescribedLabel {
  return textLabel('__name__', name);
}

function textLabel(name: string, value: string): DescribedLabel {
  const bytes = encoder.encode(value);
  return { name, buf: bytes, start: 0, end: bytes.length };
}
