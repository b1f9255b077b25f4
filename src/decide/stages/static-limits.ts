// Stage of the write pipeline (src/decide/write-pipeline.ts): the static limits, checked on the request as it
// will be decided (max_body_bytes, max_series_per_request, max_label_names_per_series, max_label_name_length,
// max_label_value_length). An enforced one ends the pipeline with its denial; one only observed rides along as
// the would-deny the decision carries. A request within every limit costs five comparisons and allocates nothing.

import type { Decision } from '../../decision/decision.js';
import {
  bodyTooLargeMessage,
  denial,
  observedOnly,
  seriesLimitMessage,
  seriesPerRequestMessage,
} from '../../decision/catalogue.js';
import { limitIs } from '../../limits/limit-definitions.js';
import type { LimitName } from '../../limits/limit-definitions.js';
import type { ResolvedTenant } from '../../limits/tenant-limits.js';
import { isEnforced } from '../../limits/tenant-limits.js';
import type { RequestInfo } from '../../remote-write/request-info.js';
import { labelAtFault } from '../../remote-write/index.js';
import type { WriteStage } from '../write-request.js';

export interface StaticInput {
  tenant: ResolvedTenant;
  info: RequestInfo;
  dryRun: boolean;
  /** The decompressed body, handed to `describeSeries` only when a per-series limit is exceeded. */
  body: Uint8Array;
  describeSeries: (body: Uint8Array, index: number) => string;
  /**
   * Mimir's per-series rules already judged every series for the observed label limits (observed-series-rules):
   * the label checks from the scan's bounds are skipped, as they cannot tell an info series or a dropped label.
   */
  seriesJudged?: boolean;
}

function over(limit: number, value: number): boolean {
  return limit > 0 && value > limit;
}

/**
 * Size, series and label checks. Returns an enforced denial (allowed: false), else the first observed
 * one (allowed, wouldDeny), else undefined. A request within every limit costs five comparisons and
 * allocates nothing.
 */
export function checkStatic(input: StaticInput): Decision | undefined {
  const { tenant, info } = input;
  const l = tenant.limits;
  // Under label_value_length_over_limit_strategy truncate or drop, Mimir shortens long values.
  const maxValue = limitIs(l, 'label_value_length_over_limit_strategy', 'error')
    ? l.max_label_value_length
    : 0;
  if (
    !over(l.max_body_bytes, info.bytesCompressed) &&
    !over(l.max_series_per_request, info.series) &&
    !over(l.max_label_names_per_series, info.maxLabelNames) &&
    !over(l.max_label_name_length, info.maxLabelNameLength) &&
    !over(maxValue, info.maxLabelValueLength)
  ) {
    return undefined;
  }
  let observed: Decision | undefined;
  for (const [limit, d] of staticViolations(input, maxValue)) {
    if (isEnforced(tenant.enforcement, limit, input.dryRun)) return d;
    observed ??= observedOnly(d);
  }
  return observed;
}

/** Every static limit the request exceeds, in the order they are checked. Only built when one is exceeded. */
function staticViolations(input: StaticInput, maxValue: number): [LimitName, Decision][] {
  const { info } = input;
  const l = input.tenant.limits;
  const found: [LimitName, Decision][] = [];
  if (over(l.max_body_bytes, info.bytesCompressed)) {
    const message = bodyTooLargeMessage(info.bytesCompressed, l.max_body_bytes);
    found.push(['max_body_bytes', denial('body_too_large', message, l.max_body_bytes, info.bytesCompressed)]);
  }
  if (over(l.max_series_per_request, info.series)) {
    const message = seriesPerRequestMessage(info.series, l.max_series_per_request);
    found.push([
      'max_series_per_request',
      denial('max_series_per_request', message, l.max_series_per_request, info.series),
    ]);
  }
  const perSeries = (
    reason: 'max_label_names_per_series' | 'max_label_name_length' | 'max_label_value_length',
    observed: number,
    limit: number,
    seriesIndex: number,
  ): void => {
    if (!over(limit, observed)) return;
    const series = input.describeSeries(input.body, seriesIndex);
    const otlp = info.format === 'otlp-proto' || info.format === 'otlp-json';
    const part = reason === 'max_label_name_length' ? 'name' : 'value';
    const label =
      reason === 'max_label_names_per_series'
        ? undefined
        : labelAtFault(input.body, info.format, seriesIndex, part, limit, l.drop_labels);
    // Mimir quotes the length of the label it names, the first too long in name order.
    const actual = label !== undefined && part === 'value' ? label.valueBytes : observed;
    found.push([
      reason,
      denial(reason, seriesLimitMessage(reason, actual, limit, series, label, otlp), limit, observed),
    ]);
  };
  if (input.seriesJudged === true) return found;
  perSeries(
    'max_label_names_per_series',
    info.maxLabelNames,
    l.max_label_names_per_series,
    info.maxLabelNamesSeries,
  );
  perSeries(
    'max_label_name_length',
    info.maxLabelNameLength,
    l.max_label_name_length,
    info.maxLabelNameSeries,
  );
  perSeries('max_label_value_length', info.maxLabelValueLength, maxValue, info.maxLabelValueSeries);
  return found;
}

export const staticLimits: WriteStage = {
  name: 'static limits',
  run(s) {
    const result = checkStatic({
      tenant: s.resolved,
      info: s.info,
      dryRun: s.dryRun,
      body: s.measured.decoded,
      describeSeries: s.view?.describeSeries ?? s.measured.describeSeries,
      seriesJudged: s.seriesObserved !== undefined,
    });
    if (result !== undefined && !result.allowed) return result;
    s.observed = result ?? s.seriesObserved?.wouldDeny;
    return s;
  },
};
