// The exact, per-series pass behind Mimir's partial acceptance: which series of an RW1 or RW2 body Mimir would
// keep, the first one it would refuse, and what the kept ones cost. Runs only after the one-pass scan found a
// bound over a limit, so it may allocate; it must never throw anything but BodyDecodeError, whatever the bytes.

import { isUtf8 } from 'node:buffer';
import { compressSync } from 'snappy';
import { ProtoReader } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { RequestInfo } from './request-info.js';
import { reencodeRw1 } from './rw1-reencode.js';
import { reencodeRw2 } from './rw2-reencode.js';
import { reencodeRw2Metadata } from './rw2-metadata-filter.js';
import {
  readRw1Label,
  TAG_EXEMPLARS,
  TAG_HISTOGRAMS,
  TAG_LABELS,
  TAG_METADATA,
  TAG_TIMESERIES,
  TAG_V2_EXEMPLARS,
  TAG_V2_HISTOGRAMS,
  TAG_V2_METADATA,
  TAG_V2_REFS_ONE,
  TAG_V2_REFS_PACKED,
  TAG_V2_SAMPLES,
  TAG_V2_TIMESERIES,
  TAG_SAMPLES,
  rw2MetadataIsSet,
  sameBytes,
  symbolTable,
  utf8,
} from './rw-series-fields.js';
import {
  HISTOGRAM_NOT_REDUCIBLE,
  HISTOGRAM_SCHEMA_INVALID,
  HISTOGRAM_TOO_MANY_BUCKETS,
  SAMPLE_TIME_OK,
  SAMPLE_TOO_NEW,
} from './sample-times.js';
import type { SampleTimeVerdicts } from './sample-times.js';

/** Mimir's name_validation_scheme: `legacy` (Prometheus' classic character sets) or `utf8` (any UTF-8). */
export type NameScheme = 'legacy' | 'utf8';

/** The per-series limits as numbers; 0 means "not checked" (unlimited, not enforced, or not an error). */
export interface SeriesRules {
  maxLabelNames: number;
  /**
   * Mimir's max_label_names_per_info_series: a series whose metric name ends in `_info` and has more labels than
   * `maxLabelNames` is held to this one instead (0: unlimited). Read only when `maxLabelNames` is checked.
   */
  maxLabelNamesPerInfoSeries: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** False when the tenant has exemplars disabled: Mimir drops them, so none are charged. */
  exemplarsCharged: boolean;
  /** Exemplars charged per series at most (Mimir keeps the first ones); 0: all. */
  maxExemplarsPerSeries: number;
  /**
   * UTF-8 names of labels Mimir removes before validation (drop_labels, and the HA replica label of an accepted
   * HA request): they neither count nor get checked. Omitted or empty: none.
   */
  dropLabels?: readonly Uint8Array[];
  /**
   * The scheme metric and label names are validated by, with label values (UTF-8), duplicate names and the
   * metric name's presence; omitted: none of those checks (name_validation_scheme not enforced).
   */
  nameScheme?: NameScheme;
  /**
   * Mimir's sample time checks (creation_grace_period, past_grace_period), judged after the labels: per series
   * a verdict of sampleTimeVerdicts, and the bounds the messages quote. Omitted: no sample is refused for its time.
   */
  sampleTimes?: SampleTimeVerdicts & { latestMs: number; earliestMs: number; maxBuckets: number };
}

export type SeriesProblemKind =
  | 'max_label_names_per_series'
  | 'max_label_names_per_info_series'
  | 'max_label_name_length'
  | 'max_label_value_length'
  | 'missing_metric_name'
  | 'metric_name_invalid'
  | 'label_invalid'
  | 'label_value_invalid'
  | 'duplicate_label_names'
  | 'sample_too_far_in_future'
  | 'sample_too_far_in_past'
  | 'histogram_schema_invalid'
  | 'max_native_histogram_buckets'
  | 'histogram_not_reducible';

/** Why Mimir would refuse one series: the limit, its value, and the value the series has. */
export interface SeriesProblem {
  kind: SeriesProblemKind;
  /** Index of the series in the body (0-based), for describeSeries(). */
  series: number;
  observed: number;
  limit: number;
  /** Name and label validation: the label at fault (empty for the metric name) and the series' metric name. */
  labelName?: string;
  labelValue?: string;
  metricName?: string;
  /** Native histogram problems: the sample's timestamp (`observed` is its schema or bucket count). */
  timestamp?: number;
}

export interface FilteredSeries {
  /** 1 for each series Mimir would ingest, 0 for each it would not, in body order. */
  keep: Uint8Array;
  /** The first series Mimir would refuse, in body order (Mimir answers with this one); undefined when none. */
  firstProblem: SeriesProblem | undefined;
  /** The request as Mimir would ingest it: counts and label extremes of the kept series only. */
  kept: RequestInfo;
}

/**
 * Judges one series from its labels, as Mimir's validateLabels does after its relabel step: labels with an
 * empty value are removed first (so they neither count nor get checked), a series left with no label is dropped
 * without an error, then: a missing or invalid metric name, the label count, and each label in name order (Mimir
 * sorts them): an invalid name, a name too long, a value that is not UTF-8, a value too long, a name repeating
 * the one before. The first failing check gives the error.
 */
class SeriesJudge {
  private buf: Uint8Array = new Uint8Array(0);
  labels = 0;
  maxNameLength = 0;
  maxValueLength = 0;
  /** The series' metric name ends in `_info`: its label count is held to maxLabelNamesPerInfoSeries. */
  info = false;
  /** Where the `__name__` value lies (-1: no metric name). */
  private metricStart = -1;
  private metricLength = 0;
  // The kept labels' spans, in body order; reused across series.
  private nameStarts = new Int32Array(32);
  private nameLengths = new Int32Array(32);
  private valueStarts = new Int32Array(32);
  private valueLengths = new Int32Array(32);
  private order = new Int32Array(32);

  constructor(readonly rules: SeriesRules) {}

  start(buf: Uint8Array): void {
    this.buf = buf;
    this.labels = 0;
    this.maxNameLength = 0;
    this.maxValueLength = 0;
    this.info = false;
    this.metricStart = -1;
  }

  label(nameStart: number, nameLength: number, valueStart: number, valueLength: number): void {
    if (valueLength === 0) return;
    const drop = this.rules.dropLabels;
    if (drop !== undefined) {
      for (let i = 0; i < drop.length; i++) if (sameBytes(this.buf, nameStart, nameLength, drop[i]!)) return;
    }
    if (nameLength === 8 && isMetricNameLabel(this.buf, nameStart) && this.metricStart < 0) {
      this.info = endsWithInfo(this.buf, valueStart, valueLength);
      this.metricStart = valueStart;
      this.metricLength = valueLength;
    }
    const i = this.labels++;
    if (i === this.nameStarts.length) this.grow();
    this.nameStarts[i] = nameStart;
    this.nameLengths[i] = nameLength;
    this.valueStarts[i] = valueStart;
    this.valueLengths[i] = valueLength;
    if (nameLength > this.maxNameLength) this.maxNameLength = nameLength;
    if (valueLength > this.maxValueLength) this.maxValueLength = valueLength;
  }

  /** The problem of the series just read, or undefined. Call only when `labels > 0`. */
  problem(series: number): SeriesProblem | undefined {
    const { maxLabelNames, maxLabelNameLength, maxLabelValueLength, nameScheme } = this.rules;
    const buf = this.buf;
    const checkNames = nameScheme !== undefined;
    if (checkNames) {
      if (this.metricStart < 0) return this.validation('missing_metric_name', series, -1);
      if (!validMetricName(buf, this.metricStart, this.metricLength, nameScheme)) {
        return this.validation('metric_name_invalid', series, -1);
      }
    }
    if (maxLabelNames > 0 && this.labels > maxLabelNames) {
      if (!this.info) {
        return { kind: 'max_label_names_per_series', series, observed: this.labels, limit: maxLabelNames };
      }
      const infoLimit = this.rules.maxLabelNamesPerInfoSeries;
      if (infoLimit > 0 && this.labels > infoLimit) {
        return { kind: 'max_label_names_per_info_series', series, observed: this.labels, limit: infoLimit };
      }
    }
    const order = this.sortedByName();
    for (let k = 0; k < this.labels; k++) {
      const i = order[k]!;
      const nameStart = this.nameStarts[i]!;
      const nameLength = this.nameLengths[i]!;
      const valueLength = this.valueLengths[i]!;
      if (checkNames && !validLabelName(buf, nameStart, nameLength, nameScheme)) {
        return this.validation('label_invalid', series, i);
      }
      if (maxLabelNameLength > 0 && nameLength > maxLabelNameLength) {
        return this.tooLong('max_label_name_length', series, i, nameLength, maxLabelNameLength);
      }
      if (checkNames && !validUtf8(buf, this.valueStarts[i]!, valueLength)) {
        return this.validation('label_value_invalid', series, i);
      }
      if (maxLabelValueLength > 0 && valueLength > maxLabelValueLength) {
        return this.tooLong('max_label_value_length', series, i, valueLength, maxLabelValueLength);
      }
      if (checkNames && k > 0) {
        const before = order[k - 1]!;
        if (sameSpan(buf, this.nameStarts[before]!, this.nameLengths[before]!, nameStart, nameLength)) {
          return this.validation('duplicate_label_names', series, i);
        }
      }
    }
    return undefined;
  }

  /** A label name or value over its limit, with the label Mimir's message quotes. */
  private tooLong(
    kind: 'max_label_name_length' | 'max_label_value_length',
    series: number,
    label: number,
    observed: number,
    limit: number,
  ): SeriesProblem {
    const buf = this.buf;
    return {
      kind,
      series,
      observed,
      limit,
      labelName: utf8(buf, this.nameStarts[label]!, this.nameLengths[label]!),
      labelValue: utf8(buf, this.valueStarts[label]!, this.valueLengths[label]!),
    };
  }

  /** A name or label validation problem, with the texts Mimir's message quotes. */
  private validation(kind: SeriesProblemKind, series: number, label: number): SeriesProblem {
    const buf = this.buf;
    const text = (start: number, length: number): string => utf8(buf, start, length);
    return {
      kind,
      series,
      observed: 0,
      limit: 0,
      labelName: label < 0 ? '' : text(this.nameStarts[label]!, this.nameLengths[label]!),
      labelValue: label < 0 ? '' : text(this.valueStarts[label]!, this.valueLengths[label]!),
      metricName: this.metricStart < 0 ? '' : text(this.metricStart, this.metricLength),
    };
  }

  /** Indexes of the kept labels in name order (bytewise, as Go compares strings); stable for equal names. */
  private sortedByName(): Int32Array {
    const order = this.order;
    const buf = this.buf;
    for (let k = 0; k < this.labels; k++) {
      // Insertion sort: senders write labels sorted, so this is one comparison per label.
      let j = k;
      while (
        j > 0 &&
        compareSpans(
          buf,
          this.nameStarts[order[j - 1]!]!,
          this.nameLengths[order[j - 1]!]!,
          this.nameStarts[k]!,
          this.nameLengths[k]!,
        ) > 0
      ) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = k;
    }
    return order;
  }

  private grow(): void {
    const size = this.nameStarts.length * 2;
    const grown = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.nameStarts = grown(this.nameStarts);
    this.nameLengths = grown(this.nameLengths);
    this.valueStarts = grown(this.valueStarts);
    this.valueLengths = grown(this.valueLengths);
    this.order = new Int32Array(size);
  }
}

/** Running totals of the kept series, turned into the `kept` RequestInfo at the end. */
class KeptTotals {
  series = 0;
  floatSamples = 0;
  histogramSamples = 0;
  exemplars = 0;
  metadata = 0;
  maxLabelNames = 0;
  maxLabelNamesSeries = -1;
  maxLabelNameLength = 0;
  maxLabelNameSeries = -1;
  maxLabelValueLength = 0;
  maxLabelValueSeries = -1;

  constructor(private readonly rules: SeriesRules) {}

  add(judge: SeriesJudge, index: number, samples: number, histograms: number, exemplars: number): void {
    this.series++;
    this.floatSamples += samples;
    this.histogramSamples += histograms;
    if (this.rules.exemplarsCharged) {
      const cap = this.rules.maxExemplarsPerSeries;
      this.exemplars += cap > 0 && exemplars > cap ? cap : exemplars;
    }
    // An info series passed its own label limit: to the per-series one it counts as just within it, so the
    // static check on the kept request (max_label_names_per_series) does not refuse what Mimir accepts.
    const cap = this.rules.maxLabelNames;
    const labels = judge.info && cap > 0 && judge.labels > cap ? cap : judge.labels;
    if (labels > this.maxLabelNames || this.maxLabelNamesSeries < 0) {
      this.maxLabelNames = labels;
      this.maxLabelNamesSeries = index;
    }
    if (judge.maxNameLength > this.maxLabelNameLength || this.maxLabelNameSeries < 0) {
      this.maxLabelNameLength = judge.maxNameLength;
      this.maxLabelNameSeries = index;
    }
    if (judge.maxValueLength > this.maxLabelValueLength || this.maxLabelValueSeries < 0) {
      this.maxLabelValueLength = judge.maxValueLength;
      this.maxLabelValueSeries = index;
    }
  }

  info(measured: RequestInfo): RequestInfo {
    return {
      ...measured,
      series: this.series,
      floatSamples: this.floatSamples,
      histogramSamples: this.histogramSamples,
      exemplars: this.exemplars,
      metadata: this.metadata,
      maxLabelNames: this.maxLabelNames,
      maxLabelNamesSeries: this.maxLabelNamesSeries,
      maxLabelNameLength: this.maxLabelNameLength,
      maxLabelNameSeries: this.maxLabelNameSeries,
      maxLabelValueLength: this.maxLabelValueLength,
      maxLabelValueSeries: this.maxLabelValueSeries,
    };
  }
}

/**
 * Walks a decompressed RW1 or RW2 body (already scanned, so known to be well formed) series by series and
 * decides each as Mimir would under `rules`. `measured` is the scan's RequestInfo of the same body.
 */
export function filterSeries(buf: Uint8Array, measured: RequestInfo, rules: SeriesRules): FilteredSeries {
  if (measured.format === 'prw1') return filterRw1(buf, measured, rules);
  if (measured.format === 'prw2') return filterRw2(buf, measured, rules);
  throw new RangeError(`per-series filtering reads remote write only, not ${measured.format}`);
}

function filterRw1(buf: Uint8Array, measured: RequestInfo, rules: SeriesRules): FilteredSeries {
  const keep = new Uint8Array(measured.series);
  const judge = new SeriesJudge(rules);
  const totals = new KeptTotals(rules);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let firstProblem: SeriesProblem | undefined;
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_METADATA) {
      totals.metadata++;
      reader.skipLengthDelimited(end);
      continue;
    }
    if (tag !== TAG_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    const series = index++;
    judge.start(buf);
    let samples = 0;
    let histograms = 0;
    let exemplars = 0;
    while (reader.pos < seriesEnd) {
      const seriesTag = reader.tag(seriesEnd);
      if (seriesTag === TAG_LABELS) {
        const l = readRw1Label(reader, seriesEnd);
        judge.label(l.nameStart, l.nameLength, l.valueStart, l.valueLength);
      } else {
        if (seriesTag === TAG_SAMPLES) samples++;
        else if (seriesTag === TAG_HISTOGRAMS) histograms++;
        else if (seriesTag === TAG_EXEMPLARS) exemplars++;
        reader.skip(seriesTag, seriesEnd);
      }
    }
    firstProblem = judgeSeries(judge, series, keep, totals, samples, histograms, exemplars, firstProblem);
  }
  return { keep, firstProblem, kept: totals.info(measured) };
}

function filterRw2(buf: Uint8Array, measured: RequestInfo, rules: SeriesRules): FilteredSeries {
  const { starts, lengths, count } = symbolTable(buf);
  const keep = new Uint8Array(measured.series);
  const judge = new SeriesJudge(rules);
  const totals = new KeptTotals(rules);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let firstProblem: SeriesProblem | undefined;
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_V2_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    const series = index++;
    judge.start(buf);
    let samples = 0;
    let histograms = 0;
    let exemplars = 0;
    let metadata = 0;
    let pendingName = -1;
    const ref = (value: number): void => {
      if (value >= count) return; // the scan already refused such a body
      if (pendingName < 0) {
        pendingName = value;
        return;
      }
      judge.label(starts[pendingName]!, lengths[pendingName]!, starts[value]!, lengths[value]!);
      pendingName = -1;
    };
    while (reader.pos < seriesEnd) {
      const seriesTag = reader.tag(seriesEnd);
      if (seriesTag === TAG_V2_REFS_PACKED) {
        const refsEnd = reader.messageEnd(seriesEnd);
        while (reader.pos < refsEnd) ref(reader.varint(refsEnd));
      } else if (seriesTag === TAG_V2_REFS_ONE) {
        ref(reader.varint(seriesEnd));
      } else if (seriesTag === TAG_V2_METADATA) {
        if (rw2MetadataIsSet(reader, seriesEnd)) metadata = 1;
      } else {
        if (seriesTag === TAG_V2_SAMPLES) samples++;
        else if (seriesTag === TAG_V2_HISTOGRAMS) histograms++;
        else if (seriesTag === TAG_V2_EXEMPLARS) exemplars++;
        reader.skip(seriesTag, seriesEnd);
      }
    }
    const before = totals.series;
    firstProblem = judgeSeries(judge, series, keep, totals, samples, histograms, exemplars, firstProblem);
    if (totals.series > before) totals.metadata += metadata;
  }
  return { keep, firstProblem, kept: totals.info(measured) };
}

/** Records the verdict on one series; returns the request's first problem so far. */
function judgeSeries(
  judge: SeriesJudge,
  series: number,
  keep: Uint8Array,
  totals: KeptTotals,
  samples: number,
  histograms: number,
  exemplars: number,
  firstProblem: SeriesProblem | undefined,
): SeriesProblem | undefined {
  if (judge.labels === 0) return firstProblem; // Mimir drops a series left without labels, without an error
  const problem = judge.problem(series) ?? sampleTimeProblem(judge.rules, series);
  if (problem) return firstProblem ?? problem;
  keep[series] = 1;
  totals.add(judge, series, samples, histograms, exemplars);
  return firstProblem;
}

/** Mimir's validateSamples verdict on the series at `index` (labels are validated first), or undefined. */
function sampleTimeProblem(rules: SeriesRules, index: number): SeriesProblem | undefined {
  const times = rules.sampleTimes;
  const verdict = times?.verdict[index];
  if (times === undefined || verdict === undefined || verdict === SAMPLE_TIME_OK) return undefined;
  const timestamp = times.timestamp[index]!;
  switch (verdict) {
    case HISTOGRAM_SCHEMA_INVALID:
      return {
        kind: 'histogram_schema_invalid',
        series: index,
        observed: times.observed[index]!,
        limit: 0,
        timestamp,
      };
    case HISTOGRAM_TOO_MANY_BUCKETS:
    case HISTOGRAM_NOT_REDUCIBLE:
      return {
        kind:
          verdict === HISTOGRAM_NOT_REDUCIBLE ? 'histogram_not_reducible' : 'max_native_histogram_buckets',
        series: index,
        observed: times.observed[index]!,
        limit: times.maxBuckets,
        timestamp,
      };
    default: {
      const tooNew = verdict === SAMPLE_TOO_NEW;
      return {
        kind: tooNew ? 'sample_too_far_in_future' : 'sample_too_far_in_past',
        series: index,
        observed: timestamp,
        limit: tooNew ? times.latestMs : times.earliestMs,
      };
    }
  }
}

/**
 * Byte classes of Prometheus' legacy names: a label name is `[a-zA-Z_][a-zA-Z0-9_]*`, a metric name
 * `[a-zA-Z_:][a-zA-Z0-9_:]*` (prometheus/common model.LabelName.IsValidLegacy, model.IsValidLegacyMetricName).
 */
const LEGACY_FIRST = 1;
const LEGACY_NEXT = 2;
const LEGACY_METRIC_ONLY = 4;
const LEGACY_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  const digit = c >= 0x30 && c <= 0x39;
  LEGACY_CLASS[c] = (letter ? LEGACY_FIRST | LEGACY_NEXT : 0) | (digit ? LEGACY_NEXT : 0);
}
LEGACY_CLASS[0x3a] = LEGACY_METRIC_ONLY; // ':' is allowed anywhere in a metric name, never in a label name

function validLegacy(buf: Uint8Array, start: number, length: number, metric: boolean): boolean {
  if (length === 0) return false;
  const extra = metric ? LEGACY_METRIC_ONLY : 0;
  if ((LEGACY_CLASS[buf[start]!]! & (LEGACY_FIRST | extra)) === 0) return false;
  for (let i = start + 1; i < start + length; i++) {
    if ((LEGACY_CLASS[buf[i]!]! & (LEGACY_NEXT | extra)) === 0) return false;
  }
  return true;
}

/** Go's utf8.ValidString: ASCII is read inline, anything else by Node's validator (no surrogates, no overlongs). */
function validUtf8(buf: Uint8Array, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) {
    if (buf[i]! >= 0x80) return isUtf8(buf.subarray(start, start + length));
  }
  return true;
}

function validMetricName(buf: Uint8Array, start: number, length: number, scheme: NameScheme): boolean {
  if (scheme === 'legacy') return validLegacy(buf, start, length, true);
  return length > 0 && validUtf8(buf, start, length);
}

function validLabelName(buf: Uint8Array, start: number, length: number, scheme: NameScheme): boolean {
  if (scheme === 'legacy') return validLegacy(buf, start, length, false);
  return length > 0 && validUtf8(buf, start, length);
}

/** Bytewise comparison of two spans of `buf`, as Go compares strings: negative, 0 or positive. */
function compareSpans(buf: Uint8Array, a: number, aLength: number, b: number, bLength: number): number {
  const n = Math.min(aLength, bLength);
  for (let i = 0; i < n; i++) {
    const d = buf[a + i]! - buf[b + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

function sameSpan(buf: Uint8Array, a: number, aLength: number, b: number, bLength: number): boolean {
  return aLength === bLength && compareSpans(buf, a, aLength, b, bLength) === 0;
}

/** `__name__` in UTF-8, the label whose value says whether a series is an info series. */
const METRIC_NAME = [0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f];
/** `_info`, the suffix Mimir reads as an info series (strings.HasSuffix(metricName, "_info")). */
const INFO_SUFFIX = [0x5f, 0x69, 0x6e, 0x66, 0x6f];

/** True when the 8 bytes at `start` are `__name__`. */
function isMetricNameLabel(buf: Uint8Array, start: number): boolean {
  for (let i = 0; i < 8; i++) if (buf[start + i] !== METRIC_NAME[i]) return false;
  return true;
}

/** True when the value at `start` (of `length` bytes) ends in `_info`. */
function endsWithInfo(buf: Uint8Array, start: number, length: number): boolean {
  if (length < 5) return false;
  const from = start + length - 5;
  for (let i = 0; i < 5; i++) if (buf[from + i] !== INFO_SUFFIX[i]) return false;
  return true;
}

/**
 * The snappy-compressed body holding only the kept series of `buf` (all of them when `keep` is undefined) and
 * only the kept metadata (RW1 entries; RW2 series' metadata fields), in the same format: every other field (RW2 symbols, fields unknown to the
 * edge) is copied byte for byte.
 */
export function reencodeKept(
  buf: Uint8Array,
  format: RequestInfo['format'],
  keep: Uint8Array | undefined,
  keepMetadata?: Uint8Array,
): Buffer {
  const decoded =
    format === 'prw2' && keepMetadata
      ? reencodeRw2Metadata(buf, keep, keepMetadata)
      : format === 'prw2' && keep
        ? reencodeRw2(buf, keep)
        : reencodeRw1(buf, keep, keepMetadata);
  return compressSync(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength));
}
