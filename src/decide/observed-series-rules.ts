// Mimir's per-series rules for limits the edge only observes (a limit switched off in the tenant's `enforcement:`,
// or dry run): they never remove a series, but the first series Mimir would refuse for one of them is recorded as
// a would-deny, as an observed static limit is (checkStatic, rls_would_deny_total). Remote write 1.0 and 2.0
// only; the exact pass runs only when the scan's bounds show an observed rule could refuse something, so a tenant
// with every limit enforced pays a few comparisons.

import type { Decision } from '../decision/decision.js';
import { observedOnly } from '../decision/catalogue.js';
import { ENUM_LIMIT_VALUES, limitIs } from '../limits/limit-definitions.js';
import type { LimitName } from '../limits/limit-definitions.js';
import type { Enforcement, ResolvedTenant } from '../limits/tenant-limits.js';
import { isEnforced } from '../limits/tenant-limits.js';
import type { MeasuredBody } from '../remote-write/index.js';
import { mimirView, sampleTimesOut } from './mimir-rules.js';

/** What the observed pass found: `wouldDeny` is the first series (or metadata) an observed rule would refuse. */
export interface ObservedSeries {
  wouldDeny: Decision | undefined;
}

/** The limits Mimir applies series by series (and to metadata) that the exact pass judges. */
const PER_SERIES: readonly LimitName[] = [
  'max_label_names_per_series',
  'max_label_names_per_info_series',
  'max_label_name_length',
  'max_label_value_length',
  'name_validation_scheme',
  'creation_grace_period',
  'past_grace_period',
  'max_native_histogram_buckets',
  'max_metadata_length',
  'enforce_metadata_metric_name',
];

function somePerSeriesObserved(enforcement: Enforcement, dryRun: boolean): boolean {
  if (dryRun || !enforcement.enabled) return true;
  for (const name of PER_SERIES) if (enforcement.limits[name] === false) return true;
  return false;
}

const ALL_ENFORCED: Enforcement = Object.freeze({ enabled: true, limits: Object.freeze({}) });
/** Refused whole rather than re-encoded: only the first refusal is wanted, never a body. */
const WHOLE = ENUM_LIMIT_VALUES.partial_acceptance.indexOf('false');
const enforcedTenants = new WeakMap<ResolvedTenant['limits'], ResolvedTenant>();

/** The tenant with every limit enforced (and partial acceptance off), made once per limits snapshot. */
function asEnforced(tenant: ResolvedTenant): ResolvedTenant {
  let enforced = enforcedTenants.get(tenant.limits);
  if (!enforced) {
    enforced = {
      limits: { ...tenant.limits, partial_acceptance: WHOLE },
      enforcement: ALL_ENFORCED,
      hasOverrides: tenant.hasOverrides,
    };
    enforcedTenants.set(tenant.limits, enforced);
  }
  return enforced;
}

/**
 * Whether a rule the tenant only observes could refuse something in the request, from the scan's bounds: the
 * same bounds that send an enforced rule to the exact pass (mimirView).
 */
function observedMayRefuse(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  dryRun: boolean,
  nowMs: number,
): boolean {
  const l = tenant.limits;
  const { info } = measured;
  const observed = (name: LimitName): boolean => !isEnforced(tenant.enforcement, name, dryRun);
  const over = (limit: number, value: number): boolean => limit > 0 && value > limit;
  if (
    over(l.max_label_names_per_series, info.maxLabelNames) &&
    (observed('max_label_names_per_series') || observed('max_label_names_per_info_series'))
  )
    return true;
  if (observed('max_label_name_length') && over(l.max_label_name_length, info.maxLabelNameLength))
    return true;
  if (
    observed('max_label_value_length') &&
    limitIs(l, 'label_value_length_over_limit_strategy', 'error') &&
    over(l.max_label_value_length, info.maxLabelValueLength)
  )
    return true;
  if (
    observed('name_validation_scheme') &&
    (info.nonAsciiSymbols === true || limitIs(l, 'exact_validation', 'always'))
  )
    return true;
  if (
    (observed('creation_grace_period') ||
      observed('past_grace_period') ||
      observed('max_native_histogram_buckets')) &&
    sampleTimesOut(asEnforced(tenant), info, false, nowMs) !== undefined
  )
    return true;
  return info.metadata > 0 && (observed('max_metadata_length') || observed('enforce_metadata_metric_name'));
}

/**
 * The would-deny for the first series (or metadata entry) Mimir would refuse under a rule the tenant only
 * observes, for a request the enforced rules left whole (call it only then: an enforced refusal comes first).
 * Undefined when no observed rule could refuse anything (the exact pass did not run: the static checks judge the
 * label limits from the scan's bounds); otherwise the pass's verdict, which replaces those label checks, since it
 * counts as Mimir does (info series, drop_labels, the HA replica label).
 */
export function observedSeriesRules(
  tenant: ResolvedTenant,
  measured: MeasuredBody,
  dryRun: boolean,
  haReplicaLabel: string | undefined,
  nowMs: number,
): ObservedSeries | undefined {
  const { format } = measured.info;
  if (format !== 'prw1' && format !== 'prw2') return undefined;
  if (!somePerSeriesObserved(tenant.enforcement, dryRun)) return undefined;
  if (!observedMayRefuse(tenant, measured, dryRun, nowMs)) return undefined;
  const view = mimirView(asEnforced(tenant), measured, false, haReplicaLabel, nowMs);
  const refusal = view?.refusal ?? view?.partial?.refusal;
  return { wouldDeny: refusal ? observedOnly(refusal) : undefined };
}
