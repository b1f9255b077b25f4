// The exact pass over an OTLP protobuf body's translated series: the label extremes the scanner would measure if
// the dropped labels were not there and colliding attribute keys were merged as Mimir's translation merges them
// (otlp-label-merge.ts), and each series told to a recorder for partial acceptance. Computed on the bytes (no
// strings, no objects per point). It runs only when a scan bound calls for it; without collisions it counts exactly
// as otlp-proto-scanner.ts does (test/unit/decide/mimir-otlp-drop-labels.property.test.ts holds the two together).

import {
  SERVICE_INSTANCE_ID,
  SERVICE_NAME,
  SERVICE_NAMESPACE,
  TAG_DATA_POINTS,
  TAG_EXPONENTIAL_ATTRIBUTES,
  TAG_EXPONENTIAL_HISTOGRAM,
  TAG_GAUGE,
  TAG_HISTOGRAM,
  TAG_HISTOGRAM_ATTRIBUTES,
  TAG_KEY,
  TAG_METRICS,
  TAG_METRIC_NAME,
  TAG_METRIC_UNIT,
  TAG_NUMBER_ATTRIBUTES,
  TAG_QUANTILE_VALUES,
  TAG_RESOURCE,
  TAG_RESOURCE_ATTRIBUTES,
  TAG_RESOURCE_METRICS,
  TAG_SCOPE_METRICS,
  TAG_SUM,
  TAG_SUMMARY,
  TAG_SUMMARY_ATTRIBUTES,
  TAG_VALUE,
  TEMPORALITY_CUMULATIVE,
  bytesEqual,
  isMonotonic,
  temporalityOf,
  anyValueLength,
} from './otlp-proto-fields.js';
import { ProtoReader } from '../wire/protobuf-reader.js';
import {
  AttributeMerge,
  FIXED_INSTANCE,
  FIXED_JOB,
  FIXED_LE,
  FIXED_METRIC_NAME,
  FIXED_QUANTILE,
} from './otlp-label-merge.js';
import { invalidProtobuf } from './errors.js';
import type { OtelTranslation } from './otlp-metric-name.js';
import { otlpNameType, translatedOtlpName } from './otlp-metric-name.js';
import type { LabelExtremes } from './request-info.js';
import { noExtremes, observeExtremes } from './request-info.js';

/** What is dropped, as the pass tests it: attribute names by their translated form, fixed labels by flag. */
export interface DropSpec {
  /** Translated label names (UTF-8) an attribute is dropped under. */
  names: readonly Uint8Array[];
  metricName: boolean;
  job: boolean;
  instance: boolean;
  le: boolean;
  quantile: boolean;
  /** promote_otel_resource_attributes: resource attribute names (UTF-8) copied onto every series as labels. */
  promoted: readonly Uint8Array[];
  /**
   * Mimir's OTLP translation strategy for the tenant: the `__name__` length and `_info` are read off the name it
   * translates to. Absent: the name as sent is measured, as the scanners do, and translatedEndsInInfo reads
   * `_info` (the default translation's).
   */
  translation?: OtelTranslation;
}

const NAME_SUFFIX_LENGTH = [0, 0, '_bucket'.length, 0, '_count'.length] as const;
const UNDERSCORE = 0x5f;

/**
 * True when the attribute key at `[start, start + length)` translates to `name` (Prometheus' underscore escaping:
 * each code point outside `[A-Za-z0-9_]` becomes `_`, a leading digit gets `key_`).
 */
export function translatesTo(buf: Uint8Array, start: number, length: number, name: Uint8Array): boolean {
  let j = 0;
  const end = start + length;
  if (length > 0 && buf[start]! >= 0x30 && buf[start]! <= 0x39) {
    if (
      name.length < 4 ||
      name[0] !== 0x6b ||
      name[1] !== 0x65 ||
      name[2] !== 0x79 ||
      name[3] !== UNDERSCORE
    ) {
      return false;
    }
    j = 4;
  }
  for (let i = start; i < end; i++) {
    if (j >= name.length) return false;
    const b = buf[i]!;
    const word =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === UNDERSCORE;
    if (word) {
      if (name[j++] !== b) return false;
      continue;
    }
    if (name[j++] !== UNDERSCORE) return false;
    // One `_` per code point: skip the continuation bytes of a multi-byte character.
    if (b >= 0xc0) while (i + 1 < end && (buf[i + 1]! & 0xc0) === 0x80) i++;
  }
  return j === name.length;
}

class DropPass {
  readonly reader: ProtoReader;
  readonly x: LabelExtremes = noExtremes();
  ordinal = 0;
  // The current resource's kept job/instance and target_info labels.
  resLabels = 0;
  resNameLength = 0;
  resValueLength = 0;
  tiAll = 0;
  tiLabels = 0;
  tiNameLength = 0;
  tiValueLength = 0;
  points = 0;
  // What kv() read last.
  keyStart = 0;
  keyLength = 0;
  valueLength = 0;
  valueStart = 0;
  valueEnd = 0;
  // Whether the current resource gives its series job and instance (attributes of those names give way).
  resJob = false;
  resInstance = false;
  /** Attribute keys translating to one label name merge into one label (see otlp-label-merge.ts). */
  readonly merge = new AttributeMerge();
  /** The label names the translation sets on the series being read. */
  readonly fixed: Uint8Array[] = [];
  /** The current resource's promoted attributes, five numbers each: key start and length, value length, start, end. */
  readonly promotedAttrs: number[] = [];

  /** The first target_info over the info limit (InfoLabelLimits), if any. */
  infoOver: InfoSeriesOver | undefined;
  /** Whether the series observed next is a target_info over the info limit. */
  overInfoLimit = false;

  constructor(
    readonly buf: Uint8Array,
    readonly drop: DropSpec,
    readonly infoLimits?: InfoLabelLimits,
    readonly record?: SeriesRecorder,
  ) {
    this.reader = new ProtoReader(buf, 0, invalidProtobuf);
  }

  run(): void {
    const { reader, buf } = this;
    const end = buf.length;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag !== TAG_RESOURCE_METRICS) {
        reader.skip(tag, end);
        continue;
      }
      const rmEnd = reader.messageEnd(end);
      const rmStart = reader.pos;
      this.resLabels = this.resNameLength = this.resValueLength = 0;
      this.tiAll = this.tiLabels = this.tiNameLength = this.tiValueLength = 0;
      while (reader.pos < rmEnd) {
        const t = reader.tag(rmEnd);
        if (t === TAG_RESOURCE) this.resource(reader.messageEnd(rmEnd));
        else reader.skip(t, rmEnd);
      }
      reader.pos = rmStart;
      this.points = 0;
      while (reader.pos < rmEnd) {
        const t = reader.tag(rmEnd);
        if (t !== TAG_SCOPE_METRICS) {
          reader.skip(t, rmEnd);
          continue;
        }
        const smEnd = reader.messageEnd(rmEnd);
        while (reader.pos < smEnd) {
          const st = reader.tag(smEnd);
          if (st === TAG_METRICS) this.metric(reader.messageEnd(smEnd));
          else reader.skip(st, smEnd);
        }
      }
      const ordinal = this.ordinal++;
      if (this.tiAll > 0 && this.points > 0) {
        const keepName = !this.drop.metricName;
        const labels = this.tiLabels + this.resLabels + (keepName ? 1 : 0);
        this.observe(
          ordinal,
          keepName ? this.infoLabels(ordinal, labels) : labels,
          Math.max(this.tiNameLength, this.resNameLength, keepName ? 8 : 0),
          Math.max(this.tiValueLength, this.resValueLength, keepName ? 'target_info'.length : 0),
        );
      }
    }
  }

  private resource(end: number): void {
    const { reader, buf, drop } = this;
    let name = -1;
    let namespace = -1;
    let instance = -1;
    const merge = this.merge;
    merge.reset();
    const promotedAttrs = this.promotedAttrs;
    promotedAttrs.length = 0;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag !== TAG_RESOURCE_ATTRIBUTES) {
        reader.skip(tag, end);
        continue;
      }
      this.kv(reader.messageEnd(end));
      const { keyStart, keyLength, valueLength } = this;
      if (this.promotes(keyStart, keyLength) && !this.dropped(keyStart, keyLength)) {
        promotedAttrs.push(keyStart, keyLength, valueLength, this.valueStart, this.valueEnd);
      }
      if (bytesEqual(buf, keyStart, keyLength, SERVICE_NAME)) name = valueLength;
      else if (bytesEqual(buf, keyStart, keyLength, SERVICE_NAMESPACE)) namespace = valueLength;
      else if (bytesEqual(buf, keyStart, keyLength, SERVICE_INSTANCE_ID)) instance = valueLength;
      else {
        this.tiAll++;
        if (this.dropped(keyStart, keyLength)) continue;
        merge.add(buf, keyStart, keyLength, valueLength, this.valueStart, this.valueEnd);
      }
    }
    this.resJob = name >= 0;
    this.resInstance = instance >= 0;
    // target_info's labels: the other attributes, merged as for a point, under __name__, job and instance.
    merge.finish(buf, this.fixedLabels(-1, 0));
    this.tiLabels = merge.labels;
    this.tiNameLength = merge.longestName;
    this.tiValueLength = merge.longestValue;
    if (name >= 0 && !drop.job) {
      this.resLabels++;
      this.resNameLength = 3;
      this.resValueLength = namespace >= 0 ? namespace + 1 + name : name;
    }
    if (instance >= 0 && !drop.instance) {
      this.resLabels++;
      this.resNameLength = 8;
      if (instance > this.resValueLength) this.resValueLength = instance;
    }
  }

  /** Whether the resource attribute key at [start, start + length) is in promote_otel_resource_attributes. */
  private promotes(start: number, length: number): boolean {
    const names = this.drop.promoted;
    for (let i = 0; i < names.length; i++) if (bytesEqual(this.buf, start, length, names[i]!)) return true;
    return false;
  }

  private dropped(start: number, length: number): boolean {
    const names = this.drop.names;
    for (let i = 0; i < names.length; i++) if (translatesTo(this.buf, start, length, names[i]!)) return true;
    return false;
  }

  private metric(end: number): void {
    const reader = this.reader;
    const start = reader.pos;
    let nameLength = 0;
    let nameStart = 0;
    let unitLength = 0;
    let unitStart = 0;
    let infoName = false;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_METRIC_NAME) {
        nameLength = reader.length(end);
        nameStart = reader.pos;
        infoName = translatedEndsInInfo(this.buf, reader.pos, nameLength);
        reader.pos += nameLength;
      } else if (tag === TAG_METRIC_UNIT) {
        unitLength = reader.length(end);
        unitStart = reader.pos;
        reader.pos += unitLength;
      } else reader.skip(tag, end);
    }
    const translation = this.drop.translation;
    const translated = translation !== undefined;
    reader.pos = start;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      let kind: 0 | 1 | 2 | 3 | 4;
      if (tag === TAG_GAUGE) kind = 0;
      else if (tag === TAG_SUM) kind = 1;
      else if (tag === TAG_HISTOGRAM) kind = 2;
      else if (tag === TAG_EXPONENTIAL_HISTOGRAM) kind = 3;
      else if (tag === TAG_SUMMARY) kind = 4;
      else {
        reader.skip(tag, end);
        continue;
      }
      const aggEnd = reader.messageEnd(end);
      if (
        (kind === 1 || kind === 2 || kind === 3) &&
        temporalityOf(reader, aggEnd) !== TEMPORALITY_CUMULATIVE
      ) {
        reader.pos = aggEnd;
        continue;
      }
      let nameValueLength = nameLength;
      let info = infoName;
      if (translated) {
        const type = otlpNameType(kind, kind === 1 && isMonotonic(reader, aggEnd));
        const name = this.buf.subarray(nameStart, nameStart + nameLength);
        const t = translatedOtlpName(
          name,
          this.buf.subarray(unitStart, unitStart + unitLength),
          type,
          translation,
        );
        nameValueLength = t.length;
        info = t.info;
      }
      while (reader.pos < aggEnd) {
        const t = reader.tag(aggEnd);
        if (t === TAG_DATA_POINTS)
          this.point(kind, reader.messageEnd(aggEnd), nameValueLength + NAME_SUFFIX_LENGTH[kind], info);
        else reader.skip(t, aggEnd);
      }
    }
  }

  private point(kind: 0 | 1 | 2 | 3 | 4, end: number, nameValueLength: number, infoName: boolean): void {
    const { reader, drop } = this;
    const ordinal = this.ordinal++;
    this.points++;
    const attributesTag =
      kind === 2
        ? TAG_HISTOGRAM_ATTRIBUTES
        : kind === 3
          ? TAG_EXPONENTIAL_ATTRIBUTES
          : kind === 4
            ? TAG_SUMMARY_ATTRIBUTES
            : TAG_NUMBER_ATTRIBUTES;
    let quantiles = 0;
    const merge = this.merge;
    merge.reset();
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === attributesTag) {
        this.kv(reader.messageEnd(end));
        if (this.dropped(this.keyStart, this.keyLength)) continue;
        merge.add(this.buf, this.keyStart, this.keyLength, this.valueLength, this.valueStart, this.valueEnd);
      } else if (kind === 4 && tag === TAG_QUANTILE_VALUES) {
        quantiles++;
        reader.skip(tag, end);
      } else reader.skip(tag, end);
    }
    const p = this.promotedAttrs;
    for (let i = 0; i < p.length; i += 5)
      merge.add(this.buf, p[i]!, p[i + 1]!, p[i + 2]!, p[i + 3]!, p[i + 4]!, true);
    merge.finish(this.buf, this.fixedLabels(kind, quantiles));
    let labels = merge.labels;
    let nameLength = merge.longestName;
    let valueLength = merge.longestValue;
    if (!drop.metricName) {
      labels++;
      if (8 > nameLength) nameLength = 8;
      if (nameValueLength > valueLength) valueLength = nameValueLength;
    }
    labels += this.resLabels;
    if (this.resNameLength > nameLength) nameLength = this.resNameLength;
    if (this.resValueLength > valueLength) valueLength = this.resValueLength;
    if (kind === 2 && !drop.le) {
      labels++;
      if (2 > nameLength) nameLength = 2;
    } else if (kind === 4 && quantiles > 0 && !drop.quantile) {
      labels++;
      if (8 > nameLength) nameLength = 8;
    }
    if (infoName && !drop.metricName) labels = this.pointInfoLabels(ordinal, kind, quantiles, labels);
    this.observe(ordinal, labels, nameLength, valueLength);
  }

  /** A point of a metric named *_info: its label count as the per-series check should see it (infoSeriesLabels). */
  private pointInfoLabels(ordinal: number, kind: number, quantiles: number, labels: number): number {
    const counted = infoPointLabels(this.infoLimits, kind, quantiles, labels, !this.drop.quantile);
    if (counted >= 0) return counted;
    this.infoOver ??= { ordinal, labels };
    this.overInfoLimit = true;
    return labels;
  }

  /**
   * The label names Mimir's translation sets on a series of this kind (-1: target_info) itself, which attributes
   * of the same translated name give way to: `__name__`, `job` and `instance` from the resource, `le`, `quantile`.
   */
  private fixedLabels(kind: number, quantiles: number): readonly Uint8Array[] {
    const fixed = this.fixed;
    fixed.length = 0;
    fixed.push(FIXED_METRIC_NAME);
    if (this.resJob) fixed.push(FIXED_JOB);
    if (this.resInstance) fixed.push(FIXED_INSTANCE);
    if (kind === 2) fixed.push(FIXED_LE);
    else if (kind === 4 && quantiles > 0) fixed.push(FIXED_QUANTILE);
    return fixed;
  }

  /** Reads one KeyValue: the key's position and length, and the value's length as the scanner measures it. */
  private kv(end: number): void {
    const reader = this.reader;
    this.keyStart = reader.pos;
    this.keyLength = 0;
    this.valueLength = 0;
    this.valueStart = this.valueEnd = 0;
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag === TAG_KEY) {
        const length = reader.length(end);
        this.keyStart = reader.pos;
        this.keyLength = length;
        reader.pos += length;
      } else if (tag === TAG_VALUE) {
        const valueEnd = reader.messageEnd(end);
        this.valueStart = reader.pos;
        this.valueEnd = valueEnd;
        this.valueLength = anyValueLength(this.reader, this.buf, valueEnd);
      } else reader.skip(tag, end);
    }
  }

  /** target_info's label count as the per-series check should see it (see infoSeriesLabels). */
  private infoLabels(ordinal: number, labels: number): number {
    const seen = infoSeriesLabels(this.infoLimits, labels);
    if (seen < 0) {
      this.infoOver ??= { ordinal, labels };
      this.overInfoLimit = true;
      return labels;
    }
    return seen;
  }

  private observe(ordinal: number, labels: number, nameLength: number, valueLength: number): void {
    observeExtremes(this.x, ordinal, labels, nameLength, valueLength);
    if (this.record) this.record(ordinal, labels, nameLength, valueLength, this.overInfoLimit);
    this.overInfoLimit = false;
  }
}

/**
 * Told each translated series' label count, longest name and longest value (without the dropped labels), and
 * whether it is a target_info over max_label_names_per_info_series (its count is then the full one; a target_info
 * within that limit counts as at most max_label_names_per_series, see infoSeriesLabels).
 */
export type SeriesRecorder = (
  ordinal: number,
  labels: number,
  nameLength: number,
  valueLength: number,
  overInfoLimit: boolean,
) => void;

/** Mimir's label limits for an info series (target_info): max_label_names_per_series and _per_info_series. */
export interface InfoLabelLimits {
  perSeries: number;
  perInfo: number;
}

/** An info series over max_label_names_per_info_series: its ordinal and label count. */
export interface InfoSeriesOver {
  ordinal: number;
  labels: number;
}

/**
 * An info series' label count as the per-series check should see it: Mimir holds a series named *_info that is
 * over max_label_names_per_series to max_label_names_per_info_series instead, so within that one it counts as
 * just at the per-series limit; -1 when it is over the info limit too. Without limits, the count itself.
 */
export function infoSeriesLabels(limits: InfoLabelLimits | undefined, labels: number): number {
  if (limits === undefined || limits.perSeries <= 0 || labels <= limits.perSeries) return labels;
  if (limits.perInfo > 0 && labels > limits.perInfo) return -1;
  return limits.perSeries;
}

/**
 * Whether a metric name, as Mimir's translation writes it under the legacy name scheme, ends in `_info`, which
 * makes its series info series (held to max_label_names_per_info_series). The translation (otlptranslator's
 * BuildCompliantMetricName without suffixes) splits the name at every run of characters outside
 * `[A-Za-z0-9_:]`, drops empty pieces and joins the rest with `_`: runs at either end vanish (`build.info.` is
 * `build_info`), a run between two pieces is one `_` (`build..info` is `build_info`), and a name that is only
 * `info` after its leading run stays `info`. The name is `buf[start, start + length)`; every byte of a multi-byte
 * UTF-8 character is outside the set, as the character is.
 */
export function translatedEndsInInfo(buf: Uint8Array, start: number, length: number): boolean {
  let end = start + length;
  while (end > start && !metricNameByte(buf[end - 1]!)) end--;
  const at = end - 4;
  if (at <= start) return false;
  if (buf[at] !== 0x69 || buf[at + 1] !== 0x6e || buf[at + 2] !== 0x66 || buf[at + 3] !== 0x6f) return false;
  const before = buf[at - 1]!;
  if (before === 0x5f) return true;
  if (metricNameByte(before)) return false;
  // A run of other characters before `info` becomes `_` only when a piece comes before it.
  for (let i = at - 2; i >= start; i--) if (metricNameByte(buf[i]!)) return true;
  return false;
}

/** A byte the legacy metric name scheme keeps: `[A-Za-z0-9_:]`. */
function metricNameByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x3a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f;
}

/**
 * The label count of a point of a metric named *_info as the per-series check should see it, or -1 when the info
 * series it makes is over max_label_names_per_info_series. Gauges, sums and exponential histograms make one series
 * named *_info; a summary's quantile series are named *_info too, its _sum and _count (one label fewer, without
 * `quantile`) are not; a classic histogram's series all end in _bucket, _sum or _count, so none is an info series.
 */
export function infoPointLabels(
  limits: InfoLabelLimits | undefined,
  kind: number,
  quantiles: number,
  labels: number,
  quantileKept: boolean,
): number {
  // Without a quantile label (none, or dropped) a summary's _sum and _count carry every label the point has.
  if (kind === 2 || (kind === 4 && (quantiles === 0 || !quantileKept))) return labels;
  if (kind === 4) {
    // _sum and _count are validated first, held to max_label_names_per_series without the quantile label.
    if (limits !== undefined && limits.perSeries > 0 && labels - 1 > limits.perSeries) return labels - 1;
    const seen = infoSeriesLabels(limits, labels);
    return seen < 0 ? -1 : Math.max(seen, labels - 1);
  }
  return infoSeriesLabels(limits, labels);
}

/** The label extremes of a decompressed OTLP protobuf body (already scanned) without the labels `drop` names. */
export function otlpProtoLabelExtremes(
  buf: Uint8Array,
  drop: DropSpec,
  infoLimits?: InfoLabelLimits,
  record?: SeriesRecorder,
): LabelExtremes & { infoOver?: InfoSeriesOver } {
  const pass = new DropPass(buf, drop, infoLimits, record);
  pass.run();
  return pass.infoOver ? { ...pass.x, infoOver: pass.infoOver } : pass.x;
}
