// Measures a decompressed OTLP/HTTP JSON metrics body with the same counting rules as the protobuf scanner, as a
// stream of tokens (json-cursor.ts): no JSON.parse, no objects per point, no recursion on the body's nesting; any
// bad text or shape is BodyDecodeError. The field names it matches are in otlp-json-fields.ts; describing one
// series for a denial, which parses, is otlp-json-describe-series.ts.

import { JSON_BYTES, JsonCursor } from './json-cursor.js';
import { anyValueLength } from './otlp-json-any-value.js';
import {
  KINDS,
  NAME_SUFFIX_LENGTH,
  K_RESOURCE_METRICS,
  K_RESOURCE_METRICS_SNAKE,
  K_RESOURCE,
  K_SCOPE_METRICS,
  K_SCOPE_METRICS_SNAKE,
  K_ATTRIBUTES,
  K_METRICS,
  K_NAME,
  K_UNIT,
  K_DATA_POINTS,
  K_DATA_POINTS_SNAKE,
  K_TEMPORALITY,
  K_TEMPORALITY_SNAKE,
  K_EXEMPLARS,
  K_TIME_UNIX_NANO,
  K_TIME_UNIX_NANO_SNAKE,
  K_SUM,
  K_BUCKET_COUNTS,
  K_BUCKET_COUNTS_SNAKE,
  K_EXPLICIT_BOUNDS,
  K_EXPLICIT_BOUNDS_SNAKE,
  K_QUANTILE_VALUES,
  K_QUANTILE_VALUES_SNAKE,
  K_KEY,
  K_VALUE,
  V_CUMULATIVE,
  V_CUMULATIVE_NAME,
  SERVICE_NAME,
  SERVICE_NAMESPACE,
  SERVICE_INSTANCE_ID,
  SUM,
  HISTOGRAM,
  EXPONENTIAL_HISTOGRAM,
  SUMMARY,
  METRIC_NAME_LABEL_LENGTH,
  TARGET_INFO_LENGTH,
  metricKind,
  once,
  requireObject,
  openList,
  countList,
} from './otlp-json-fields.js';
import { invalidJson } from './otlp-json-objects.js';
import type { RequestInfo } from './request-info.js';
import { jsonTimeKeys, jsonTimeMs } from './otlp-point-times.js';

const { QUOTE, OPEN_BRACE, CLOSE_BRACE, CLOSE_BRACKET } = JSON_BYTES;

/**
 * Counts like scanOtlpProto(), reading the JSON text once as a stream of tokens: no JSON.parse, no objects per
 * point or attribute, nothing decoded but one metric name per kept metric. Series indexes are the same point
 * ordinals describeOtlpJsonSeries() reads.
 *
 * Accepts the OTLP/JSON encoding (lowerCamelCase keys, int64 as strings or numbers, enums as integers, unknown
 * fields ignored) and, more leniently than the specification, snake_case keys and enum names. Label lengths are
 * UTF-8 bytes of the decoded strings, escapes resolved. Throws BodyDecodeError `invalid_json` for text JSON.parse
 * would refuse, and for a known field of the wrong type, a field given twice, or a metric with two data kinds.
 */
export function scanOtlpJson(buf: Uint8Array, bytesCompressed: number): RequestInfo {
  const scan = new OtlpJsonScan(buf);
  scan.request();
  return {
    format: 'otlp-json',
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
    ...(scan.maxTimeMs >= 0 || scan.timeUnreadable
      ? jsonTimeKeys(scan.minTimeMs, scan.maxTimeMs, scan.timeUnreadable)
      : {}),
    ...(scan.maxUnitBytes > 0 ? { maxUnitBytes: scan.maxUnitBytes } : {}),
    bytesCompressed,
    bytesUncompressed: buf.length,
  };
}

class OtlpJsonScan {
  readonly c: JsonCursor;
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
  /** The earliest and latest point time in ms (-1: no point), and whether some time was not plain digits. */
  minTimeMs = Infinity;
  maxTimeMs = -1;
  timeUnreadable = false;

  /** The next point (or target_info) ordinal. */
  ordinal = 0;
  targetInfoCharged = false;
  readonly chargedNames = new Set<string>();

  // The current resource: what it adds to every series (job, instance) and what its target_info carries.
  resourceLabels = 0;
  resourceValue = 0;
  targetLabels = 0;
  targetNameLength = 0;
  targetValueLength = 0;

  // The points of the data object being read. Its aggregation temporality may come after its points, so they are
  // counted here and added to the request only once the metric is known to be kept.
  pSeries = 0;
  pFloatSamples = 0;
  pHistogramSamples = 0;
  pExemplars = 0;
  pMaxLabelNames = 0;
  pMaxLabelNamesSeries = -1;
  pMaxLabelNameLength = 0;
  pMaxLabelNameSeries = -1;
  pMaxLabelValueLength = 0;
  pMaxLabelValueSeries = -1;
  pMinTimeMs = Infinity;
  pMaxTimeMs = -1;
  pTimeUnreadable = false;

  // What keyValue() found: the key's UTF-8 length, which service.* attribute it is (0: none), the value's length.
  kvKeyBytes = 0;
  kvService = 0;
  kvValueLength = 0;

  // The metric being read: its name token, and whether it was read (possibly ahead of the data).
  nameStart = 0;
  nameEnd = 0;
  nameEscaped = false;
  nameBytes = 0;

  constructor(buf: Uint8Array) {
    this.c = new JsonCursor(buf);
  }

  request(): void {
    const c = this.c;
    if (c.ws() !== OPEN_BRACE) {
      c.skipValue();
      c.finish();
      throw invalidJson('the body is not a JSON object');
    }
    let seen = 0;
    if (c.openObject()) {
      do {
        c.key();
        if (c.keyIs(K_RESOURCE_METRICS) || c.keyIs(K_RESOURCE_METRICS_SNAKE)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 1, 'resourceMetrics');
          if (openList(c, 'resourceMetrics')) {
            do {
              requireObject(c, 'resourceMetrics');
              this.resourceMetrics();
            } while (c.more(CLOSE_BRACKET));
          }
        } else {
          c.skipValue();
        }
      } while (c.more(CLOSE_BRACE));
    }
    c.finish();
  }

  private resourceMetrics(): void {
    const c = this.c;
    this.resourceLabels = 0;
    this.resourceValue = 0;
    this.targetLabels = 0;
    this.targetNameLength = 0;
    this.targetValueLength = 0;
    const samplesBefore = this.floatSamples + this.histogramSamples;
    // Where a resource read ahead of its scopeMetrics sits (-2: looked, none), so it is not read twice.
    let resourceAt = -1;
    let seen = 0;
    if (c.openObject()) {
      do {
        c.key();
        if (c.keyIs(K_RESOURCE)) {
          if (c.pos === resourceAt) {
            c.skipValue();
            continue;
          }
          if (c.takeNull()) continue;
          seen = once(c, seen, 1, 'resource');
          this.resource();
        } else if (c.keyIs(K_SCOPE_METRICS) || c.keyIs(K_SCOPE_METRICS_SNAKE)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 2, 'scopeMetrics');
          // Every series carries the resource's labels: a resource written after the metrics is read first.
          if ((seen & 1) === 0 && resourceAt === -1) resourceAt = this.resourceAhead();
          if (openList(c, 'scopeMetrics')) {
            do {
              requireObject(c, 'scopeMetrics');
              this.scopeMetrics();
            } while (c.more(CLOSE_BRACKET));
          }
        } else {
          c.skipValue();
        }
      } while (c.more(CLOSE_BRACE));
    }
    const targetInfo = this.ordinal++;
    // Mimir adds target_info for a resource that has points and attributes besides service.*.
    if (this.targetLabels > 0 && this.floatSamples + this.histogramSamples > samplesBefore) {
      this.series++;
      this.floatSamples++;
      if (!this.targetInfoCharged) {
        this.targetInfoCharged = true;
        this.metadata++;
      }
      this.observe(
        targetInfo,
        this.targetLabels + this.resourceLabels + 1,
        Math.max(this.targetNameLength, METRIC_NAME_LABEL_LENGTH),
        Math.max(this.targetValueLength, this.resourceValue, TARGET_INFO_LENGTH),
      );
    }
  }

  /** From the value of scopeMetrics: finds and reads a `resource` later in the same object; restores the cursor. */
  private resourceAhead(): number {
    const c = this.c;
    const back = c.pos;
    let found = -2;
    c.skipValue();
    while (c.more(CLOSE_BRACE)) {
      c.key();
      if (c.keyIs(K_RESOURCE)) {
        found = c.pos;
        if (!c.takeNull()) this.resource();
        break;
      }
      c.skipValue();
    }
    c.pos = back;
    return found;
  }

  /** Reads Resource.attributes: job/instance from service.*, the rest for target_info. */
  private resource(): void {
    const c = this.c;
    requireObject(c, 'resource');
    let serviceName = -1;
    let serviceNamespace = -1;
    let instance = -1;
    let labels = 0;
    let nameLength = 0;
    let valueLength = 0;
    let seen = 0;
    if (c.openObject()) {
      do {
        c.key();
        if (!c.keyIs(K_ATTRIBUTES)) {
          c.skipValue();
          continue;
        }
        if (c.takeNull()) continue;
        seen = once(c, seen, 1, 'attributes');
        if (!openList(c, 'attributes')) continue;
        do {
          requireObject(c, 'attributes');
          this.keyValue(true);
          const value = this.kvValueLength;
          if (this.kvService === 1) serviceName = value;
          else if (this.kvService === 2) serviceNamespace = value;
          else if (this.kvService === 3) instance = value;
          else {
            labels++;
            if (this.kvKeyBytes > nameLength) nameLength = this.kvKeyBytes;
            if (value > valueLength) valueLength = value;
          }
        } while (c.more(CLOSE_BRACKET));
      } while (c.more(CLOSE_BRACE));
    }
    this.resourceLabels = (serviceName >= 0 ? 1 : 0) + (instance >= 0 ? 1 : 0);
    this.resourceValue = Math.max(
      serviceName >= 0 ? (serviceNamespace >= 0 ? serviceNamespace + 1 : 0) + serviceName : 0,
      instance,
      0,
    );
    this.targetLabels = labels;
    this.targetNameLength = nameLength;
    this.targetValueLength = valueLength;
  }

  private scopeMetrics(): void {
    const c = this.c;
    let seen = 0;
    if (!c.openObject()) return;
    do {
      c.key();
      if (!c.keyIs(K_METRICS)) {
        c.skipValue();
        continue;
      }
      if (c.takeNull()) continue;
      seen = once(c, seen, 1, 'metrics');
      if (!openList(c, 'metrics')) continue;
      do {
        requireObject(c, 'metrics');
        this.metric();
      } while (c.more(CLOSE_BRACKET));
    } while (c.more(CLOSE_BRACE));
  }

  private metric(): void {
    const c = this.c;
    const samplesBefore = this.floatSamples + this.histogramSamples;
    // The name sets the __name__ length of every point; where it follows the data, it is read ahead.
    this.nameStart = 0;
    this.nameEnd = 0;
    this.nameEscaped = false;
    this.nameBytes = 0;
    let nameAt = -1;
    let seen = 0;
    if (c.openObject()) {
      do {
        c.key();
        if (c.keyIs(K_NAME)) {
          if (c.pos === nameAt) {
            c.skipValue();
            continue;
          }
          seen = once(c, seen, 1, 'name');
          this.name();
          continue;
        }
        const unit = c.keyIs(K_UNIT);
        const kind = metricKind(c);
        if (kind < 0) {
          const at = c.pos;
          c.skipValue();
          if (unit && c.pos - at > this.maxUnitBytes) this.maxUnitBytes = c.pos - at; // as written: a bound
          continue;
        }
        if (c.takeNull()) continue;
        requireObject(c, KINDS[kind]!);
        if ((seen & 2) !== 0) {
          throw c.fail(
            'a metric has more than one of gauge, sum, histogram, exponentialHistogram and summary',
          );
        }
        seen |= 2;
        if ((seen & 1) === 0 && nameAt === -1) nameAt = this.nameAhead();
        this.data(kind, this.nameBytes + NAME_SUFFIX_LENGTH[kind]!);
      } while (c.more(CLOSE_BRACE));
    }
    if (this.floatSamples + this.histogramSamples > samplesBefore) {
      const name = this.nameText();
      if (!this.chargedNames.has(name)) {
        this.chargedNames.add(name);
        this.metadata++;
      }
    }
  }

  /** Reads a metric's name value (null is the empty name). */
  private name(): void {
    const c = this.c;
    if (c.takeNull()) {
      this.nameStart = this.nameEnd = this.nameBytes = 0;
      this.nameEscaped = false;
      return;
    }
    if (c.buf[c.pos] !== QUOTE) throw c.fail('name is not a string');
    c.string();
    this.nameStart = c.strStart;
    this.nameEnd = c.strEnd;
    this.nameEscaped = c.strEscaped;
    this.nameBytes = c.strBytes;
  }

  private nameText(): string {
    const c = this.c;
    if (this.nameEnd === this.nameStart) return '';
    const saved = [c.strStart, c.strEnd, c.strEscaped] as const;
    c.strStart = this.nameStart;
    c.strEnd = this.nameEnd;
    c.strEscaped = this.nameEscaped;
    const text = c.decodedString();
    [c.strStart, c.strEnd, c.strEscaped] = saved;
    return text;
  }

  /** From a data value: finds and reads a `name` later in the same metric; restores the cursor. */
  private nameAhead(): number {
    const c = this.c;
    const back = c.pos;
    let found = -2;
    c.skipValue();
    while (c.more(CLOSE_BRACE)) {
      c.key();
      if (c.keyIs(K_NAME)) {
        found = c.pos;
        this.name();
        break;
      }
      c.skipValue();
    }
    c.pos = back;
    return found;
  }

  /** Reads a Gauge, Sum, Histogram, ExponentialHistogram or Summary; its points count only if Mimir keeps it. */
  private data(kind: number, nameValueLength: number): void {
    const c = this.c;
    const firstOrdinal = this.ordinal;
    this.pSeries = 0;
    this.pFloatSamples = 0;
    this.pHistogramSamples = 0;
    this.pExemplars = 0;
    this.pMaxLabelNames = 0;
    this.pMaxLabelNamesSeries = -1;
    this.pMaxLabelNameLength = 0;
    this.pMaxLabelNameSeries = -1;
    this.pMaxLabelValueLength = 0;
    this.pMaxLabelValueSeries = -1;
    this.pMinTimeMs = Infinity;
    this.pMaxTimeMs = -1;
    this.pTimeUnreadable = false;
    const hasTemporality = kind === SUM || kind === HISTOGRAM || kind === EXPONENTIAL_HISTOGRAM;
    let cumulative = false;
    let seen = 0;
    if (c.openObject()) {
      do {
        c.key();
        if (c.keyIs(K_DATA_POINTS) || c.keyIs(K_DATA_POINTS_SNAKE)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 1, 'dataPoints');
          if (!openList(c, 'dataPoints')) continue;
          do {
            requireObject(c, 'dataPoints');
            this.point(kind, nameValueLength);
          } while (c.more(CLOSE_BRACKET));
        } else if (hasTemporality && (c.keyIs(K_TEMPORALITY) || c.keyIs(K_TEMPORALITY_SNAKE))) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 2, 'aggregationTemporality');
          cumulative = this.cumulative();
        } else {
          c.skipValue();
        }
      } while (c.more(CLOSE_BRACE));
    }
    // Mimir keeps gauges and summaries, and sums and histograms only when cumulative.
    if (hasTemporality && !cumulative) {
      this.ordinal = firstOrdinal;
      return;
    }
    this.series += this.pSeries;
    this.floatSamples += this.pFloatSamples;
    this.histogramSamples += this.pHistogramSamples;
    this.exemplars += this.pExemplars;
    if (this.pMinTimeMs < this.minTimeMs) this.minTimeMs = this.pMinTimeMs;
    if (this.pMaxTimeMs > this.maxTimeMs) this.maxTimeMs = this.pMaxTimeMs;
    if (this.pTimeUnreadable) this.timeUnreadable = true;
    // The pending points all come after every point seen so far, so a tie keeps the earlier one.
    if (this.pMaxLabelNamesSeries >= 0) {
      this.observe(-1, this.pMaxLabelNames, -1, -1, this.pMaxLabelNamesSeries);
    }
    if (this.pMaxLabelNameSeries >= 0) {
      this.observe(-1, -1, this.pMaxLabelNameLength, -1, this.pMaxLabelNameSeries);
    }
    if (this.pMaxLabelValueSeries >= 0) {
      this.observe(-1, -1, -1, this.pMaxLabelValueLength, this.pMaxLabelValueSeries);
    }
  }

  /** An aggregation temporality value: 2 (as a number or a string) or its enum name mean cumulative. */
  private cumulative(): boolean {
    const c = this.c;
    const b = c.buf[c.pos]!;
    if (b === QUOTE) {
      c.string();
      return c.keyIs(V_CUMULATIVE) || c.keyIs(V_CUMULATIVE_NAME);
    }
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      c.number();
      return c.numberValue() === 2;
    }
    c.skipValue();
    return false;
  }

  private point(kind: number, nameValueLength: number): void {
    const c = this.c;
    let attributes = 0;
    let keyLength = 0;
    let valueLength = 0;
    let exemplars = 0;
    let hasSum = false;
    let bounds = 0;
    let bucketCounts = 0;
    let quantiles = 0;
    let seen = 0;
    // A point without a time is at 0 (1970), as Mimir reads it.
    let timeMs = 0;
    if (c.openObject()) {
      do {
        c.key();
        if (c.keyIs(K_ATTRIBUTES)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 1, 'attributes');
          if (!openList(c, 'attributes')) continue;
          do {
            requireObject(c, 'attributes');
            this.keyValue(false);
            attributes++;
            if (this.kvKeyBytes > keyLength) keyLength = this.kvKeyBytes;
            if (this.kvValueLength > valueLength) valueLength = this.kvValueLength;
          } while (c.more(CLOSE_BRACKET));
        } else if (isTimeKey(c)) {
          if (c.takeNull()) continue;
          timeMs = this.time();
        } else if (kind !== SUMMARY && c.keyIs(K_EXEMPLARS)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 2, 'exemplars');
          exemplars = countList(c, 'exemplars', true);
        } else if (kind === HISTOGRAM && c.keyIs(K_SUM)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 4, 'sum');
          c.skipValue();
          hasSum = true;
        } else if (kind === HISTOGRAM && (c.keyIs(K_BUCKET_COUNTS) || c.keyIs(K_BUCKET_COUNTS_SNAKE))) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 8, 'bucketCounts');
          bucketCounts = countList(c, 'bucketCounts', false);
        } else if (kind === HISTOGRAM && (c.keyIs(K_EXPLICIT_BOUNDS) || c.keyIs(K_EXPLICIT_BOUNDS_SNAKE))) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 16, 'explicitBounds');
          bounds = countList(c, 'explicitBounds', false);
        } else if (kind === SUMMARY && (c.keyIs(K_QUANTILE_VALUES) || c.keyIs(K_QUANTILE_VALUES_SNAKE))) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 32, 'quantileValues');
          quantiles = countList(c, 'quantileValues', true);
        } else {
          c.skipValue();
        }
      } while (c.more(CLOSE_BRACE));
    }
    if (timeMs < 0) this.pTimeUnreadable = true;
    else {
      if (timeMs < this.pMinTimeMs) this.pMinTimeMs = timeMs;
      if (timeMs > this.pMaxTimeMs) this.pMaxTimeMs = timeMs;
    }
    let samples = 1;
    let extraLabel = 0;
    if (kind === HISTOGRAM) {
      samples = (hasSum ? 1 : 0) + 2 + Math.min(bounds, bucketCounts);
      extraLabel = 1; // le
    } else if (kind === SUMMARY) {
      samples = 2 + quantiles;
      if (quantiles > 0) extraLabel = 1; // quantile
    }
    if (kind === EXPONENTIAL_HISTOGRAM) this.pHistogramSamples++;
    else this.pFloatSamples += samples;
    this.pSeries += samples;
    this.pExemplars += exemplars;
    const ordinal = this.ordinal++;
    const labels = attributes + this.resourceLabels + 1 + extraLabel;
    const nameLength = Math.max(keyLength, METRIC_NAME_LABEL_LENGTH);
    const value = Math.max(valueLength, nameValueLength, this.resourceValue);
    if (labels > this.pMaxLabelNames || this.pMaxLabelNamesSeries < 0) {
      this.pMaxLabelNames = labels;
      this.pMaxLabelNamesSeries = ordinal;
    }
    if (nameLength > this.pMaxLabelNameLength || this.pMaxLabelNameSeries < 0) {
      this.pMaxLabelNameLength = nameLength;
      this.pMaxLabelNameSeries = ordinal;
    }
    if (value > this.pMaxLabelValueLength || this.pMaxLabelValueSeries < 0) {
      this.pMaxLabelValueLength = value;
      this.pMaxLabelValueSeries = ordinal;
    }
  }

  /**
   * A timeUnixNano value in ms: the digits of a string or a number exactly, as Go reads a uint64 (an escaped string
   * decoded, another number as JSON.parse reads it); -1 when it is none of these.
   */
  private time(): number {
    const c = this.c;
    const buf = c.buf;
    const at = c.pos;
    c.skipValue();
    let end = c.pos;
    while (end > at && buf[end - 1]! <= 0x20) end--;
    const quoted = buf[at] === QUOTE;
    const ms = quoted ? jsonTimeMs(buf, at + 1, end - 1) : jsonTimeMs(buf, at, end);
    return ms >= 0 ? ms : this.timeSlow(buf[at]!);
  }

  /** time() for what is not plain digits: the token just skipped starts with `first`. */
  private timeSlow(first: number): number {
    const c = this.c;
    if (first === QUOTE) {
      if (!c.strEscaped) return -1;
      const bytes = latin1Bytes(c.decodedString());
      return jsonTimeMs(bytes, 0, bytes.length);
    }
    if (first !== 0x2d && (first < 0x30 || first > 0x39)) return -1;
    const value = c.numberValue();
    return Number.isInteger(value) && value >= 0 ? Math.floor(value / 1e6) : -1;
  }

  /** Reads one KeyValue object into kvKeyBytes, kvService (only when `resource`) and kvValueLength. */
  private keyValue(resource: boolean): void {
    const c = this.c;
    let keyBytes = 0;
    let service = 0;
    let valueLength = 0;
    let seen = 0;
    if (c.openObject()) {
      do {
        c.key();
        if (c.keyIs(K_KEY)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 1, 'key');
          if (c.buf[c.pos] !== QUOTE) throw c.fail('an attribute key is not a string');
          c.string();
          keyBytes = c.strBytes;
          if (resource) {
            service = c.keyIs(SERVICE_NAME)
              ? 1
              : c.keyIs(SERVICE_NAMESPACE)
                ? 2
                : c.keyIs(SERVICE_INSTANCE_ID)
                  ? 3
                  : 0;
          }
        } else if (c.keyIs(K_VALUE)) {
          if (c.takeNull()) continue;
          seen = once(c, seen, 2, 'value');
          if (c.buf[c.pos] !== OPEN_BRACE) throw c.fail('an attribute value is not an object');
          valueLength = anyValueLength(c);
        } else {
          c.skipValue();
        }
      } while (c.more(CLOSE_BRACE));
    }
    this.kvKeyBytes = keyBytes;
    this.kvService = service;
    this.kvValueLength = valueLength;
  }

  private observe(
    ordinal: number,
    labels: number,
    nameLength: number,
    valueLength: number,
    pendingOrdinal = ordinal,
  ): void {
    if (labels >= 0 && (labels > this.maxLabelNames || this.maxLabelNamesSeries < 0)) {
      this.maxLabelNames = labels;
      this.maxLabelNamesSeries = pendingOrdinal;
    }
    if (nameLength >= 0 && (nameLength > this.maxLabelNameLength || this.maxLabelNameSeries < 0)) {
      this.maxLabelNameLength = nameLength;
      this.maxLabelNameSeries = pendingOrdinal;
    }
    if (valueLength >= 0 && (valueLength > this.maxLabelValueLength || this.maxLabelValueSeries < 0)) {
      this.maxLabelValueLength = valueLength;
      this.maxLabelValueSeries = pendingOrdinal;
    }
  }
}

/** Whether the key just read is timeUnixNano (or time_unix_nano): one length comparison for any other key. */
function isTimeKey(c: JsonCursor): boolean {
  if (c.strEscaped) return c.keyIs(K_TIME_UNIX_NANO) || c.keyIs(K_TIME_UNIX_NANO_SNAKE);
  const length = c.strEnd - c.strStart;
  return length === 12 ? c.keyIs(K_TIME_UNIX_NANO) : length === 14 && c.keyIs(K_TIME_UNIX_NANO_SNAKE);
}

/** A decoded string's UTF-16 units as bytes (only its digits matter; any other unit fails jsonTimeMs). */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = Math.min(text.charCodeAt(i), 0xff);
  return out;
}
