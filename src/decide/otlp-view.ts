// Mimir's per-series rules for an OTLP request (protobuf or JSON), as its distributor applies them once the request
// is translated into series: drop_labels and the HA replica label removed before validation, the label limits
// (target_info and every series named *_info held to max_label_names_per_info_series), the sample time checks,
// and a series left without labels removed silently. The common request (every bound within the limits, nothing
// dropped) returns undefined after a few comparisons; the rest runs the exact pass (otlp-series-filter.ts) and,
// with partial acceptance, forwards the body re-encoded without the refused points.

import { gzipSync } from 'node:zlib';

import type { Decision } from '../decision/decision.js';
import {
  denial,
  sampleTimeMessage,
  seriesLimitMessage,
  seriesValidationMessage,
} from '../decision/catalogue.js';
import { durationMs, limitIs } from '../limits/limit-definitions.js';
import type { ResolvedTenant } from '../limits/tenant-limits.js';
import { isEnforced } from '../limits/tenant-limits.js';
import {
  SAMPLE_KEY_MS,
  addsSuffixes,
  describeOtlpSeriesWithout,
  filterOtlp,
  keptOtlpExemplars,
  labelAtFault,
  otlpLabelExtremes,
  otlpNameSuffixBound,
  otlpPointTimes,
} from '../remote-write/index.js';
import type {
  FaultyLabel,
  MeasuredBody,
  OtelTranslation,
  OtlpSeriesProblem,
  RequestInfo,
  SeriesRules,
} from '../remote-write/index.js';
import type { MimirView } from './mimir-rules.js';
import { bareSeries, metricNameOf } from './series-text.js';
import { otelTranslationOf } from './otel-translation.js';

export interface OtlpViewOptions {
  /** The elected replica's HA replica label, removed before validation as Mimir's HA step does. */
  haReplicaLabel: string | undefined;
  dryRun: boolean;
  /** The client sent the body gzip-compressed: a re-encoded body goes upstream the same way. */
  gzipped: boolean;
  nowMs: number;
  /** The tenant's per-series limits as the exact pass reads them (mimir-rules.ts seriesRules). */
  rulesFor: (tenant: ResolvedTenant, dryRun: boolean, haReplicaLabel?: string) => SeriesRules;
}

/** The sample time bounds an OTLP request's points are judged against, when its scan bounds cross one. */
export interface OtlpTimeBounds {
  latestMs: number;
  earliestMs: number;
}

/**
 * Mimir's per-series rules over a measured OTLP request. The scan's label extremes count the labels Mimir drops
 * (drop_labels, the replica label), so they are upper bounds: within every limit they stay within and nothing is
 * recounted. Over an enforced label limit, with point times crossing a grace period, or with `__name__` dropped
 * (a series can then be left without labels, or without its name), the exact pass judges every translated
 * series. Over an observed limit only, the extremes are recounted without the dropped labels. Undefined when
 * nothing applies.
 */
export function otlpView(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  o: OtlpViewOptions,
): MimirView | undefined {
  const view = labelView(tenant, measured, o);
  // Exemplars are charged only as Mimir keeps them (it drops invalid ones without an error): read only for a
  // request carrying some that the tenant is charged for, and not for one refused whole.
  const format = measured.info.format;
  if (tenant.limits.max_global_exemplars_per_user <= 0 || measured.info.exemplars === 0) return view;
  if (view?.refusal !== undefined || (format !== 'otlp-proto' && format !== 'otlp-json')) return view;
  const l = tenant.limits;
  // Mimir reads both grace periods for exemplars whatever the edge enforces: it drops them either way.
  const past = graceMs(l.past_grace_period, 0);
  const kept = keptOtlpExemplars(measured.decoded, format, {
    maxPerSeries: l.max_exemplars_per_series_per_request,
    maxTimestampMs: o.nowMs + graceMs(l.creation_grace_period, 600_000),
    ...(past > 0 ? { pastBoundMs: o.nowMs - past - graceMs(l.out_of_order_time_window, 0) } : {}),
  });
  // Only the points that go upstream: their exemplars, as kept.
  const keep = view === undefined ? undefined : keptPoints.get(view);
  let exemplars = 0;
  for (let i = 0; i < kept.length; i++) {
    if (keep === undefined || i >= keep.length || keep[i] === 1) exemplars += kept[i]!;
  }
  if (view === undefined) return { info: { ...measured.info, exemplars }, countsOnly: true };
  return { ...view, info: { ...view.info, exemplars } };
}

/** The points an exact pass kept (0: refused), by ordinal, for the views it made. */
const keptPoints = new WeakMap<MimirView, Uint8Array>();

/** otlpView's label, time and drop rules, without the exemplar count. */
function labelView(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  o: OtlpViewOptions,
): MimirView | undefined {
  const l = tenant.limits;
  const { info: measuredInfo } = measured;
  // Observed-only limits are bounds too: recounting for them keeps a would-deny from naming a dropped label.
  const over = (limit: number, value: number): boolean => limit > 0 && value > limit;
  const promoted = l.promote_otel_resource_attributes;
  // Promoted resource attributes add at most one label each, named as listed; their values are bounded already
  // (by target_info's, or job's and instance's for service.*). The scan bounds grow by that much.
  const translation = otelTranslationOf(l);
  // Suffixing strategies write a longer __name__ than the scan measured: its value bound grows by the most the
  // suffixes can add (the exact passes measure the name Mimir writes).
  const named = addsSuffixes(translation) ? withSuffixBound(measuredInfo) : measuredInfo;
  const info = promoted.length > 0 ? withPromotedBounds(named, promoted) : named;
  const dropping = l.drop_labels.length > 0 || o.haReplicaLabel !== undefined || promoted.length > 0;
  // Over a label limit: the series within go on (partial acceptance). The limits' values are compared
  // first, so a request within them allocates nothing here; only then is enforcement read.
  const valueLimit = limitIs(l, 'label_value_length_over_limit_strategy', 'error')
    ? l.max_label_value_length
    : 0;
  const labelsOver =
    over(l.max_label_names_per_series, info.maxLabelNames) ||
    over(l.max_label_name_length, info.maxLabelNameLength) ||
    over(valueLimit, info.maxLabelValueLength);
  const times = otlpTimesOut(tenant, info, o.dryRun, o.nowMs);
  // Dropping __name__ leaves every series without its name (refused) or without any label (removed silently).
  const nameDropped = l.drop_labels.includes('__name__');
  if (labelsOver || times || nameDropped) {
    const rules = o.rulesFor(tenant, o.dryRun, o.haReplicaLabel);
    if (
      times ||
      nameDropped ||
      over(rules.maxLabelNames, info.maxLabelNames) ||
      over(rules.maxLabelNameLength, info.maxLabelNameLength) ||
      over(rules.maxLabelValueLength, info.maxLabelValueLength)
    ) {
      return otlpPartial(tenant, measured, rules, o, dropping, times, nameDropped);
    }
  }
  // A series named *_info over max_label_names_per_series may be within max_label_names_per_info_series: recount.
  const namesOver = over(l.max_label_names_per_series, info.maxLabelNames);
  if (!dropping && !namesOver) return undefined;
  if (dropping) {
    const overBound =
      namesOver ||
      over(l.max_label_name_length, info.maxLabelNameLength) ||
      (limitIs(l, 'label_value_length_over_limit_strategy', 'error') &&
        over(l.max_label_value_length, info.maxLabelValueLength));
    if (!overBound) return undefined;
  }
  const dropped = dropping ? droppedNames(l.drop_labels, o.haReplicaLabel) : NOTHING_DROPPED;
  const { decoded } = measured;
  const infoLimits = namesOver
    ? { perSeries: l.max_label_names_per_series, perInfo: l.max_label_names_per_info_series }
    : undefined;
  const { infoOver, ...recounted } = otlpLabelExtremes(
    decoded,
    measuredInfo,
    dropped,
    infoLimits,
    promoted,
    translation,
  );
  const describeSeries = dropping
    ? (body: Uint8Array, ordinal: number): string =>
        describeOtlpSeriesWithout(body, info.format, ordinal, dropped)
    : undefined;
  if (infoOver && isEnforced(tenant.enforcement, 'max_label_names_per_info_series', o.dryRun)) {
    // Only with max_label_names_per_series observed (enforced, it went to otlpPartial above): the info limit refuses.
    const limit = l.max_label_names_per_info_series;
    const series = (describeSeries ?? measured.describeSeries)(decoded, infoOver.ordinal);
    const message = seriesLimitMessage('max_label_names_per_info_series', infoOver.labels, limit, series);
    return {
      info: measuredInfo,
      refusal: denial('max_label_names_per_info_series', message, limit, infoOver.labels),
    };
  }
  return describeSeries ? { info: recounted, describeSeries } : { info: recounted };
}

/**
 * The bounds of Mimir's validateSample and validateSampleHistogram (creation_grace_period, and past_grace_period
 * widened by out_of_order_time_window) when the scan's bounds on the point times cross one; undefined otherwise,
 * the common case, for a few comparisons. Limits that are only observed refuse nothing.
 */
export function otlpTimesOut(
  tenant: ResolvedTenant,
  info: RequestInfo,
  dryRun: boolean,
  nowMs: number,
): OtlpTimeBounds | undefined {
  const minKey = info.minSampleTimeKey;
  const maxKey = info.maxSampleTimeKey;
  if (minKey === undefined || maxKey === undefined) return undefined;
  const l = tenant.limits;
  const futureOn = isEnforced(tenant.enforcement, 'creation_grace_period', dryRun);
  const past = isEnforced(tenant.enforcement, 'past_grace_period', dryRun)
    ? graceMs(l.past_grace_period, 0)
    : 0;
  if (!futureOn && past === 0) return undefined;
  const latestMs = futureOn ? nowMs + graceMs(l.creation_grace_period, 600_000) : Infinity;
  const earliestMs = past > 0 ? nowMs - past - graceMs(l.out_of_order_time_window, 0) : -Infinity;
  // The latest point is before (maxKey + 1) * 2^14 ms, the earliest at or after minKey * 2^14 ms.
  if ((maxKey + 1) * SAMPLE_KEY_MS - 1 > latestMs || minKey * SAMPLE_KEY_MS < earliestMs) {
    return { latestMs, earliestMs };
  }
  return undefined;
}

/**
 * Mimir's partial acceptance for an OTLP request: the points whose translated series break a rule are left out of
 * the body that goes upstream, and the client is owed Mimir's 400 for the first of them; only what is forwarded is
 * charged. Series Mimir removes silently (left without labels) are not charged and refuse nothing.
 */
function otlpPartial(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  rules: SeriesRules,
  o: OtlpViewOptions,
  dropping: boolean,
  times: OtlpTimeBounds | undefined,
  nameDropped: boolean,
): MimirView {
  const l = tenant.limits;
  const { info, decoded } = measured;
  const dropped = dropping ? droppedNames(l.drop_labels, o.haReplicaLabel) : NOTHING_DROPPED;
  const filtered = filterOtlp(
    decoded,
    info,
    {
      maxLabelNames: rules.maxLabelNames,
      maxLabelNameLength: rules.maxLabelNameLength,
      maxLabelValueLength: rules.maxLabelValueLength,
      info: {
        perSeries: l.max_label_names_per_series,
        perInfo: l.max_label_names_per_info_series,
        enforced: rules.maxLabelNamesPerInfoSeries > 0,
      },
      ...(times
        ? { times: { ...otlpPointTimes(decoded, info.format, times.latestMs, times.earliestMs), ...times } }
        : {}),
      nameDropped,
      promoted: l.promote_otel_resource_attributes,
      translation: otelTranslationOf(l),
    },
    dropped,
  );
  const describeSeries = dropping
    ? (body: Uint8Array, ordinal: number): string =>
        describeOtlpSeriesWithout(body, info.format, ordinal, dropped)
    : measured.describeSeries;
  const problem = filtered.firstProblem;
  if (problem === undefined || filtered.body === undefined) {
    return withKeep({ info: filtered.kept, describeSeries }, filtered.keep);
  }
  const label = labelOfProblem(decoded, info.format, problem, dropped, otelTranslationOf(l));
  const refusal = refusalFor(problem, describeSeries(decoded, problem.series), label);
  const { kept } = filtered;
  // Mimir pushes nothing when no valid sample or metadata is left, and answers with the first error.
  const somethingToIngest = kept.floatSamples + kept.histogramSamples + kept.metadata > 0;
  if (!limitIs(l, 'partial_acceptance', 'true') || !somethingToIngest) return { info, refusal };
  const body = o.gzipped ? gzipSync(filtered.body) : filtered.body;
  return withKeep({ info: kept, describeSeries, partial: { body, refusal } }, filtered.keep);
}

function withKeep(view: MimirView, keep: Uint8Array | undefined): MimirView {
  if (keep !== undefined) keptPoints.set(view, keep);
  return view;
}

/** The label a name or value length message quotes (read from the body, the error path only). */
function labelOfProblem(
  decoded: Uint8Array,
  format: RequestInfo['format'],
  problem: OtlpSeriesProblem,
  dropped: ReadonlySet<string>,
  translation: OtelTranslation,
): FaultyLabel | undefined {
  if (problem.kind !== 'max_label_name_length' && problem.kind !== 'max_label_value_length') return undefined;
  const part = problem.kind === 'max_label_name_length' ? 'name' : 'value';
  return labelAtFault(decoded, format, problem.series, part, problem.limit, dropped, translation);
}

/**
 * Mimir's 400 for the first refused series; `described` is the series as describeSeries names it, `label` the
 * label a length message quotes.
 */
function refusalFor(problem: OtlpSeriesProblem, described: string, label?: FaultyLabel): Decision {
  const { kind } = problem;
  if (kind === 'sample_too_far_in_future' || kind === 'sample_too_far_in_past') {
    // Mimir names the series by its metric name alone here.
    const message = sampleTimeMessage(kind, problem.observed, metricNameOf(bareSeries(described)));
    return denial(kind, message, problem.limit, problem.observed);
  }
  if (kind === 'missing_metric_name') {
    return denial(kind, seriesValidationMessage(kind, '', '', bareSeries(described), ''), 0, 0);
  }
  const observed = kind === 'max_label_value_length' && label ? label.valueBytes : problem.observed;
  const message = seriesLimitMessage(kind, observed, problem.limit, described, label, true);
  return denial(kind, message, problem.limit, problem.observed);
}

/** `info` with its value-length bound widened by the longest suffix a suffixing translation may add to a name. */
function withSuffixBound(info: RequestInfo): RequestInfo {
  return {
    ...info,
    maxLabelValueLength: info.maxLabelValueLength + otlpNameSuffixBound(info.maxUnitBytes ?? 0),
  };
}

/** `info` with its label-count and name-length bounds widened for promoted resource attributes. */
function withPromotedBounds(info: RequestInfo, promoted: readonly string[]): RequestInfo {
  let longest = 0;
  for (const name of promoted) longest = Math.max(longest, Buffer.byteLength(name));
  return {
    ...info,
    maxLabelNames: info.maxLabelNames + promoted.length,
    maxLabelNameLength: Math.max(info.maxLabelNameLength, longest),
  };
}

/** A duration limit in milliseconds; the texts in use are few, so each is parsed once. */
const graceCache = new Map<string, number>();
function graceMs(text: string, fallback: number): number {
  let ms = graceCache.get(text);
  if (ms === undefined) {
    ms = durationMs(text) ?? fallback;
    if (graceCache.size > 1000) graceCache.clear();
    graceCache.set(text, ms);
  }
  return ms;
}

const NOTHING_DROPPED: ReadonlySet<string> = new Set();

/** drop_labels plus the HA replica label as a set of names, made once per (list, label). */
const droppedSets = new WeakMap<readonly string[], Map<string, ReadonlySet<string>>>();
function droppedNames(names: readonly string[], haReplicaLabel: string | undefined): ReadonlySet<string> {
  let byLabel = droppedSets.get(names);
  if (!byLabel) {
    byLabel = new Map();
    droppedSets.set(names, byLabel);
  }
  const key = haReplicaLabel ?? '';
  let set = byLabel.get(key);
  if (!set) {
    set = new Set(haReplicaLabel === undefined ? names : [...names, haReplicaLabel]);
    if (byLabel.size >= 64) byLabel.clear();
    byLabel.set(key, set);
  }
  return set;
}
