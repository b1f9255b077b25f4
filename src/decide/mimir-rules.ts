// Mimir's per-tenant rules for what a write request is worth: which series it ingests (partial acceptance),
// which exemplars it charges, and the 400 it owes for the first series it refuses. The common case (every
// series valid, no exemplar cap reached) returns undefined after a few comparisons: no pass, no allocation.

import type { Decision, PartialForward } from '../engine/decision.js';
import type { ResolvedTenant, TenantLimits } from '../limits/tenant-limits.js';
import { isEnforced } from '../limits/tenant-limits.js';
import { filterMetadataRw1, filterSeries, reencodeKept } from '../remote-write/index.js';
import type {
  FilteredMetadata,
  MeasuredBody,
  MetadataProblem,
  RequestInfo,
  SeriesProblem,
  SeriesRules,
} from '../remote-write/index.js';
import { denial } from './enforcer.js';
import { metadataLimitMessage, seriesLimitMessage } from './messages.js';

/** Index of `error` in label_value_length_over_limit_strategy's values: a long value refuses the series. */
export const LABEL_VALUE_STRATEGY_ERROR = 0;
/** Index of `true` in partial_acceptance's values. */
const PARTIAL_ACCEPTANCE_ON = 1;

/** What the edge decides on once Mimir's per-series rules have run (see mimirView). */
export interface MimirView {
  /** The request as Mimir would ingest it: the forwarded series' counts and label extremes. */
  info: RequestInfo;
  /** Set when the request must be refused now: strict mode, or nothing valid is left to forward. */
  refusal?: Decision;
  /** Set when only the valid series go upstream: attach to the decision once the rate checks allow it. */
  partial?: PartialForward;
}

/**
 * The items Mimir charges to `ingestion_rate`: samples, native histogram samples and metadata, plus exemplars
 * only when `max_global_exemplars_per_user` is above 0 (at 0 Mimir drops them before counting). For a capped
 * `info` from mimirView the exemplars are already counted per series within the cap.
 */
export function mimirCost(info: RequestInfo, limits: TenantLimits): number {
  const exemplars = limits.max_global_exemplars_per_user > 0 ? info.exemplars : 0;
  return info.floatSamples + info.histogramSamples + info.metadata + exemplars;
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
): MimirView | undefined {
  const { info } = measured;
  if (info.format !== 'prw1' && info.format !== 'prw2') return undefined;
  const rules = seriesRules(tenant, dryRun);
  const overBound =
    (rules.maxLabelNames > 0 && info.maxLabelNames > rules.maxLabelNames) ||
    (rules.maxLabelNameLength > 0 && info.maxLabelNameLength > rules.maxLabelNameLength) ||
    (rules.maxLabelValueLength > 0 && info.maxLabelValueLength > rules.maxLabelValueLength);
  const capReached =
    rules.exemplarsCharged &&
    rules.maxExemplarsPerSeries > 0 &&
    (info.maxExemplarsPerSeries ?? Infinity) > rules.maxExemplarsPerSeries;
  const metadata = metadataVerdict(tenant, measured, dryRun);
  if (!overBound && !capReached && !metadata) return undefined;

  const filtered = overBound || capReached ? filterSeries(measured.decoded, info, rules) : undefined;
  const seriesProblem = filtered?.firstProblem;
  // Mimir validates every series before any metadata, so a series error is the one it answers with.
  const refusal = seriesProblem
    ? refusalFor(seriesProblem, measured)
    : metadata
      ? metadataRefusal(metadata.firstProblem)
      : undefined;
  let kept = filtered ? filtered.kept : info;
  if (!refusal) return { info: kept };
  if (metadata) kept = { ...kept, metadata: kept.metadata - metadata.dropped };
  const somethingToIngest = kept.floatSamples + kept.histogramSamples + kept.metadata > 0;
  // Mimir pushes nothing when no valid sample or metadata is left, and answers with the first error.
  if (tenant.limits.partial_acceptance !== PARTIAL_ACCEPTANCE_ON || !somethingToIngest) {
    return { info, refusal };
  }
  const keepSeries = seriesProblem ? filtered.keep : undefined;
  return {
    info: kept,
    partial: { body: reencodeKept(measured.decoded, info.format, keepSeries, metadata?.keep), refusal },
  };
}

/**
 * Mimir's max_metadata_length over RW1 metadata, or undefined when no entry is dropped. The common request
 * carries no metadata (Prometheus sends it in requests of its own) and pays one comparison; a body no longer
 * than the limit cannot hold a field over it, so it pays two. A long HELP is truncated by Mimir, not refused,
 * so it changes neither the decision nor the cost, and the body is forwarded as it is.
 */
function metadataVerdict(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  dryRun: boolean,
): FilteredMetadata | undefined {
  const { info } = measured;
  const maxLength = tenant.limits.max_metadata_length;
  if (info.metadata === 0 || maxLength === 0 || info.bytesUncompressed <= maxLength) return undefined;
  // RW2 carries metadata inside its series: dropping one means rewriting a series (see the compatibility page).
  if (info.format !== 'prw1') return undefined;
  if (!isEnforced(tenant.enforcement, 'max_metadata_length', dryRun)) return undefined;
  return filterMetadataRw1(measured.decoded, info.metadata, maxLength);
}

function metadataRefusal(problem: MetadataProblem): Decision {
  const message = metadataLimitMessage(
    problem.kind,
    problem.observed,
    problem.limit,
    problem.metricName,
    problem.unit,
  );
  return denial(problem.kind, message, problem.limit, problem.observed);
}

/** The tenant's per-series limits as the exact pass reads them: 0 for a limit that refuses nothing. */
export function seriesRules(tenant: ResolvedTenant, dryRun: boolean): SeriesRules {
  const l = tenant.limits;
  const on = (
    name: 'max_label_names_per_series' | 'max_label_name_length' | 'max_label_value_length',
  ): boolean => isEnforced(tenant.enforcement, name, dryRun);
  return {
    maxLabelNames: on('max_label_names_per_series') ? l.max_label_names_per_series : 0,
    maxLabelNameLength: on('max_label_name_length') ? l.max_label_name_length : 0,
    maxLabelValueLength:
      on('max_label_value_length') && l.label_value_length_over_limit_strategy === LABEL_VALUE_STRATEGY_ERROR
        ? l.max_label_value_length
        : 0,
    exemplarsCharged: l.max_global_exemplars_per_user > 0,
    maxExemplarsPerSeries: l.max_exemplars_per_series_per_request,
  };
}

/** Mimir's 400 for the first refused series, naming it as Mimir prints it. */
function refusalFor(problem: SeriesProblem, measured: MeasuredBody): Decision {
  const series = measured.describeSeries(measured.decoded, problem.series);
  const message = seriesLimitMessage(problem.kind, problem.observed, problem.limit, series);
  return denial(problem.kind, message, problem.limit, problem.observed);
}

/** `decision` carrying the partial forward when it lets the request through; unchanged otherwise. */
export function withPartial(decision: Decision, view: MimirView | undefined): Decision {
  if (!view?.partial || !decision.allowed) return decision;
  return { ...decision, partial: view.partial };
}
