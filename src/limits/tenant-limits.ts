// A tenant's effective limits and enforcement switches, resolved once per configuration change
// and then read on the hot path without lookups or allocation.

import type { LimitName, LimitValueOf } from './limit-definitions.js';

/** Every limit of a tenant, each typed by its kind (numbers, label names, lists of label names). */
export type TenantLimits = { readonly [N in LimitName]: LimitValueOf<N> };

/** Which limits are enforced (deny) rather than only observed (record "would deny", forward anyway). */
export interface Enforcement {
  /** Master switch for the tenant: false means every limit is only observed. */
  enabled: boolean;
  /** Per-limit switches; a limit missing here is enforced. */
  limits: Readonly<Partial<Record<LimitName, boolean>>>;
}

export interface ResolvedTenant {
  limits: TenantLimits;
  enforcement: Enforcement;
  /** Whether this tenant has its own entry in the overrides file. */
  hasOverrides: boolean;
}

export function isEnforced(enforcement: Enforcement, limit: LimitName, dryRun: boolean): boolean {
  if (dryRun || !enforcement.enabled) return false;
  return enforcement.limits[limit] !== false;
}
