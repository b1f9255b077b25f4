// Holds the limits in force: defaults, the overrides file's per-tenant limits and the enforcement switches.
// A change swaps in a new immutable snapshot; the hot path reads the snapshot with one map lookup and
// never waits for a reload.

import type { LimitName } from './limit-definitions.js';
import { LIMIT_NAMES } from './limit-definitions.js';
import type { LimitOverrides } from './overrides-file.js';
import type { Enforcement, ResolvedTenant, TenantLimits } from './tenant-limits.js';

const ENFORCE_ALL: Enforcement = Object.freeze({ enabled: true, limits: Object.freeze({}) });

export interface LimitsSnapshot {
  /** Increases by one on every applied change. */
  readonly version: number;
  readonly defaults: TenantLimits;
  readonly overrides: ReadonlyMap<string, LimitOverrides>;
  readonly enforcement: ReadonlyMap<string, Enforcement>;
}

export class LimitsRegistry {
  private snapshot: LimitsSnapshot;
  /** Resolved tenants of the current snapshot; dropped whole when the snapshot changes. */
  private resolved = new Map<string, ResolvedTenant>();
  private readonly defaultTenant: () => ResolvedTenant;

  constructor(defaults: TenantLimits, enforcement: ReadonlyMap<string, Enforcement> = new Map()) {
    this.snapshot = { version: 1, defaults, overrides: new Map(), enforcement };
    let cachedDefault: ResolvedTenant | undefined;
    let cachedFor: LimitsSnapshot | undefined;
    this.defaultTenant = () => {
      if (cachedFor !== this.snapshot || !cachedDefault) {
        cachedFor = this.snapshot;
        cachedDefault = Object.freeze({
          limits: this.snapshot.defaults,
          enforcement: ENFORCE_ALL,
          hasOverrides: false,
        });
      }
      return cachedDefault;
    };
  }

  current(): LimitsSnapshot {
    return this.snapshot;
  }

  /** Replaces the per-tenant overrides (from the overrides file); returns the new version. */
  setOverrides(overrides: ReadonlyMap<string, LimitOverrides>): number {
    return this.swap({ ...this.snapshot, overrides });
  }

  setEnforcement(enforcement: ReadonlyMap<string, Enforcement>): number {
    return this.swap({ ...this.snapshot, enforcement });
  }

  /** The limits and switches for `tenant`. Cheap: cached per snapshot. */
  forTenant(tenant: string): ResolvedTenant {
    const cached = this.resolved.get(tenant);
    if (cached) return cached;
    const override = this.snapshot.overrides.get(tenant);
    const enforcement = this.snapshot.enforcement.get(tenant);
    if (!override && !enforcement) return this.defaultTenant();
    const limits = { ...this.snapshot.defaults } as Record<LimitName, number>;
    if (override) {
      for (const name of LIMIT_NAMES) {
        const value = override[name];
        if (value !== undefined) limits[name] = value;
      }
    }
    const resolved: ResolvedTenant = Object.freeze({
      limits: Object.freeze(limits),
      enforcement: enforcement ?? ENFORCE_ALL,
      hasOverrides: override !== undefined,
    });
    this.resolved.set(tenant, resolved);
    return resolved;
  }

  private swap(next: Omit<LimitsSnapshot, 'version'>): number {
    this.snapshot = { ...next, version: this.snapshot.version + 1 };
    this.resolved = new Map();
    return this.snapshot.version;
  }
}
