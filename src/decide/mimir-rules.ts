// Mimir's per-tenant rules for what a write request is worth: which series it ingests (partial acceptance),
// which exemplars it charges, and the 400 it owes for the first series it refuses. The common case (every
// series valid, no exemplar cap reached) returns undefined after a few comparisons: no pass, no allocation.

import type { Decision, PartialForward } from '../decision/decision.js';
import { limitIs } from '../limits/limit-definitions.js';
import type { ResolvedTenant, TenantLimits } from '../limits/tenant-limits.js';
import { isEnforced } from '../limits/tenant-limits.js';
import { durationMs } from '../limits/limit-definitions.js';
import {
  duplicateHistograms,
  duplicateSamples,
  keptExemplars,
  filterMetadataRw1,
  filterMetadataRw2,
  filterSeries,
  reencodeKept,
  SAMPLE_KEY_MS,
  sampleTimeVerdicts,
} from '../remote-write/index.js';
import type {
  HistogramRules,
  FilteredMetadata,
  FilteredSeries,
  MeasuredBody,
  MetadataProblem,
  RequestInfo,
  SeriesProblem,
  SeriesRules,
} from '../remote-write/index.js';
import { REASONS, denial } from '../decision/catalogue.js';
import { otlpView } from './otlp-view.js';
import { bareSeries, metricNameOf } from './series-text.js';
import {
  histogramMessage,
  metadataLimitMessage,
  sampleTimeMessage,
  seriesLimitMessage,
  seriesValidationMessage,
} from '../decision/catalogue.js';

/** What the edge decides on once Mimir's per-series rules have run (see mimirView). */
export interface MimirView {
  /** The request as Mimir would ingest it: the forwarded series' counts and label extremes. */
  info: RequestInfo;
  /** Set when the request must be refused now: strict mode, or nothing valid is left to forward. */
  refusal?: Decision;
  /** Set when only the valid series go upstream: attach to the decision once the rate checks allow it. */
  partial?: PartialForward;
  /** Names a series for a label-limit message when Mimir would name it differently from the body (OTLP drops). */
  describeSeries?: (body: Uint8Array, index: number) => string;
  /**
   * Only the counts differ from the request as measured (samples Mimir keeps once): nothing is refused and the
   * body stays whole, so selective filtering still applies to it.
   */
  countsOnly?: boolean;
}

/**
 * The items Mimir charges to `ingestion_rate`: samples, native histogram samples and metadata, plus exemplars
 * only when `max_global_exemplars_per_user` is above 0 (at 0 Mimir drops them before counting). For a capped
 * `info` from mimirView the exemplars are already counted per series within the cap.
 */
export function mimirCost(info: RequestInfo, limits: TenantLimits): number {
  const ingested = info.floatSamples + info.histogramSamples + info.metadata;
  // With no sample and no metadata Mimir pushes nothing and returns before its rate limiter: exemplars alone
  // cost nothing.
  if (ingested === 0) return 0;
  const exemplars = limits.max_global_exemplars_per_user > 0 ? info.exemplars : 0;
  return ingested + exemplars;
}

/**
 * Applies Mimir's per-series rules to a measured body. Returns undefined when the scan's bounds show that every
 * series passes and no exemplar cap applies (the request is then decided, and forwarded, as measured). Otherwise
 * runs the exact pass: with `partial_acceptance` (the default, Mimir's behaviour) the valid series are re-encoded
 * for the upstream and the client is owed Mimir's 400 for the first invalid one; without it the request is
 * refused whole. Limits that are only observed never remove a series (checkStatic records them as would-deny).
 */
export function mimirView(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  dryRun: boolean,
  haReplicaLabel?: string,
  nowMs: number = Date.now(),
  /** The client sent the body gzip-compressed (OTLP): a re-encoded body goes upstream the same way. */
  gzipped = false,
): MimirView | undefined {
  const { info } = measured;
  if (info.format === 'otlp-proto' || info.format === 'otlp-json') {
    return otlpView(tenant, measured, { haReplicaLabel, dryRun, gzipped, nowMs, rulesFor: seriesRules });
  }
  if (info.format !== 'prw1' && info.format !== 'prw2') return undefined;
  const rules = seriesRules(tenant, dryRun, haReplicaLabel);
  const timesOut = sampleTimesOut(tenant, info, dryRun, nowMs);
  // RW2 symbols with a byte of 128 or more: a name or value may fail Mimir's name checks (the scan's bound). Other
  // names are read only with exact_validation: always (reading every name costs more than the scan itself).
  const namesToJudge =
    rules.nameScheme !== undefined &&
    (info.nonAsciiSymbols === true || limitIs(tenant.limits, 'exact_validation', 'always'));
  // Labels Mimir removes before validating make the scan's bounds upper bounds: within the limits they stay within,
  // and over them the exact pass recounts. Only dropping __name__ can leave a series without labels, which Mimir
  // removes silently and does not charge: then every request needs the exact pass.
  const dropping = tenant.limits.drop_labels.includes('__name__');
  const overBound =
    (rules.maxLabelNames > 0 && info.maxLabelNames > rules.maxLabelNames) ||
    (rules.maxLabelNameLength > 0 && info.maxLabelNameLength > rules.maxLabelNameLength) ||
    (rules.maxLabelValueLength > 0 && info.maxLabelValueLength > rules.maxLabelValueLength);
  const capReached =
    rules.exemplarsCharged &&
    rules.maxExemplarsPerSeries > 0 &&
    (info.maxExemplarsPerSeries ?? Infinity) > rules.maxExemplarsPerSeries;
  const metadata = metadataVerdict(tenant, measured, dryRun);
  // Float samples the scan saw out of order, or two native histograms (whose times the scan does not read): a
  // sample repeating a timestamp of its series is dropped by Mimir, once counted exactly.
  const outOfOrder = info.samplesOutOfOrder === true;
  const histogramsToDedupe = info.histogramSamples > 1;
  // Exemplars are charged only as Mimir keeps them, and it drops invalid ones without an error.
  const exemplarsToJudge = rules.exemplarsCharged && info.exemplars > 0;
  if (
    !overBound &&
    !capReached &&
    !metadata &&
    !dropping &&
    !outOfOrder &&
    !histogramsToDedupe &&
    !exemplarsToJudge &&
    !timesOut &&
    !namesToJudge
  )
    return undefined;

  if (timesOut) {
    const { latestMs, earliestMs, histogramRules } = timesOut;
    rules.sampleTimes = {
      ...sampleTimeVerdicts(measured.decoded, info.format, info.series, latestMs, earliestMs, histogramRules),
      latestMs,
      earliestMs,
      maxBuckets: histogramRules.maxBuckets,
    };
  }
  // Every exact pass applies all of Mimir's series checks, whichever bound asked for it.
  let filtered =
    overBound || capReached || dropping || timesOut || namesToJudge
      ? filterSeries(measured.decoded, info, rules)
      : undefined;
  // Samples repeating a timestamp of their series are dropped by Mimir before it charges: not charged here.
  let deduped = false;
  if (outOfOrder || histogramsToDedupe) {
    const d = withoutDuplicates(measured.decoded, info, filtered, outOfOrder, histogramsToDedupe);
    filtered = d.filtered;
    deduped = d.dropped;
  }
  if (exemplarsToJudge) filtered = withKeptExemplars(measured.decoded, info, filtered, tenant, nowMs);
  const seriesProblem = filtered?.firstProblem;
  // Mimir validates every series before any metadata, so a series error is the one it answers with.
  const refusal = seriesProblem
    ? refusalFor(seriesProblem, measured)
    : metadata
      ? metadataRefusal(metadata.firstProblem)
      : undefined;
  let kept = filtered ? filtered.kept : info;
  // Read only for the name, time and histogram checks, and nothing refused: the request is as measured, and stays
  // open to what needs a request left whole (selective filtering).
  const onlyValidated = !overBound && !capReached && !dropping && !exemplarsToJudge && !metadata;
  if (!refusal) {
    if (!deduped) return onlyValidated ? undefined : { info: kept };
    return onlyValidated ? { info: kept, countsOnly: true } : { info: kept };
  }
  if (metadata) kept = { ...kept, metadata: kept.metadata - droppedOfKept(metadata, info, filtered) };
  const somethingToIngest = kept.floatSamples + kept.histogramSamples + kept.metadata > 0;
  // Mimir pushes nothing when no valid sample or metadata is left, and answers with the first error.
  if (!limitIs(tenant.limits, 'partial_acceptance', 'true') || !somethingToIngest) {
    return { info, refusal };
  }
  const keepSeries = seriesProblem && filtered ? filtered.keep : undefined;
  return {
    info: kept,
    partial: { body: reencodeKept(measured.decoded, info.format, keepSeries, metadata?.keep), refusal },
  };
}

/**
 * `filtered` (or the whole request) less the float and native histogram samples Mimir drops for repeating a
 * timestamp in their series (validateSamples, validateHistograms), counted over the series it keeps; `dropped`
 * tells whether there were any. The body is forwarded as sent: Mimir drops them itself.
 */
function withoutDuplicates(
  decoded: Uint8Array,
  info: RequestInfo,
  filtered: FilteredSeries | undefined,
  floats: boolean,
  histograms: boolean,
): { filtered: FilteredSeries | undefined; dropped: boolean } {
  const over = (duplicates: Uint32Array): number => {
    let dropped = 0;
    for (let i = 0; i < duplicates.length; i++) {
      if (filtered === undefined || filtered.keep[i] === 1) dropped += duplicates[i]!;
    }
    return dropped;
  };
  const floatsDropped = floats ? over(duplicateSamples(decoded, info.format, info.series)) : 0;
  const histogramsDropped = histograms ? over(duplicateHistograms(decoded, info.format, info.series)) : 0;
  if (floatsDropped === 0 && histogramsDropped === 0) return { filtered, dropped: false };
  const base = filtered ?? { keep: new Uint8Array(info.series).fill(1), firstProblem: undefined, kept: info };
  const kept = {
    ...base.kept,
    floatSamples: base.kept.floatSamples - floatsDropped,
    histogramSamples: base.kept.histogramSamples - histogramsDropped,
  };
  return { filtered: { ...base, kept }, dropped: true };
}

/**
 * The bounds Mimir's validateSample and validateSampleHistogram hold a series' samples to, when the request has
 * native histograms (the scan reads neither their times nor their schemas and buckets), or the scan's bound on
 * the float sample times crosses one, or a time could not be read in the scan: undefined otherwise, the common
 * case, for a few comparisons. `earliestMs` is -Infinity when past_grace_period is 0 (no bound in the past).
 */
export function sampleTimesOut(
  tenant: ResolvedTenant,
  info: RequestInfo,
  dryRun: boolean,
  nowMs: number,
): { latestMs: number; earliestMs: number; histogramRules: HistogramRules } | undefined {
  if (info.floatSamples === 0 && info.histogramSamples === 0) return undefined;
  const l = tenant.limits;
  const futureOn = isEnforced(tenant.enforcement, 'creation_grace_period', dryRun);
  const past = isEnforced(tenant.enforcement, 'past_grace_period', dryRun)
    ? graceMs(l.past_grace_period, 0)
    : 0;
  const latestMs = futureOn ? nowMs + graceMs(l.creation_grace_period, 600_000) : Infinity;
  const earliestMs = past > 0 ? nowMs - past - graceMs(l.out_of_order_time_window, 0) : -Infinity;
  // The native histogram checks (schema, buckets) follow max_native_histogram_buckets' enforcement switch.
  const histogramsOn = isEnforced(tenant.enforcement, 'max_native_histogram_buckets', dryRun);
  const histogramRules: HistogramRules = {
    maxBuckets: histogramsOn ? l.max_native_histogram_buckets : 0,
    reduce: limitIs(l, 'reduce_native_histogram_over_max_buckets', 'true'),
    checkSchema: histogramsOn,
  };
  const bounds = { latestMs, earliestMs, histogramRules };
  if (!futureOn && past === 0 && !histogramsOn) return undefined;
  if (info.histogramSamples > 0) return bounds;
  if (!futureOn && past === 0) return undefined;
  const minKey = info.minSampleTimeKey ?? 0;
  const maxKey = info.maxSampleTimeKey ?? 0;
  if (minKey < 0) return bounds; // some timestamp the scan could not read
  // The newest timestamp is at most (maxKey + 1) * 2^14 - 1, the oldest at least minKey * 2^14.
  if ((maxKey + 1) * SAMPLE_KEY_MS - 1 > latestMs) return bounds;
  if (minKey * SAMPLE_KEY_MS < earliestMs) return bounds;
  return undefined;
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

/** `filtered` (or the whole request) charging only the exemplars Mimir keeps on the series it keeps. */
function withKeptExemplars(
  decoded: Uint8Array,
  info: RequestInfo,
  filtered: FilteredSeries | undefined,
  tenant: ResolvedTenant,
  nowMs: number,
): FilteredSeries {
  const l = tenant.limits;
  // Mimir reads both grace periods for exemplars whatever the edge enforces: it drops them either way.
  const past = graceMs(l.past_grace_period, 0);
  const kept = keptExemplars(decoded, info.format, info.series, {
    maxPerSeries: l.max_exemplars_per_series_per_request,
    maxTimestampMs: nowMs + graceMs(l.creation_grace_period, 600_000),
    ...(past > 0 ? { pastBoundMs: nowMs - past - graceMs(l.out_of_order_time_window, 0) } : {}),
  });
  let exemplars = 0;
  for (let i = 0; i < kept.length; i++) {
    if (filtered === undefined || filtered.keep[i] === 1) exemplars += kept[i]!;
  }
  const base = filtered ?? { keep: new Uint8Array(info.series).fill(1), firstProblem: undefined, kept: info };
  return { ...base, kept: { ...base.kept, exemplars } };
}

/**
 * Mimir's enforce_metadata_metric_name and max_metadata_length over RW1 metadata, or undefined when no entry is
 * dropped. The common request carries no metadata (Prometheus sends it in requests of its own) and pays one
 * comparison; a request with metadata has its entries read (series are skipped by length). A long HELP is
 * truncated by Mimir, not refused, so it changes neither the decision nor the cost, and the body is forwarded
 * as it is.
 */
function metadataVerdict(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  dryRun: boolean,
): FilteredMetadata | undefined {
  const { info } = measured;
  if (info.metadata === 0) return undefined;
  const l = tenant.limits;
  const enforceName =
    limitIs(l, 'enforce_metadata_metric_name', 'true') &&
    isEnforced(tenant.enforcement, 'enforce_metadata_metric_name', dryRun);
  const lengthOn =
    l.max_metadata_length > 0 &&
    info.bytesUncompressed > l.max_metadata_length &&
    isEnforced(tenant.enforcement, 'max_metadata_length', dryRun);
  // RW2 metadata sits inside its series and takes its metric name from the series: no entry lacks one.
  if (info.format === 'prw2') {
    return lengthOn ? filterMetadataRw2(measured.decoded, info.series, l.max_metadata_length) : undefined;
  }
  if (!enforceName && !lengthOn) return undefined;
  return filterMetadataRw1(
    measured.decoded,
    info.metadata,
    lengthOn ? l.max_metadata_length : 0,
    enforceName,
  );
}

/** Metadata dropped from what is ingested: RW1 entries, or the metadata of RW2 series that are kept. */
function droppedOfKept(
  metadata: FilteredMetadata,
  info: RequestInfo,
  filtered: FilteredSeries | undefined,
): number {
  if (info.format !== 'prw2' || filtered === undefined) return metadata.dropped;
  let dropped = 0;
  for (let i = 0; i < metadata.keep.length; i++) {
    if (metadata.keep[i] === 0 && filtered.keep[i] === 1) dropped++;
  }
  return dropped;
}

function metadataRefusal(problem: MetadataProblem): Decision {
  if (problem.kind === 'metadata_missing_metric_name') {
    const message = `received a metric metadata with no metric name (${REASONS[problem.kind].errorId})`;
    return denial(problem.kind, message, 0, 0);
  }
  const message = metadataLimitMessage(
    problem.kind,
    problem.observed,
    problem.limit,
    problem.metricName,
    problem.unit,
  );
  return denial(problem.kind, message, problem.limit, problem.observed);
}

/** drop_labels as UTF-8, made once per limits value (the list is frozen and shared by a snapshot). */
const encodedDropLabels = new WeakMap<readonly string[], readonly Uint8Array[]>();
const utf8 = new TextEncoder();

/** The same list with the HA replica label added, made once per (list, label). */
const withReplicaLabel = new WeakMap<readonly string[], Map<string, readonly Uint8Array[]>>();

function dropLabelsOf(
  names: readonly string[],
  haReplicaLabel: string | undefined,
): readonly Uint8Array[] | undefined {
  if (names.length === 0 && haReplicaLabel === undefined) return undefined;
  let encoded = encodedDropLabels.get(names);
  if (!encoded) {
    encoded = names.map((n) => utf8.encode(n));
    encodedDropLabels.set(names, encoded);
  }
  if (haReplicaLabel === undefined) return encoded;
  let byLabel = withReplicaLabel.get(names);
  if (!byLabel) {
    byLabel = new Map();
    withReplicaLabel.set(names, byLabel);
  }
  let all = byLabel.get(haReplicaLabel);
  if (!all) {
    all = [...encoded, utf8.encode(haReplicaLabel)];
    byLabel.set(haReplicaLabel, all);
  }
  return all;
}

/**
 * The tenant's per-series limits as the exact pass reads them: 0 for a limit that refuses nothing. With
 * `haReplicaLabel` (an HA request from the elected replica), that label is removed before validation as well,
 * as Mimir's HA dedupe step does before its relabel step.
 */
export function seriesRules(tenant: ResolvedTenant, dryRun: boolean, haReplicaLabel?: string): SeriesRules {
  const l = tenant.limits;
  const dropLabels = dropLabelsOf(l.drop_labels, haReplicaLabel);
  const on = (
    name:
      | 'max_label_names_per_series'
      | 'max_label_names_per_info_series'
      | 'max_label_name_length'
      | 'max_label_value_length',
  ): boolean => isEnforced(tenant.enforcement, name, dryRun);
  return {
    maxLabelNames: on('max_label_names_per_series') ? l.max_label_names_per_series : 0,
    maxLabelNamesPerInfoSeries: on('max_label_names_per_info_series') ? l.max_label_names_per_info_series : 0,
    maxLabelNameLength: on('max_label_name_length') ? l.max_label_name_length : 0,
    maxLabelValueLength:
      on('max_label_value_length') && limitIs(l, 'label_value_length_over_limit_strategy', 'error')
        ? l.max_label_value_length
        : 0,
    exemplarsCharged: l.max_global_exemplars_per_user > 0,
    ...(isEnforced(tenant.enforcement, 'name_validation_scheme', dryRun)
      ? { nameScheme: limitIs(l, 'name_validation_scheme', 'utf8') ? ('utf8' as const) : ('legacy' as const) }
      : {}),
    maxExemplarsPerSeries: l.max_exemplars_per_series_per_request,
    ...(dropLabels ? { dropLabels } : {}),
  };
}

/** Mimir's 400 for the first refused series, naming it as Mimir prints it. */
function refusalFor(problem: SeriesProblem, measured: MeasuredBody): Decision {
  const series = measured.describeSeries(measured.decoded, problem.series);
  const { kind } = problem;
  switch (kind) {
    case 'sample_too_far_in_future':
    case 'sample_too_far_in_past': {
      // Mimir names the series by its metric name alone here.
      const message = sampleTimeMessage(kind, problem.observed, metricNameOf(bareSeries(series)));
      return denial(kind, message, problem.limit, problem.observed);
    }
    case 'histogram_schema_invalid':
    case 'max_native_histogram_buckets':
    case 'histogram_not_reducible': {
      const message = histogramMessage(
        kind,
        problem.timestamp ?? 0,
        bareSeries(series),
        problem.observed,
        problem.limit,
      );
      return denial(kind, message, problem.limit, problem.observed);
    }
    case 'missing_metric_name':
    case 'metric_name_invalid':
    case 'label_invalid':
    case 'label_value_invalid':
    case 'duplicate_label_names': {
      const message = seriesValidationMessage(
        kind,
        problem.labelName ?? '',
        problem.labelValue ?? '',
        bareSeries(series),
        problem.metricName ?? '',
      );
      return denial(kind, message, 0, 0);
    }
    default: {
      const label =
        problem.labelName === undefined
          ? undefined
          : { name: problem.labelName, value: problem.labelValue ?? '' };
      const message = seriesLimitMessage(kind, problem.observed, problem.limit, series, label);
      return denial(kind, message, problem.limit, problem.observed);
    }
  }
}

/** `decision` carrying the partial forward when it lets the request through; unchanged otherwise. */
export function withPartial(decision: Decision, view: MimirView | undefined): Decision {
  if (!view?.partial || !decision.allowed) return decision;
  return { ...decision, partial: view.partial };
}
