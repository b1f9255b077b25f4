// Mimir's per-series label rules over an OTLP request (protobuf or JSON), series by series, as Mimir applies them once the
// request is translated: the points whose series break an enforced limit are left out of the body that goes
// upstream (partial acceptance), and what is left is measured again, so it is charged exactly as the scanner
// charges a request that was sent that way. Runs only when the scan's bounds are over an enforced label limit.

import { otlpJsonSeriesLabels, otlpProtoSeriesLabels } from './otlp-series-labels.js';
import { reencodeOtlpJson } from './otlp-json-reencode.js';
import { scanOtlpJson } from './otlp-json-scanner.js';
import type { InfoLabelLimits, SeriesRecorder } from './otlp-proto-drop-pass.js';
import type { OtelTranslation } from './otlp-metric-name.js';
import { reencodeOtlpProto } from './otlp-proto-reencode.js';
import { scanOtlpProto } from './otlp-proto-scanner.js';
import type { OtlpPointTimes } from './otlp-point-time-verdicts.js';
import { POINT_TIME_OK, POINT_TOO_NEW } from './otlp-point-time-verdicts.js';
import type { RequestInfo } from './request-info.js';
import { noExtremes, observeExtremes } from './request-info.js';

/** The enforced label limits a translated series is held to; 0 refuses nothing. */
export interface OtlpSeriesLimits {
  maxLabelNames: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** The info series' own limit (max_label_names_per_info_series) and whether it is enforced. */
  info?: InfoLabelLimits & { enforced: boolean };
  /** Each point's time verdict (otlpPointTimes) and the bounds it was judged against; absent: not judged. */
  times?: OtlpPointTimes & { latestMs: number; earliestMs: number };
  /**
   * `__name__` is among the dropped labels: a series left with labels lacks its metric name (refused), one left
   * without any is removed silently (Mimir's relabel step), neither charged.
   */
  nameDropped?: boolean;
  /** promote_otel_resource_attributes: resource attributes Mimir copies onto every series as labels. */
  promoted?: readonly string[];
  /** Mimir's OTLP translation strategy: `__name__` and `_info` are read off the name it writes. */
  translation?: OtelTranslation;
}

export type OtlpProblemKind =
  | 'max_label_names_per_series'
  | 'max_label_names_per_info_series'
  | 'max_label_name_length'
  | 'max_label_value_length'
  | 'missing_metric_name'
  | 'sample_too_far_in_future'
  | 'sample_too_far_in_past';

/** The first refused series (in the scanner's ordinal order), as Mimir names it in its 400. */
export interface OtlpSeriesProblem {
  kind: OtlpProblemKind;
  /** The series' ordinal (describeOtlpSeries reads it). */
  series: number;
  observed: number;
  limit: number;
}

export interface OtlpFiltered {
  /** Undefined when every series passes: then `body` is undefined and `kept` is the request recounted. */
  firstProblem?: OtlpSeriesProblem;
  /** The body without the refused points (decompressed); undefined when nothing is refused. */
  body?: Uint8Array;
  /** What goes upstream as Mimir charges it; label extremes over the kept series, by their ordinals in the body. */
  kept: RequestInfo;
  /** By ordinal, 0 for a refused point (ordinals past its end are kept); undefined when none is refused. */
  keep?: Uint8Array;
}

/**
 * Judges each translated series of `buf` (already scanned into `measured`) against `limits`, without the labels
 * in `dropped` (drop_labels, the HA replica label), and re-encodes the body without the points refused.
 */
export function filterOtlp(
  buf: Uint8Array,
  measured: RequestInfo,
  limits: OtlpSeriesLimits,
  dropped: ReadonlySet<string>,
): OtlpFiltered {
  const keptExtremes = noExtremes();
  const refused: number[] = [];
  let firstProblem: OtlpSeriesProblem | undefined;
  const json = measured.format === 'otlp-json';
  const seriesLabels = json ? otlpJsonSeriesLabels : otlpProtoSeriesLabels;
  const record: SeriesRecorder = (ordinal, labels, nameLength, valueLength, overInfo) => {
    const problem = judge(limits, ordinal, labels, nameLength, valueLength, overInfo);
    if (problem === undefined) {
      // A target_info over its info limit that is only observed counts as at the per-series limit.
      const counted = overInfo && limits.info ? Math.min(labels, limits.info.perSeries) : labels;
      observeExtremes(keptExtremes, ordinal, counted, nameLength, valueLength);
      return;
    }
    refused.push(ordinal);
    if (problem !== SILENT) firstProblem ??= problem;
  };
  seriesLabels(buf, dropped, limits.info, record, limits.promoted, limits.translation);
  if (refused.length === 0) return { kept: { ...measured, ...keptExtremes } };
  const keep = new Uint8Array(refused[refused.length - 1]! + 1).fill(1);
  for (const ordinal of refused) keep[ordinal] = 0;
  const reencoded = json ? reencodeOtlpJson(buf, keep) : reencodeOtlpProto(buf, keep);
  const rescanned = json
    ? scanOtlpJson(reencoded.body, measured.bytesCompressed)
    : scanOtlpProto(reencoded.body, measured.bytesCompressed);
  // A refused target_info whose resource keeps points stays in the body (Mimir refuses it again): not charged.
  const kept: RequestInfo = {
    ...rescanned,
    ...keptExtremes,
    series: rescanned.series - reencoded.refusedTargetInfos,
    floatSamples: rescanned.floatSamples - reencoded.refusedTargetInfos,
  };
  // Only series Mimir removes silently: the body goes as sent (Mimir removes them itself), charged without them.
  if (firstProblem === undefined) return { kept, keep };
  return { firstProblem, body: reencoded.body, kept, keep };
}

/** A series Mimir removes without an error: left out of what is charged, refusing nothing. */
const SILENT: OtlpSeriesProblem = { kind: 'missing_metric_name', series: -1, observed: 0, limit: 0 };

/**
 * The rule a series breaks first, in Mimir's order (a series left without labels is removed before validation;
 * then the metric name, the label count, name and value lengths, and last the sample times), if any.
 */
function judge(
  limits: OtlpSeriesLimits,
  series: number,
  labels: number,
  nameLength: number,
  valueLength: number,
  overInfo: boolean,
): OtlpSeriesProblem | undefined {
  if (limits.nameDropped) {
    if (labels === 0) return SILENT;
    return { kind: 'missing_metric_name', series, observed: 0, limit: 0 };
  }
  const problem = judgeLabels(limits, series, labels, nameLength, valueLength, overInfo);
  if (problem !== undefined || limits.times === undefined) return problem;
  const { verdict, timeMs, latestMs, earliestMs } = limits.times;
  const v = verdict[series] ?? POINT_TIME_OK;
  if (v === POINT_TIME_OK) return undefined;
  const tooNew = v === POINT_TOO_NEW;
  return {
    kind: tooNew ? 'sample_too_far_in_future' : 'sample_too_far_in_past',
    series,
    observed: timeMs[series]!,
    limit: tooNew ? latestMs : earliestMs,
  };
}

/** The label limit a series breaks first (label count, then name and value lengths), if any. */
function judgeLabels(
  limits: OtlpSeriesLimits,
  series: number,
  labels: number,
  nameLength: number,
  valueLength: number,
  overInfo: boolean,
): OtlpSeriesProblem | undefined {
  if (overInfo && limits.info) {
    if (limits.info.enforced) {
      return {
        kind: 'max_label_names_per_info_series',
        series,
        observed: labels,
        limit: limits.info.perInfo,
      };
    }
  } else if (limits.maxLabelNames > 0 && labels > limits.maxLabelNames) {
    return { kind: 'max_label_names_per_series', series, observed: labels, limit: limits.maxLabelNames };
  }
  if (limits.maxLabelNameLength > 0 && nameLength > limits.maxLabelNameLength) {
    return { kind: 'max_label_name_length', series, observed: nameLength, limit: limits.maxLabelNameLength };
  }
  if (limits.maxLabelValueLength > 0 && valueLength > limits.maxLabelValueLength) {
    return {
      kind: 'max_label_value_length',
      series,
      observed: valueLength,
      limit: limits.maxLabelValueLength,
    };
  }
  return undefined;
}
