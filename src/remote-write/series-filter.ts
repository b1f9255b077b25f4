// The exact, per-series pass behind Mimir's partial acceptance: which series of an RW1 or RW2 body Mimir would
// keep, the first one it would refuse, and what the kept ones cost. Runs only after the one-pass scan found a
// bound over a limit, so it may allocate; it must never throw anything but BodyDecodeError, whatever the bytes.

import { compressSync } from 'snappy';
import { ProtoReader, WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { RequestInfo } from './request-info.js';
import { otlpFirstSeriesLabels } from './otlp-series-labels.js';
import { reencodeRw1 } from './rw1-reencode.js';
import { reencodeRw2 } from './rw2-reencode.js';
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
}

export type SeriesProblemKind =
  | 'max_label_names_per_series'
  | 'max_label_names_per_info_series'
  | 'max_label_name_length'
  | 'max_label_value_length';

/** Why Mimir would refuse one series: the limit, its value, and the value the series has. */
export interface SeriesProblem {
  kind: SeriesProblemKind;
  /** Index of the series in the body (0-based), for describeSeries(). */
  series: number;
  observed: number;
  limit: number;
}

export interface FilteredSeries {
  /** 1 for each series Mimir would ingest, 0 for each it would not, in body order. */
  keep: Uint8Array;
  /** The first series Mimir would refuse, in body order (Mimir answers with this one); undefined when none. */
  firstProblem: SeriesProblem | undefined;
  /** The request as Mimir would ingest it: counts and label extremes of the kept series only. */
  kept: RequestInfo;
}

// RW1 tags (prometheus.WriteRequest).
const TAG_TIMESERIES = makeTag(WRITE_REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
const TAG_METADATA = makeTag(WRITE_REQUEST_METADATA, WIRE_LENGTH_DELIMITED);
const TAG_LABELS = makeTag(TIMESERIES_LABELS, WIRE_LENGTH_DELIMITED);
const TAG_SAMPLES = makeTag(TIMESERIES_SAMPLES, WIRE_LENGTH_DELIMITED);
const TAG_EXEMPLARS = makeTag(TIMESERIES_EXEMPLARS, WIRE_LENGTH_DELIMITED);
const TAG_HISTOGRAMS = makeTag(TIMESERIES_HISTOGRAMS, WIRE_LENGTH_DELIMITED);
const TAG_LABEL_NAME = makeTag(LABEL_NAME, WIRE_LENGTH_DELIMITED);
const TAG_LABEL_VALUE = makeTag(LABEL_VALUE, WIRE_LENGTH_DELIMITED);

// RW2 tags (io.prometheus.write.v2.Request). TimeSeries: samples = 2, histograms = 3, exemplars = 4, metadata = 5.
const TAG_V2_SYMBOLS = makeTag(REQUEST_SYMBOLS, WIRE_LENGTH_DELIMITED);
const TAG_V2_TIMESERIES = makeTag(REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
const TAG_V2_REFS_PACKED = makeTag(SERIES_LABELS_REFS, WIRE_LENGTH_DELIMITED);
const TAG_V2_REFS_ONE = makeTag(SERIES_LABELS_REFS, WIRE_VARINT);
const TAG_V2_SAMPLES = makeTag(2, WIRE_LENGTH_DELIMITED);
const TAG_V2_HISTOGRAMS = makeTag(3, WIRE_LENGTH_DELIMITED);
const TAG_V2_EXEMPLARS = makeTag(4, WIRE_LENGTH_DELIMITED);
const TAG_V2_METADATA = makeTag(5, WIRE_LENGTH_DELIMITED);
const TAG_V2_METADATA_FIELDS = [makeTag(1, WIRE_VARINT), makeTag(3, WIRE_VARINT), makeTag(4, WIRE_VARINT)];

/**
 * Judges one series from its labels, as Mimir's validateLabels does after its relabel step: labels with an
 * empty value are removed first (so they neither count nor get checked), a series left with no label is dropped
 * without an error, the label count is checked before any label, and labels are checked in name order (Mimir
 * sorts them), the first failing label giving the error.
 */
class SeriesJudge {
  private buf: Uint8Array = new Uint8Array(0);
  labels = 0;
  maxNameLength = 0;
  maxValueLength = 0;
  /** The series' metric name ends in `_info`: its label count is held to maxLabelNamesPerInfoSeries. */
  info = false;
  private badNameStart = -1;
  private badNameLength = 0;
  private badKind: SeriesProblemKind = 'max_label_name_length';
  private badObserved = 0;

  constructor(private readonly rules: SeriesRules) {}

  start(buf: Uint8Array): void {
    this.buf = buf;
    this.labels = 0;
    this.maxNameLength = 0;
    this.maxValueLength = 0;
    this.info = false;
    this.badNameStart = -1;
  }

  label(nameStart: number, nameLength: number, valueStart: number, valueLength: number): void {
    if (valueLength === 0) return;
    const drop = this.rules.dropLabels;
    if (drop !== undefined) {
      for (let i = 0; i < drop.length; i++) if (sameBytes(this.buf, nameStart, nameLength, drop[i]!)) return;
    }
    if (nameLength === 8 && isMetricNameLabel(this.buf, nameStart)) {
      this.info = endsWithInfo(this.buf, valueStart, valueLength);
    }
    this.labels++;
    if (nameLength > this.maxNameLength) this.maxNameLength = nameLength;
    if (valueLength > this.maxValueLength) this.maxValueLength = valueLength;
    const { maxLabelNameLength, maxLabelValueLength } = this.rules;
    let kind: SeriesProblemKind;
    let observed: number;
    if (maxLabelNameLength > 0 && nameLength > maxLabelNameLength) {
      kind = 'max_label_name_length';
      observed = nameLength;
    } else if (maxLabelValueLength > 0 && valueLength > maxLabelValueLength) {
      kind = 'max_label_value_length';
      observed = valueLength;
    } else {
      return;
    }
    if (this.badNameStart < 0 || this.nameBefore(nameStart, nameLength)) {
      this.badNameStart = nameStart;
      this.badNameLength = nameLength;
      this.badKind = kind;
      this.badObserved = observed;
    }
  }

  /** The problem of the series just read, or undefined. Call only when `labels > 0`. */
  problem(series: number): SeriesProblem | undefined {
    const { maxLabelNames, maxLabelNameLength, maxLabelValueLength } = this.rules;
    if (maxLabelNames > 0 && this.labels > maxLabelNames) {
      if (!this.info) {
        return { kind: 'max_label_names_per_series', series, observed: this.labels, limit: maxLabelNames };
      }
      const infoLimit = this.rules.maxLabelNamesPerInfoSeries;
      if (infoLimit > 0 && this.labels > infoLimit) {
        return { kind: 'max_label_names_per_info_series', series, observed: this.labels, limit: infoLimit };
      }
    }
    if (this.badNameStart < 0) return undefined;
    const limit = this.badKind === 'max_label_name_length' ? maxLabelNameLength : maxLabelValueLength;
    return { kind: this.badKind, series, observed: this.badObserved, limit };
  }

  /** True when the name at `start` sorts before the failing label found so far (bytewise, as Go compares strings). */
  private nameBefore(start: number, length: number): boolean {
    const buf = this.buf;
    const other = this.badNameStart;
    const n = Math.min(length, this.badNameLength);
    for (let i = 0; i < n; i++) {
      const a = buf[start + i]!;
      const b = buf[other + i]!;
      if (a !== b) return a < b;
    }
    return length < this.badNameLength;
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
        const labelEnd = reader.messageEnd(seriesEnd);
        // Proto3 keeps the last occurrence of a scalar field, as the scanner does.
        let nameStart = 0;
        let nameLength = 0;
        let valueStart = 0;
        let valueLength = 0;
        while (reader.pos < labelEnd) {
          const labelTag = reader.tag(labelEnd);
          if (labelTag === TAG_LABEL_NAME) {
            nameLength = reader.length(labelEnd);
            nameStart = reader.pos;
            reader.pos += nameLength;
          } else if (labelTag === TAG_LABEL_VALUE) {
            valueLength = reader.length(labelEnd);
            valueStart = reader.pos;
            reader.pos += valueLength;
          } else {
            reader.skip(labelTag, labelEnd);
          }
        }
        judge.label(nameStart, nameLength, valueStart, valueLength);
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

/**
 * Reads an RW2 series' Metadata message (the reader is at its length); true when it sets a type, help or unit,
 * which is when Mimir counts it as one metadata item.
 */
function rw2MetadataIsSet(reader: ProtoReader, seriesEnd: number): boolean {
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
  const problem = judge.problem(series);
  if (problem) return firstProblem ?? problem;
  keep[series] = 1;
  totals.add(judge, series, samples, histograms, exemplars);
  return firstProblem;
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

/** Where each RW2 symbol's bytes start and how long they are. */
function symbolTable(buf: Uint8Array): { starts: Uint32Array; lengths: Uint32Array; count: number } {
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

/**
 * The snappy-compressed body holding only the kept series of `buf` (all of them when `keep` is undefined) and,
 * for RW1, only the kept metadata, in the same format: every other field (RW2 symbols, fields unknown to the
 * edge) is copied byte for byte.
 */
export function reencodeKept(
  buf: Uint8Array,
  format: RequestInfo['format'],
  keep: Uint8Array | undefined,
  keepMetadata?: Uint8Array,
): Buffer {
  const decoded = format === 'prw2' && keep ? reencodeRw2(buf, keep) : reencodeRw1(buf, keep, keepMetadata);
  return compressSync(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength));
}

// RW1 MetricMetadata: MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5;
const TAG_METADATA_NAME = makeTag(2, WIRE_LENGTH_DELIMITED);
const TAG_METADATA_UNIT = makeTag(5, WIRE_LENGTH_DELIMITED);

export type MetadataProblemKind = 'metadata_metric_name_too_long' | 'metadata_unit_too_long';

/** Why Mimir drops one metadata entry: its metric name or its unit is over max_metadata_length. */
export interface MetadataProblem {
  kind: MetadataProblemKind;
  observed: number;
  limit: number;
  metricName: string;
  unit: string;
}

export interface FilteredMetadata {
  /** 1 for each metadata entry Mimir keeps, 0 for each it drops, in body order. */
  keep: Uint8Array;
  dropped: number;
  /** The first dropped entry, in body order. */
  firstProblem: MetadataProblem;
}

/**
 * Mimir's cleanAndValidateMetadata over the metadata of a decompressed RW1 body: an entry whose metric name or
 * unit is longer than `maxLength` bytes is dropped with an error (the name is checked first); a long HELP is only
 * truncated by Mimir, so it neither drops nor costs anything here. Returns undefined when nothing is dropped.
 * Series are skipped by length, never descended.
 */
export function filterMetadataRw1(
  buf: Uint8Array,
  metadataCount: number,
  maxLength: number,
): FilteredMetadata | undefined {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let keep: Uint8Array | undefined;
  let dropped = 0;
  let firstProblem: MetadataProblem | undefined;
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_METADATA) {
      reader.skip(tag, end);
      continue;
    }
    const entryEnd = reader.messageEnd(end);
    const entry = index++;
    // Proto3 keeps the last occurrence of a scalar field, as Mimir's decoder does.
    let nameStart = 0;
    let nameLength = 0;
    let unitStart = 0;
    let unitLength = 0;
    while (reader.pos < entryEnd) {
      const fieldTag = reader.tag(entryEnd);
      if (fieldTag === TAG_METADATA_NAME) {
        nameLength = reader.length(entryEnd);
        nameStart = reader.pos;
        reader.pos += nameLength;
      } else if (fieldTag === TAG_METADATA_UNIT) {
        unitLength = reader.length(entryEnd);
        unitStart = reader.pos;
        reader.pos += unitLength;
      } else {
        reader.skip(fieldTag, entryEnd);
      }
    }
    const kind: MetadataProblemKind | undefined =
      nameLength > maxLength
        ? 'metadata_metric_name_too_long'
        : unitLength > maxLength
          ? 'metadata_unit_too_long'
          : undefined;
    if (!kind) continue;
    if (!keep) keep = new Uint8Array(metadataCount).fill(1);
    keep[entry] = 0;
    dropped++;
    firstProblem ??= {
      kind,
      observed: kind === 'metadata_unit_too_long' ? unitLength : nameLength,
      limit: maxLength,
      metricName: utf8(buf, nameStart, nameLength),
      unit: utf8(buf, unitStart, unitLength),
    };
  }
  return keep && firstProblem ? { keep, dropped, firstProblem } : undefined;
}

const decoder = new TextDecoder();

function utf8(buf: Uint8Array, start: number, length: number): string {
  return decoder.decode(buf.subarray(start, start + length));
}

/** The values of two labels in the first series of a body; '' for a label the series does not have. */
export interface FirstSeriesLabels {
  first: string;
  second: string;
}

const encoder = new TextEncoder();
/** Label names as UTF-8, kept: the HA label names in use are few (bounded in case they are not). */
const encodedNames = new Map<string, Uint8Array>();
function encodedName(name: string): Uint8Array {
  let bytes = encodedNames.get(name);
  if (!bytes) {
    if (encodedNames.size >= 256) encodedNames.clear();
    bytes = encoder.encode(name);
    encodedNames.set(name, bytes);
  }
  return bytes;
}

/**
 * Mimir's HA tracker reads the cluster and replica labels of the first series only (findHALabels on
 * req.Timeseries[0]): this reads those two values from a decompressed RW1 or RW2 body (already scanned, so well
 * formed) without walking past the first series. For OTLP, the first series of Mimir's translation (see
 * otlpFirstSeriesLabels). Undefined when the body has no series.
 */
export function firstSeriesLabels(
  buf: Uint8Array,
  format: RequestInfo['format'],
  firstName: string,
  secondName: string,
): FirstSeriesLabels | undefined {
  if (format === 'otlp-proto' || format === 'otlp-json') {
    return otlpFirstSeriesLabels(buf, format, firstName, secondName);
  }
  const a = encodedName(firstName);
  const b = encodedName(secondName);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  const found: FirstSeriesLabels = { first: '', second: '' };
  const take = (nameStart: number, nameLength: number, valueStart: number, valueLength: number): void => {
    if (sameBytes(buf, nameStart, nameLength, a)) found.first = utf8(buf, valueStart, valueLength);
    else if (sameBytes(buf, nameStart, nameLength, b)) found.second = utf8(buf, valueStart, valueLength);
  };
  if (format === 'prw1') {
    while (reader.pos < end) {
      const tag = reader.tag(end);
      if (tag !== TAG_TIMESERIES) {
        reader.skip(tag, end);
        continue;
      }
      const seriesEnd = reader.messageEnd(end);
      while (reader.pos < seriesEnd) {
        const seriesTag = reader.tag(seriesEnd);
        if (seriesTag !== TAG_LABELS) {
          reader.skip(seriesTag, seriesEnd);
          continue;
        }
        const labelEnd = reader.messageEnd(seriesEnd);
        let nameStart = 0;
        let nameLength = 0;
        let valueStart = 0;
        let valueLength = 0;
        while (reader.pos < labelEnd) {
          const labelTag = reader.tag(labelEnd);
          if (labelTag === TAG_LABEL_NAME) {
            nameLength = reader.length(labelEnd);
            nameStart = reader.pos;
            reader.pos += nameLength;
          } else if (labelTag === TAG_LABEL_VALUE) {
            valueLength = reader.length(labelEnd);
            valueStart = reader.pos;
            reader.pos += valueLength;
          } else {
            reader.skip(labelTag, labelEnd);
          }
        }
        take(nameStart, nameLength, valueStart, valueLength);
      }
      return found;
    }
    return undefined;
  }
  if (format !== 'prw2') return undefined;
  const { starts, lengths, count } = symbolTable(buf);
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_V2_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    let pendingName = -1;
    const ref = (value: number): void => {
      if (value >= count) return;
      if (pendingName < 0) {
        pendingName = value;
        return;
      }
      take(starts[pendingName]!, lengths[pendingName]!, starts[value]!, lengths[value]!);
      pendingName = -1;
    };
    while (reader.pos < seriesEnd) {
      const seriesTag = reader.tag(seriesEnd);
      if (seriesTag === TAG_V2_REFS_PACKED) {
        const refsEnd = reader.messageEnd(seriesEnd);
        while (reader.pos < refsEnd) ref(reader.varint(refsEnd));
      } else if (seriesTag === TAG_V2_REFS_ONE) {
        ref(reader.varint(seriesEnd));
      } else {
        reader.skip(seriesTag, seriesEnd);
      }
    }
    return found;
  }
  return undefined;
}

function sameBytes(buf: Uint8Array, start: number, length: number, name: Uint8Array): boolean {
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) if (buf[start + i] !== name[i]) return false;
  return true;
}

/** The longest run of series, from the first in body order, whose items fit a budget (selective filtering). */
export interface FittingPrefix {
  /** 1 for each series of the prefix, 0 for every other, in body order. */
  keep: Uint8Array;
  /** What the prefix is worth: the items Mimir charges, and the counts of the request it makes. */
  cost: number;
  info: RequestInfo;
}

/**
 * The series of an RW1 or RW2 body that fit `budget` items of `ingestion_rate`, taken in body order from series
 * `skip` on (the ones before were delivered already) and stopping at the first that does not fit: a stable
 * choice, so a sender retrying the same request is offered the rest in order. A series costs its samples,
 * native histogram samples and (when `exemplarsCharged`) exemplars, plus, in RW2, its metadata. RW1 metadata,
 * which sits outside the series, is not part of any prefix. Series past the prefix are not read.
 */
export function fittingPrefix(
  buf: Uint8Array,
  measured: RequestInfo,
  exemplarsCharged: boolean,
  budget: number,
  skip = 0,
): FittingPrefix {
  const v2 = measured.format === 'prw2';
  if (!v2 && measured.format !== 'prw1')
    throw new RangeError(`selective filtering reads remote write only, not ${measured.format}`);
  const seriesTag = v2 ? TAG_V2_TIMESERIES : TAG_TIMESERIES;
  const samplesTag = v2 ? TAG_V2_SAMPLES : TAG_SAMPLES;
  const histogramsTag = v2 ? TAG_V2_HISTOGRAMS : TAG_HISTOGRAMS;
  const exemplarsTag = v2 ? TAG_V2_EXEMPLARS : TAG_EXEMPLARS;
  const keep = new Uint8Array(measured.series);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let index = 0;
  let kept = 0;
  let cost = 0;
  let floatSamples = 0;
  let histogramSamples = 0;
  let exemplars = 0;
  let metadata = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== seriesTag) {
      reader.skip(tag, end);
      continue;
    }
    if (index < skip) {
      index++;
      reader.skipLengthDelimited(end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    let samples = 0;
    let histograms = 0;
    let seriesExemplars = 0;
    let seriesMetadata = 0;
    while (reader.pos < seriesEnd) {
      const t = reader.tag(seriesEnd);
      if (v2 && t === TAG_V2_METADATA) {
        if (rw2MetadataIsSet(reader, seriesEnd)) seriesMetadata = 1;
        continue;
      }
      if (t === samplesTag) samples++;
      else if (t === histogramsTag) histograms++;
      else if (t === exemplarsTag) seriesExemplars++;
      reader.skip(t, seriesEnd);
    }
    const seriesCost = samples + histograms + seriesMetadata + (exemplarsCharged ? seriesExemplars : 0);
    if (cost + seriesCost > budget) break;
    keep[index++] = 1;
    kept++;
    cost += seriesCost;
    floatSamples += samples;
    histogramSamples += histograms;
    exemplars += seriesExemplars;
    metadata += seriesMetadata;
  }
  return {
    keep,
    cost,
    info: { ...measured, series: kept, floatSamples, histogramSamples, exemplars, metadata },
  };
}
