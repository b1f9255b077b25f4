// The service's big switch, changed at runtime through the admin API: enforce, dry-run or off, for the whole
// service and per tenant. It sits above the fine per-limit enforcement switches of the limits registry; the
// hot path reads it with one field read (plus one Map lookup only while some tenant has a mode of its own).

/**
 * enforce: deny over a limit. dry-run: decide and record "would deny", forward anyway. off: forward without
 * measuring, charging buckets or recording a decision (only rls_unchecked_requests_total counts it).
 */
export type EnforcementMode = 'enforce' | 'dry-run' | 'off';

export const ENFORCEMENT_MODES: readonly EnforcementMode[] = Object.freeze(['enforce', 'dry-run', 'off']);

/** Parses a mode as the admin API and config accept it ("dry_run" is taken for "dry-run"); undefined if unknown. */
export function parseMode(value: unknown): EnforcementMode | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase().replace('_', '-');
  return (ENFORCEMENT_MODES as readonly string[]).includes(v) ? (v as EnforcementMode) : undefined;
}

export class ModeSwitch {
  private globalMode: EnforcementMode;
  private readonly tenants = new Map<string, EnforcementMode>();
  private changedAtMs: number;
  /** Writes forwarded unmeasured because their mode was off, since start. */
  uncheckedRequests = 0;

  constructor(initial: EnforcementMode, nowMs: number) {
    this.globalMode = initial;
    this.changedAtMs = nowMs;
  }

  /** The service-wide mode. */
  get global(): EnforcementMode {
    return this.globalMode;
  }

  /** When the service-wide mode last changed (or the service started). */
  get changedAt(): number {
    return this.changedAtMs;
  }

  setGlobal(mode: EnforcementMode, nowMs: number): void {
    if (mode !== this.globalMode) this.changedAtMs = nowMs;
    this.globalMode = mode;
  }

  /** The tenant's own mode, undefined when it follows the service. */
  tenantMode(tenant: string): EnforcementMode | undefined {
    return this.tenants.size === 0 ? undefined : this.tenants.get(tenant);
  }

  /** Sets the tenant's own mode; undefined makes it follow the service again. */
  setTenant(tenant: string, mode: EnforcementMode | undefined): void {
    if (mode === undefined) this.tenants.delete(tenant);
    else this.tenants.set(tenant, mode);
  }

  /** Tenants with a mode of their own, sorted by id. */
  tenantModes(): [string, EnforcementMode][] {
    return [...this.tenants.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * The mode a write of `tenant` gets: the tenant's own mode if it has one (so a service in dry-run can enforce
   * a few named tenants), else the service's. A service switched off is off for everyone: it is the kill switch.
   */
  effective(tenant: string | undefined): EnforcementMode {
    const global = this.globalMode;
    if (global === 'off' || tenant === undefined || this.tenants.size === 0) return global;
    return this.tenants.get(tenant) ?? global;
  }
}
