// Measures a decompressed OTLP/HTTP protobuf metrics body (ExportMetricsServiceRequest) as Mimir's OTLP
// translation would count it: samples per data point by type, exemplars, metadata, target_info, label extremes.
// Must never decode strings, build per-point objects or recurse on the body's nesting; only BodyDecodeError escapes.

import { invalidProtobuf } from './errors.js';
import {
  SERVICE_INSTANCE_ID,
  SERVICE_NAME,
  SERVICE_NAMESPACE,
  TAG_BUCKET_COUNTS_ONE,
  TAG_BUCKET_COUNTS_PACKED,
  TAG_DATA_POINTS,
  TAG_EXPLICIT_BOUNDS_ONE,
  TAG_EXPLICIT_BOUNDS_PACKED,
  TAG_EXPONENTIAL_ATTRIBUTES,
  TAG_EXPONENTIAL_EXEMPLARS,
  TAG_EXPONENTIAL_HISTOGRAM,
  TAG_GAUGE,
  TAG_HISTOGRAM,
  TAG_HISTOGRAM_ATTRIBUTES,
  TAG_HISTOGRAM_EXEMPLARS,
  TAG_HISTOGRAM_SUM,
  TAG_KEY,
  TAG_METRICS,
  TAG_METRIC_NAME,
  TAG_METRIC_UNIT,
  TAG_NUMBER_ATTRIBUTES,
  TAG_NUMBER_EXEMPLARS,
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
  temporalityOf,
  wrongWireType,
  anyValueLength,
} from './otlp-proto-fields.js';
import { OTLP_MESSAGE_NAME, foreignTopLevelField } from './format-fit.js';
import { ProtoReader } from '../wire/protobuf-reader.js';
import type { RequestInfo } from './request-info.js';
import { otlpTimeKeys } from './otlp-point-times.js';

export { describeOtlpSeries } from './otlp-describe-series.js';

/** The OTLP metric kinds, in the order of their `Metric.data` oneof fields. */
export type MetricKind = 0 | 1 | 2 | 3 | 4;
export const GAUGE = 0;
export const SUM = 1;
export const HISTOGRAM = 2;
export const EXPONENTIAL_HISTOGRAM = 3;
export const SUMMARY = 4;

/** Byte lengths of the label names every translated series may carry. */
const METRIC_NAME_LABEL_LENGTH = '__name__'.length;
const JOB_LABEL_LENGTH = 'job'.length;
const INSTANCE_LABEL_LENGTH = 'instance'.length;
/** The longest suffix the translation appends to a metric name of each kind (`_bucket`, `_count`). */
const NAME_SUFFIX_LENGTH = [0, 0, '_bucket'.length, 0, '_count'.length] as const;

/** Metric names already charged one metadata entry in this request (Mimir sends one per metric family). */
const chargedMetadata = new Set<number>();

/**
 * Scans `buf` and returns what Mimir's OTLP translation would produce: a float sample per gauge or cumulative
 * sum point; sum (when set) + count + one per explicit bound + `+Inf` per classic histogram point; sum + count +
 * one per quantile per summary point; one native histogram sample per exponential histogram point; exemplars;
 * one metadata entry per metric name; and a target_info sample per resource with non-identifying attributes.
 * Non-cumulative sums and histograms are dropped by Mimir, so they count nothing.
 *
 * Series indexes in the result are point ordinals as describeOtlpSeries() reads them: every point of a kept
 * metric takes the next ordinal, and every ResourceMetrics takes one after its points (its target_info).
 */
export function scanOtlpProto(buf: Uint8Array, bytesCompressed: number): RequestInfo {
  const scan = new OtlpScan(buf);
  chargedMetadata.clear();
  scan.request();
  return {
    format: 'otlp-proto',
    series: scan.series,
    floatSamples: scan.floatSamples,
    histogramSamples: scan.histogramSamples,
    exemplars: scan.exemplars,
    metadata: scan.metadata,
    maxLabelNames: scan.maxLabelNames,
    maxLabelNamesSeries: scan.maxLabelNamesSeries,
    maxLabelNameLength: scan.maxLabelNameLength,
    maxLabelNameSeries: scan.maxLabelNameSeries,
    maxLabelValueLength: scan.maxLabelValueLength,
    maxLabelValueSeries: scan.maxLabelValueSeries,
    ...(scan.maxTimeHi >= 0 ? otlpTimeKeys(scan.minTimeHi, scan.maxTimeHi) : {}),
    ...(scan.maxUnitBytes > 0 ? { maxUnitBytes: scan.maxUnitBytes } : {}),
    bytesCompressed,
    bytesUncompressed: buf.length,
  };
}

class OtlpScan {
  readonly reader: ProtoReader;
  series = 0;
  floatSamples = 0;
  histogramSamples = 0;
  exemplars = 0;
  metadata = 0;
  maxLabelNames = 0;
  maxUnitBytes = 0;
  maxLabelNamesSeries = -1;
  maxLabelNameLength = 0;
  maxLabelNameSeries = -1;
  maxLabelValueLength = 0;
  maxLabelValueSeries = -1;
  /** The top 32 bits of the earliest and latest point time_unix_nano (-1: no point); see otlpTimeKeys. */
  minTimeHi = 0x1_0000_0000;
  maxTimeHi = -1;

  /** The next point (or target_info) ordinal. */
  ordinal = 0;
  targetInfoCharged = false;

  // The current resource: what it adds to every series (job, instance) and what its target_info carries.
  resourceLabels = 0;
  resourceValueLength = 0;
  targetInfoLabels = 0;
  targetInfoNameLength = 0;
  targetInfoValueLength = 0;

  // The attributes of the list just read by attributes().
  attributeCount = 0;
  attributeKeyLength = 0;
  attributeValueLength = 0;

  constructor(readonly buf: Uint8Array) {
    this.reader = new ProtoReader(buf, 0, invalidProtobuf);
  }

  request(): void {
    const reader = this.reader;
    const end = this.buf.length;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_RESOURCE_METRICS) {
        this.resourceMetrics(reader.messageEnd(end));
      } else if (tag >>> 3 === 1) {
        throw wrongWireType(tag, 'ExportMetricsServiceRequest', reader.pos);
      } else {
        // RW1's metadata (3), RW2's symbols and timeseries (4, 5), or any other field: not this message.
        throw foreignTopLevelField(tag, OTLP_MESSAGE_NAME, reader.pos);
      }
    }
  }

  private resourceMetrics(end: number): void {
    const reader = this.reader;
    const start = reader.pos;
    // The resource's attributes shape every series, so read them first wherever the field sits.
    this.resourceLabels = 0;
    this.resourceValueLength = 0;
    this.targetInfoLabels = 0;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_RESOURCE) this.resource(reader.messageEnd(end));
      else if (tag >>> 3 === 1 || tag >>> 3 === 2) {
        if ((tag & 7) !== 2) throw wrongWireType(tag, 'ResourceMetrics', reader.pos);
        reader.skip(tag, end);
      } else reader.skip(tag, end);
    }
    reader.pos = start;
    const samplesBefore = this.floatSamples + this.histogramSamples;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_SCOPE_METRICS) this.scopeMetrics(reader.messageEnd(end));
      else reader.skip(tag, end);
    }
    const targetInfo = this.ordinal++;
    // Mimir adds target_info for a resource that has points and attributes besides service.*.
    if (this.targetInfoLabels > 0 && this.floatSamples + this.histogramSamples > samplesBefore) {
      this.series++;
      this.floatSamples++;
      if (!this.targetInfoCharged) {
        this.targetInfoCharged = true;
        this.metadata++;
      }
      this.observe(
        targetInfo,
        this.targetInfoLabels + this.resourceLabels + 1,
        Math.max(this.targetInfoNameLength, METRIC_NAME_LABEL_LENGTH),
        Math.max(this.targetInfoValueLength, this.resourceValueLength, 'target_info'.length),
      );
    }
  }

  /** Reads Resource.attributes: job/instance from service.*, the rest for target_info. */
  private resource(end: number): void {
    const reader = this.reader;
    const buf = this.buf;
    let serviceName = -1;
    let serviceNamespace = -1;
    let instance = -1;
    let labels = 0;
    let nameLength = 0;
    let valueLength = 0;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag !== TAG_RESOURCE_ATTRIBUTES) {
        // attributes = 1 (length-delimited), dropped_attributes_count = 2 (varint): a wrong wire type is
        // another message in Resource's place (an RW1 Label, say), refused rather than skipped.
        if (tag >>> 3 === 1 || (tag >>> 3 === 2 && (tag & 7) !== 0))
          throw wrongWireType(tag, 'Resource', reader.pos);
        reader.skip(tag, end);
        continue;
      }
      const kvEnd = reader.messageEnd(end);
      this.keyValue(kvEnd);
      const key = this.keyStart;
      const keyLength = this.attributeKeyLengthLast;
      const value = this.valueLengthLast;
      if (bytesEqual(buf, key, keyLength, SERVICE_NAME)) serviceName = value;
      else if (bytesEqual(buf, key, keyLength, SERVICE_NAMESPACE)) serviceNamespace = value;
      else if (bytesEqual(buf, key, keyLength, SERVICE_INSTANCE_ID)) instance = value;
      else {
        labels++;
        if (keyLength > nameLength) nameLength = keyLength;
        if (value > valueLength) valueLength = value;
      }
    }
    let resourceLabels = 0;
    let resourceValue = 0;
    if (serviceName >= 0) {
      resourceLabels++;
      resourceValue = serviceNamespace >= 0 ? serviceNamespace + 1 + serviceName : serviceName;
    }
    if (instance >= 0) {
      resourceLabels++;
      if (instance > resourceValue) resourceValue = instance;
    }
    this.resourceLabels = resourceLabels;
    this.resourceValueLength = resourceValue;
    this.targetInfoLabels = labels;
    this.targetInfoNameLength = nameLength;
    this.targetInfoValueLength = valueLength;
  }

  private scopeMetrics(end: number): void {
    const reader = this.reader;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_METRICS) this.metric(reader.messageEnd(end));
      // scope = 1, metrics = 2 and schema_url = 3 are all length-delimited (an RW1 Sample here is refused).
      else if (tag >>> 3 <= 3 && (tag & 7) !== 2) throw wrongWireType(tag, 'ScopeMetrics', reader.pos);
      else reader.skip(tag, end);
    }
  }

  private metric(end: number): void {
    const reader = this.reader;
    const start = reader.pos;
    // The name sets the __name__ value length of every point, so find it first.
    let nameStart = 0;
    let nameLength = 0;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_METRIC_NAME) {
        nameLength = reader.length(end);
        nameStart = reader.pos;
        reader.pos += nameLength;
      } else if (tag === TAG_METRIC_UNIT) {
        const unitLength = reader.length(end);
        if (unitLength > this.maxUnitBytes) this.maxUnitBytes = unitLength;
        reader.pos += unitLength;
      } else reader.skip(tag, end);
    }
    reader.pos = start;
    const samplesBefore = this.floatSamples + this.histogramSamples;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      let kind: MetricKind;
      if (tag === TAG_GAUGE) kind = GAUGE;
      else if (tag === TAG_SUM) kind = SUM;
      else if (tag === TAG_HISTOGRAM) kind = HISTOGRAM;
      else if (tag === TAG_EXPONENTIAL_HISTOGRAM) kind = EXPONENTIAL_HISTOGRAM;
      else if (tag === TAG_SUMMARY) kind = SUMMARY;
      else {
        const field = tag >>> 3;
        if (field === 1 || field === 5 || field === 7 || field === 9 || field === 10 || field === 11) {
          if ((tag & 7) !== 2) throw wrongWireType(tag, 'Metric', reader.pos);
        }
        reader.skip(tag, end);
        continue;
      }
      this.aggregate(kind, reader.messageEnd(end), nameLength + NAME_SUFFIX_LENGTH[kind]);
    }
    if (this.floatSamples + this.histogramSamples > samplesBefore) {
      const hash = nameHash(this.buf, nameStart, nameLength);
      if (!chargedMetadata.has(hash)) {
        chargedMetadata.add(hash);
        this.metadata++;
      }
    }
  }

  private aggregate(kind: MetricKind, end: number, nameValueLength: number): void {
    const reader = this.reader;
    if (kind !== GAUGE && kind !== SUMMARY && temporalityOf(reader, end) !== TEMPORALITY_CUMULATIVE) {
      reader.pos = end;
      return;
    }
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_DATA_POINTS) this.point(kind, reader.messageEnd(end), nameValueLength);
      else if (tag >>> 3 === 1) throw wrongWireType(tag, 'data_points', reader.pos);
      else reader.skip(tag, end);
    }
  }

  private point(kind: MetricKind, end: number, nameValueLength: number): void {
    const reader = this.reader;
    const ordinal = this.ordinal++;
    const attributesTag =
      kind === HISTOGRAM
        ? TAG_HISTOGRAM_ATTRIBUTES
        : kind === EXPONENTIAL_HISTOGRAM
          ? TAG_EXPONENTIAL_ATTRIBUTES
          : kind === SUMMARY
            ? TAG_SUMMARY_ATTRIBUTES
            : TAG_NUMBER_ATTRIBUTES;
    const exemplarsTag =
      kind === HISTOGRAM
        ? TAG_HISTOGRAM_EXEMPLARS
        : kind === EXPONENTIAL_HISTOGRAM
          ? TAG_EXPONENTIAL_EXEMPLARS
          : kind === SUMMARY
            ? -1
            : TAG_NUMBER_EXEMPLARS;
    let attributes = 0;
    let keyLength = 0;
    let valueLength = 0;
    let exemplars = 0;
    let hasSum = false;
    let bucketCounts = 0;
    let bounds = 0;
    let quantiles = 0;
    // A point without a time is at 0 (1970), as Mimir reads it.
    let timeHi = 0;
    const buf = this.buf;
    // The position stays in a local while a run of attributes is read; the reader takes over for anything else.
    let pos = reader.pos;
    while (pos < end) {
      // An attribute as every SDK writes a string one, `<tag> <n> 0a <k> key 12 <m> 0a <s> string` with one-byte
      // lengths that fill the KeyValue exactly, is read here without a call (most of a point's bytes are these).
      // The length checks make every read stay inside the KeyValue; anything else takes the checked path below.
      // (Keeping the run's position in a local instead of the reader took ~10% off the OTLP scan.)
      while (pos + 1 < end && buf[pos] === attributesTag) {
        const kvLength = buf[pos + 1]!;
        const kv = pos + 2;
        const kvEnd = kv + kvLength;
        if (kvLength >= 0x80 || kvLength < 6 || kvEnd > end || buf[kv] !== TAG_KEY) break;
        const value = kv + 2 + buf[kv + 1]!;
        const stringLength = kvEnd - value - 4;
        if (
          stringLength < 0 ||
          buf[value] !== TAG_VALUE ||
          buf[value + 1] !== stringLength + 2 ||
          buf[value + 2] !== TAG_STRING_VALUE ||
          buf[value + 3] !== stringLength
        )
          break;
        attributes++;
        keyLength = Math.max(keyLength, value - kv - 2);
        valueLength = Math.max(valueLength, stringLength);
        pos = kvEnd;
      }
      if (pos >= end) break;
      reader.pos = pos;
      const tag = reader.tag(end);
      if (tag === attributesTag) {
        this.keyValue(reader.messageEnd(end));
        attributes++;
        if (this.attributeKeyLengthLast > keyLength) keyLength = this.attributeKeyLengthLast;
        if (this.valueLengthLast > valueLength) valueLength = this.valueLengthLast;
      } else if (tag === TAG_POINT_TIME) {
        // Four bytes of the eight: the time's top 32 bits (2^32 ns, 4.3 s apart) bound it for the grace periods.
        const at = reader.pos;
        reader.skip(tag, end);
        timeHi = (buf[at + 4]! | (buf[at + 5]! << 8) | (buf[at + 6]! << 16) | (buf[at + 7]! << 24)) >>> 0;
      } else if (tag === exemplarsTag) {
        exemplars++;
        reader.skipLengthDelimited(end);
      } else if (kind === HISTOGRAM && tag === TAG_HISTOGRAM_SUM) {
        hasSum = true;
        reader.skip(tag, end);
      } else if (kind === HISTOGRAM && tag === TAG_BUCKET_COUNTS_PACKED) {
        bucketCounts += this.packedFixed64(end);
      } else if (kind === HISTOGRAM && tag === TAG_BUCKET_COUNTS_ONE) {
        bucketCounts++;
        reader.skip(tag, end);
      } else if (kind === HISTOGRAM && tag === TAG_EXPLICIT_BOUNDS_PACKED) {
        bounds += this.packedFixed64(end);
      } else if (kind === HISTOGRAM && tag === TAG_EXPLICIT_BOUNDS_ONE) {
        bounds++;
        reader.skip(tag, end);
      } else if (kind === SUMMARY && tag === TAG_QUANTILE_VALUES) {
        quantiles++;
        reader.skipLengthDelimited(end);
      } else {
        if (tag >>> 3 === attributesTag >>> 3 || tag >>> 3 === exemplarsTag >>> 3) {
          throw wrongWireType(tag, 'data point', reader.pos);
        }
        reader.skip(tag, end);
      }
      pos = reader.pos;
    }
    reader.pos = pos;
    if (timeHi < this.minTimeHi) this.minTimeHi = timeHi;
    if (timeHi > this.maxTimeHi) this.maxTimeHi = timeHi;

    let samples: number;
    let extraLabel = 0;
    if (kind === HISTOGRAM) {
      samples = (hasSum ? 1 : 0) + 1 + Math.min(bounds, bucketCounts) + 1;
      extraLabel = 1; // le
    } else if (kind === SUMMARY) {
      samples = 2 + quantiles;
      if (quantiles > 0) extraLabel = 1; // quantile
    } else {
      samples = 1;
    }
    if (kind === EXPONENTIAL_HISTOGRAM) this.histogramSamples++;
    else this.floatSamples += samples;
    this.series += samples;
    this.exemplars += exemplars;
    this.observe(
      ordinal,
      attributes + this.resourceLabels + 1 + extraLabel,
      Math.max(
        keyLength,
        METRIC_NAME_LABEL_LENGTH,
        this.resourceLabels > 0 ? Math.max(JOB_LABEL_LENGTH, INSTANCE_LABEL_LENGTH) : 0,
      ),
      Math.max(valueLength, nameValueLength, this.resourceValueLength),
    );
  }

  /** Counts the 8-byte elements of a packed fixed64/double field. */
  private packedFixed64(end: number): number {
    const reader = this.reader;
    const at = reader.pos;
    const length = reader.length(end);
    if (length % 8 !== 0) throw invalidProtobuf(`packed fixed64 field of ${length} bytes`, at);
    reader.pos += length;
    return length / 8;
  }

  // What keyValue() found: where the key starts, its length, and the length of the value as Mimir prints it.
  keyStart = 0;
  attributeKeyLengthLast = 0;
  valueLengthLast = 0;

  /** Reads one KeyValue; leaves its key position and lengths in the fields above. */
  private keyValue(end: number): void {
    const reader = this.reader;
    this.keyStart = reader.pos;
    this.attributeKeyLengthLast = 0;
    this.valueLengthLast = 0;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_KEY) {
        const length = reader.length(end);
        this.keyStart = reader.pos;
        this.attributeKeyLengthLast = length;
        reader.pos += length;
      } else if (tag === TAG_VALUE) {
        this.valueLengthLast = anyValueLength(this.reader, this.buf, reader.messageEnd(end));
      } else if (tag >>> 3 === 1 || tag >>> 3 === 2) {
        throw wrongWireType(tag, 'KeyValue', reader.pos);
      } else {
        reader.skip(tag, end);
      }
    }
  }

  private observe(ordinal: number, labels: number, nameLength: number, valueLength: number): void {
    if (labels > this.maxLabelNames || this.maxLabelNamesSeries < 0) {
      this.maxLabelNames = labels;
      this.maxLabelNamesSeries = ordinal;
    }
    if (nameLength > this.maxLabelNameLength || this.maxLabelNameSeries < 0) {
      this.maxLabelNameLength = nameLength;
      this.maxLabelNameSeries = ordinal;
    }
    if (valueLength > this.maxLabelValueLength || this.maxLabelValueSeries < 0) {
      this.maxLabelValueLength = valueLength;
      this.maxLabelValueSeries = ordinal;
    }
  }
}

/** FNV-1a of a metric name, folded to 30 bits so the Set key stays a small integer. */
function nameHash(buf: Uint8Array, start: number, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < start + length; i++) {
    hash ^= buf[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash & 0x3fffffff;
}
