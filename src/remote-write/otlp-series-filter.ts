// Mimir's per-series label rules over an OTLP request (protobuf or JSON), series by series, as Mimir applies them once the
// request is translated: the points whose series break an enforced limit are left out of the body that goes
// upstream (partial acceptance), and what is left is measured again, so it is charged exactly as the scanner
// charges a request that was sent that way. Runs only when the scan's bounds are over an enforced label limit.

import { otlpJsonSeriesLabels, otlpProtoSeriesLabels } from './otlp-series-labels.js';
import { reencodeOtlpJson } from './otlp-json-reencode.js';
import { scanOtlpJson } from './otlp-json-scanner.js';
import type { InfoLabelLimits } from './otlp-proto-drop-pass.js';
import { reencodeOtlpProto } from './otlp-proto-reencode.js';
import { scanOtlpProto } from './otlp-proto-scanner.js';
import type { RequestInfo } from './request-info.js';
import { noExtremes, observeExtremes } from './request-info.js';

/** The enforced label limits a translated series is held to; 0 refuses nothing. */
export interface OtlpSeriesLimits {
  maxLabelNames: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** target_info's own limit (max_label_names_per_info_series) and whether it is enforced. */
  info?: InfoLabelLimits & { enforced: boolean };
}

export type OtlpProblemKind =
  | 'max_label_names_per_series'
  | 'max_label_names_per_info_series'
  | 'max_label_name_length'
  | 'max_label_value_length';

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
  seriesLabels(buf, dropped, limits.info, (ordinal, labels, nameLength, valueLength, overInfo) => {
    const problem = judge(limits, ordinal, labels, nameLength, valueLength, overInfo);
    if (problem === undefined) {
      // A target_info over its info limit that is only observed counts as at the per-series limit.
      const counted = overInfo && limits.info ? Math.min(labels, limits.info.perSeries) : labels;
      observeExtremes(keptExtremes, ordinal, counted, nameLength, valueLength);
      return;
    }
    refused.push(ordinal);
    firstProblem ??= problem;
  });
  if (firstProblem === undefined) return { kept: { ...measured, ...keptExtremes } };
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
  return { firstProblem, body: reencoded.body, kept };
}

/** The rule a series breaks first, in Mimir's order (label count, then name and value lengths), if any. */
function judge(
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
