// Walks an OTLP protobuf body series by series as Mimir's translation produces them, in exactly the scanner's
// ordinal order: every point of a kept metric (its metric name, its attributes, and job/instance from the
// resource), then the resource's target_info. Behind the label-limit message (describeOtlpSeries) and the exact
// pass of tenants that drop labels or run HA pairs (otlp-series-labels.ts). Never on the fast path: it may
// allocate, and throws only BodyDecodeError.

import type { DescribedLabel } from './describe-series.js';
import { describeLabels } from './describe-series.js';
import {
  SERVICE_INSTANCE_ID,
  SERVICE_NAME,
  SERVICE_NAMESPACE,
  TAG_ARRAY_VALUE,
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
  TAG_KVLIST_VALUE,
  TAG_METRICS,
  TAG_METRIC_NAME,
  TAG_METRIC_UNIT,
  TAG_NUMBER_ATTRIBUTES,
  TAG_POINT_TIME,
  TAG_QUANTILE_VALUES,
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
  isMonotonic,
  temporalityOf,
} from './otlp-proto-fields.js';
import { ProtoReader } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import { nanosToMs } from './otlp-point-times.js';

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** A label of a translated series: its value as printed, and the value's length as the scanners measure it. */
export interface OtlpLabel extends DescribedLabel {
  valueLength: number;
  /** The value as text, when it was read as text (OTLP/JSON); `buf` is then empty until a message needs it. */
  text?: string;
}

/** The metric kinds in `Metric.data` order; TARGET_INFO for a resource's target_info series. */
export const TARGET_INFO = -1;
export const OTLP_HISTOGRAM = 2;
export const OTLP_SUMMARY = 4;

/** One translated series (one point ordinal) as the walk hands it over. */
export interface OtlpSeries {
  ordinal: number;
  /** 0 gauge, 1 sum, 2 histogram, 3 exponential histogram, 4 summary, TARGET_INFO. */
  kind: number;
  /** The metric name as sent (no suffix); `target_info` for TARGET_INFO. */
  metricName: string;
  /** The metric's unit and, for a sum, whether it is monotonic (what the name's suffixes are made of). */
  unit?: string;
  monotonic?: boolean;
  /** The point's attributes; for TARGET_INFO, the resource's attributes other than service.*. */
  attributes: OtlpLabel[];
  /** job and instance from service.name/service.namespace/service.instance.id, when present. */
  resource: OtlpLabel[];
  /** Every attribute of the resource (service.* included), as promote_otel_resource_attributes reads them. */
  resourceAttributes?: OtlpLabel[];
  /** Summary points: how many quantiles (the `quantile` label exists only when above 0). */
  quantiles: number;
  /** The point's time in ms as Mimir reads it (0 without one); absent for TARGET_INFO. */
  timeMs?: number;
  /** TARGET_INFO: whether Mimir emits it (non-identifying attributes, and points in the resource). */
  emitted: boolean;
}

/**
 * Walks `buf` in the scanner's order. `want(ordinal)` says whether a series is built and handed to `visit`;
 * `visit` returns true to stop the walk. Returns the number of ordinals walked.
 */
export function walkOtlpProto(
  buf: Uint8Array,
  want: (ordinal: number) => boolean,
  visit: (series: OtlpSeries) => boolean,
): number {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const state = { ordinal: 0, stopped: false, points: 0 };
  const end = buf.length;
  while (reader.pos < end && !state.stopped) {
    const tag = reader.tag(end);
    if (tag !== TAG_RESOURCE_METRICS) {
      reader.skip(tag, end);
      continue;
    }
    const rmEnd = reader.messageEnd(end);
    const rmStart = reader.pos;
    let resourceLabels: OtlpLabel[] = [];
    let targetInfoLabels: OtlpLabel[] = [];
    let resourceAttributes: OtlpLabel[] = [];
    while (reader.pos < rmEnd) {
      const t = reader.tag(rmEnd);
      if (t === TAG_RESOURCE) {
        [resourceLabels, targetInfoLabels, resourceAttributes] = resource(reader, reader.messageEnd(rmEnd));
      } else reader.skip(t, rmEnd);
    }
    reader.pos = rmStart;
    state.points = 0;
    while (reader.pos < rmEnd && !state.stopped) {
      const t = reader.tag(rmEnd);
      if (t !== TAG_SCOPE_METRICS) {
        reader.skip(t, rmEnd);
        continue;
      }
      const smEnd = reader.messageEnd(rmEnd);
      while (reader.pos < smEnd && !state.stopped) {
        const st = reader.tag(smEnd);
        if (st !== TAG_METRICS) {
          reader.skip(st, smEnd);
          continue;
        }
        metric(reader, reader.messageEnd(smEnd), state, resourceLabels, resourceAttributes, want, visit);
      }
    }
    if (state.stopped) break;
    const ordinal = state.ordinal++;
    if (want(ordinal)) {
      state.stopped = visit({
        ordinal,
        kind: TARGET_INFO,
        metricName: 'target_info',
        attributes: targetInfoLabels,
        resource: resourceLabels,
        quantiles: 0,
        emitted: targetInfoLabels.length > 0 && state.points > 0,
      });
    }
  }
  return state.ordinal;
}

/**
 * The series at point ordinal `ordinal` (as scanOtlpProto() numbers them) as `series: 'name{a="1", job="x"}'`.
 * Throws RangeError when the body has no such ordinal.
 */
export function describeOtlpSeries(buf: Uint8Array, ordinal: number): string {
  let text: string | undefined;
  const count = walkOtlpProto(
    buf,
    (n) => n === ordinal,
    (s) => {
      text = describeLabels([nameLabel(s.metricName), ...s.attributes, ...s.resource]);
      return true;
    },
  );
  if (text === undefined) {
    throw new RangeError(`series ${ordinal} does not exist: the body has ${count} series ordinals`);
  }
  return text;
}

function metric(
  reader: ProtoReader,
  end: number,
  state: { ordinal: number; stopped: boolean; points: number },
  resourceLabels: OtlpLabel[],
  resourceAttributes: OtlpLabel[],
  want: (ordinal: number) => boolean,
  visit: (series: OtlpSeries) => boolean,
): void {
  const start = reader.pos;
  let name = '';
  let unit = '';
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_METRIC_UNIT) {
      const length = reader.length(end);
      unit = utf8.decode(reader.buf.subarray(reader.pos, reader.pos + length));
      reader.pos += length;
    } else if (tag === TAG_METRIC_NAME) {
      const length = reader.length(end);
      name = utf8.decode(reader.buf.subarray(reader.pos, reader.pos + length));
      reader.pos += length;
    } else reader.skip(tag, end);
  }
  reader.pos = start;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    let attributesTag: number;
    let kind: number;
    if (tag === TAG_GAUGE) [kind, attributesTag] = [0, TAG_NUMBER_ATTRIBUTES];
    else if (tag === TAG_SUM) [kind, attributesTag] = [1, TAG_NUMBER_ATTRIBUTES];
    else if (tag === TAG_HISTOGRAM) [kind, attributesTag] = [2, TAG_HISTOGRAM_ATTRIBUTES];
    else if (tag === TAG_EXPONENTIAL_HISTOGRAM) [kind, attributesTag] = [3, TAG_EXPONENTIAL_ATTRIBUTES];
    else if (tag === TAG_SUMMARY) [kind, attributesTag] = [4, TAG_SUMMARY_ATTRIBUTES];
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
    const monotonic = tag === TAG_SUM && isMonotonic(reader, aggEnd);
    while (reader.pos < aggEnd) {
      const t = reader.tag(aggEnd);
      if (t !== TAG_DATA_POINTS) {
        reader.skip(t, aggEnd);
        continue;
      }
      const pointEnd = reader.messageEnd(aggEnd);
      state.points++;
      const ordinal = state.ordinal++;
      if (!want(ordinal)) {
        reader.pos = pointEnd;
        continue;
      }
      const attributes: OtlpLabel[] = [];
      let quantiles = 0;
      let timeMs = 0;
      while (reader.pos < pointEnd) {
        const pt = reader.tag(pointEnd);
        if (pt === attributesTag) attributes.push(keyValue(reader, reader.messageEnd(pointEnd)));
        else if (pt === TAG_POINT_TIME) {
          const at = reader.pos;
          reader.skip(pt, pointEnd);
          const view = new DataView(reader.buf.buffer, reader.buf.byteOffset + at, 8);
          timeMs = nanosToMs(view.getBigUint64(0, true));
        } else if (kind === OTLP_SUMMARY && pt === TAG_QUANTILE_VALUES) {
          quantiles++;
          reader.skip(pt, pointEnd);
        } else reader.skip(pt, pointEnd);
      }
      const series: OtlpSeries = {
        ordinal,
        kind,
        metricName: name,
        unit,
        monotonic,
        attributes,
        resource: resourceLabels,
        resourceAttributes,
        quantiles,
        timeMs,
        emitted: true,
      };
      if (visit(series)) {
        state.stopped = true;
        return;
      }
    }
  }
}

/** The resource's job/instance labels, its other attributes (what target_info carries), and all its attributes. */
function resource(reader: ProtoReader, end: number): [OtlpLabel[], OtlpLabel[], OtlpLabel[]] {
  const all: OtlpLabel[] = [];
  const others: OtlpLabel[] = [];
  let name: OtlpLabel | undefined;
  let namespace: OtlpLabel | undefined;
  let instance: OtlpLabel | undefined;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_RESOURCE_ATTRIBUTES) {
      reader.skip(tag, end);
      continue;
    }
    const label = keyValue(reader, reader.messageEnd(end));
    all.push(label);
    const key = encoder.encode(label.name);
    if (bytesEqual(key, 0, key.length, SERVICE_NAME)) name = label;
    else if (bytesEqual(key, 0, key.length, SERVICE_NAMESPACE)) namespace = label;
    else if (bytesEqual(key, 0, key.length, SERVICE_INSTANCE_ID)) instance = label;
    else others.push(label);
  }
  const labels: OtlpLabel[] = [];
  if (name) {
    const job = namespace
      ? `${utf8.decode(namespace.buf.subarray(namespace.start, namespace.end))}/${utf8.decode(name.buf.subarray(name.start, name.end))}`
      : utf8.decode(name.buf.subarray(name.start, name.end));
    const label = textLabel('job', job);
    // The scanners measure job as namespace + '/' + name from the attributes' own lengths.
    label.valueLength = namespace ? namespace.valueLength + 1 + name.valueLength : name.valueLength;
    labels.push(label);
  }
  if (instance) labels.push({ ...instance, name: 'instance' });
  return [labels, others, all];
}

function keyValue(reader: ProtoReader, end: number): OtlpLabel {
  let name = '';
  let value: OtlpLabel = textLabel('', '');
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

/**
 * An AnyValue as label bytes: strings as sent, scalars printed, arrays, maps and bytes shown as their size. The
 * value length is the scanner's (otlp-proto-scanner.ts anyValueLength): base64 for bytes, the encoded size of an
 * array or a map.
 */
function anyValue(reader: ProtoReader, end: number): OtlpLabel {
  let label = textLabel('', '');
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_STRING_VALUE) {
      const length = reader.length(end);
      label = { name: '', buf: reader.buf, start: reader.pos, end: reader.pos + length, valueLength: length };
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
    } else if (tag === TAG_BYTES_VALUE || tag === TAG_ARRAY_VALUE || tag === TAG_KVLIST_VALUE) {
      const length = reader.length(end);
      reader.pos += length;
      label = textLabel('', tag === TAG_BYTES_VALUE ? `<${length} bytes>` : `<${length}-byte value>`);
      label.valueLength = tag === TAG_BYTES_VALUE ? 4 * Math.ceil(length / 3) : length;
    } else reader.skip(tag, end);
  }
  return label;
}

function nameLabel(name: string): DescribedLabel {
  return textLabel('__name__', name);
}

function textLabel(name: string, value: string): OtlpLabel {
  const bytes = encoder.encode(value);
  return { name, buf: bytes, start: 0, end: bytes.length, valueLength: bytes.length };
}
