// Holds the limits in force: defaults, the overrides file's per-tenant limits, runtime limits and the enforcement
// switches. Every change, from any source, goes through commit(): diffed, numbered in the history, swapped in as a
// new immutable snapshot, announced, then saved. The hot path reads the snapshot and never waits for any of it.

import type { ChangeMeta, ConfigVersion } from './config-history.js';
import { ConfigHistory } from './config-history.js';
import type { LimitName, LimitValue } from './limit-definitions.js';
import { LIMIT_NAMES } from './limit-definitions.js';
import type { LimitsConfig } from './limits-config.js';
import { applyChanges, diffConfigs, freezeConfig } from './limits-config.js';
import type { AnyLimitOverrides, LimitOverrides } from './overrides-file.js';
import type { Enforcement, ResolvedTenant, TenantLimits } from './tenant-limits.js';

const ENFORCE_ALL: Enforcement = Object.freeze({ enabled: true, limits: Object.freeze({}) });

export interface LimitsSnapshot extends LimitsConfig {
  /** The config version in force; increases by one on every applied change. */
  readonly version: number;
  readonly defaults: TenantLimits;
  /** Per-tenant switches from CONFIG_FILE (not versioned: they change with a restart). */
  readonly enforcement: ReadonlyMap<string, Enforcement>;
}

export type LimitSource = 'default' | 'overrides_file' | 'runtime';

/** Called synchronously after each change is in force (audit, metrics, caches). Must not throw. */
export type CommitListener = (version: ConfigVersion, before: LimitsSnapshot, after: LimitsSnapshot) => void;

/** Makes committed changes durable (state file, Redis). Calls are serialised, one at a time, in order. */
export interface ConfigPersistence {
  save(history: ConfigHistory, config: LimitsConfig): Promise<void>;
  /** What a failed save means for the operator, for the admin API's answer (where it was not saved, and why it matters). */
  unsaved(version: number, err: Error): string;
}

/** Used when a caller (tests, the library) changes the file layer without saying who. */
const FILE_CHANGE: ChangeMeta = Object.freeze({
  actor: 'overrides-file',
  role: null,
  source: 'overrides_file',
  reason: null,
  action: 'overrides.reload',
  tenant: null,
});

export interface LimitsRegistryOptions {
  history?: ConfigHistory;
  now?: () => number;
}

export class LimitsRegistry {
  /** Replaced only by adoptShared(), when another replica's versions win. */
  private sharedHistory: ConfigHistory;
  private snapshot: LimitsSnapshot;
  /** Resolved tenants of the current snapshot; dropped whole when the snapshot changes. */
  private resolved = new Map<string, ResolvedTenant>();
  private readonly defaultTenant: () => ResolvedTenant;
  private readonly listeners: CommitListener[] = [];
  private persistence: ConfigPersistence | undefined;
  private saving: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(
    defaults: TenantLimits,
    enforcement: ReadonlyMap<string, Enforcement> = new Map(),
    options: LimitsRegistryOptions = {},
  ) {
    this.sharedHistory = options.history ?? new ConfigHistory();
    this.now = options.now ?? Date.now;
    const config = freezeConfig(this.history.configAt(this.history.latest)!);
    this.snapshot = { version: this.history.latest, defaults, enforcement, ...config };
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

  get history(): ConfigHistory {
    return this.sharedHistory;
  }

  current(): LimitsSnapshot {
    return this.snapshot;
  }

  /** The versioned layers in force (a view of the snapshot). */
  config(): LimitsConfig {
    return this.snapshot;
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  setPersistence(persistence: ConfigPersistence): void {
    this.persistence = persistence;
  }

  /**
   * The one change path. Makes `next` the configuration in force as a new version, unless it equals the
   * current one (then nothing happens and undefined is returned). Validation is the caller's job.
   */
  commit(next: LimitsConfig, meta: ChangeMeta): ConfigVersion | undefined {
    next = withoutEmptyRuntimeEntries(next, this.snapshot);
    const changes = diffConfigs(this.snapshot, next);
    if (changes.length === 0) return undefined;
    const layers = freezeConfig({
      overrides: next.overrides,
      runtimeOverrides: next.runtimeOverrides,
      runtimeEnforcement: next.runtimeEnforcement,
    });
    const version = this.history.record(meta, changes, this.now());
    const before = this.snapshot;
    this.snapshot = { ...before, ...layers, version: version.version };
    this.resolved = new Map();
    for (const listener of this.listeners) listener(version, before, this.snapshot);
    const persistence = this.persistence;
    if (persistence) {
      const config = this.snapshot;
      // Each save writes everything not yet saved, so one failed save is repaired by the next.
      this.saving = this.saving.catch(() => undefined).then(() => persistence.save(this.history, config));
      // A failure is reported to whoever awaits saved(); nobody else must see an unhandled rejection.
      this.saving.catch(() => undefined);
    }
    return version;
  }

  /** The operator's explanation of a failed save of `version` (see ConfigPersistence.unsaved). */
  unsavedMessage(version: number, err: Error): string {
    return (
      this.persistence?.unsaved(version, err) ??
      `version ${version} is in force but was not saved: ${err.message}`
    );
  }

  /** Resolves when every change committed so far is saved; rejects if the last save failed. */
  saved(): Promise<void> {
    return this.saving;
  }

  /**
   * Replica sync hook (config-propagation.ts): makes `shared` — the history as the shared store holds it — this
   * registry's history and its latest config the one in force. Listeners hear of each version after `from`, as
   * of any commit. Nothing is saved: the change came from the store, and saving it would echo it back.
   */
  adoptShared(shared: ConfigHistory, from: number): void {
    const start = Math.max(from, shared.base.version);
    let config = shared.configAt(start);
    this.sharedHistory = shared;
    const before = this.snapshot;
    this.snapshot = { ...before, ...freezeConfig(shared.configAt(shared.latest)!), version: shared.latest };
    this.resolved = new Map();
    if (!config) return;
    for (const version of shared.all()) {
      if (version.version <= start) continue;
      const next = applyChanges(config, version.changes, 'forward');
      const announced = { ...before, ...config, version: version.version - 1 };
      for (const listener of this.listeners)
        listener(version, announced, { ...before, ...next, version: version.version });
      config = next;
    }
  }

  /** Restores the configuration as it was right after `version`, as a new version. */
  rollback(version: number, meta: ChangeMeta): ConfigVersion | undefined {
    const target = this.history.configAt(version);
    if (!target) throw new RangeError(`config version ${version} is not retained`);
    return this.commit(target, meta);
  }

  /** Replaces the per-tenant overrides (from the overrides file); returns the version in force after. */
  setOverrides(overrides: ReadonlyMap<string, LimitOverrides>, meta: ChangeMeta = FILE_CHANGE): number {
    this.commit({ ...this.snapshot, overrides }, meta);
    return this.snapshot.version;
  }

  /** The limits and switches for `tenant`. Cheap: cached per snapshot. */
  forTenant(tenant: string): ResolvedTenant {
    const cached = this.resolved.get(tenant);
    if (cached) return cached;
    const resolved = resolveTenant(this.snapshot, tenant);
    if (!resolved) return this.defaultTenant();
    this.resolved.set(tenant, resolved);
    return resolved;
  }

  // --- Runtime layer (admin API). Validation is the caller's job: these build the next config and commit it. ---

  /** Sets (a value) or clears (null) runtime values of `tenant`'s limits. */
  setRuntimeLimits(
    tenant: string,
    changes: Readonly<Partial<Record<LimitName, LimitValue | null>>>,
    meta: ChangeMeta,
  ): ConfigVersion | undefined {
    const next: AnyLimitOverrides = { ...this.snapshot.runtimeOverrides.get(tenant) };
    for (const name of LIMIT_NAMES) {
      const value = changes[name];
      if (value === null) delete next[name];
      else if (value !== undefined) next[name] = value;
    }
    const map = new Map(this.snapshot.runtimeOverrides);
    if (Object.keys(next).length === 0) map.delete(tenant);
    else map.set(tenant, next as LimitOverrides);
    return this.commit({ ...this.snapshot, runtimeOverrides: map }, meta);
  }

  /** Replaces `tenant`'s runtime enforcement switches (undefined: back to CONFIG_FILE's). */
  setRuntimeEnforcement(
    tenant: string,
    enforcement: Enforcement | undefined,
    meta: ChangeMeta,
  ): ConfigVersion | undefined {
    const map = new Map(this.snapshot.runtimeEnforcement);
    if (enforcement) map.set(tenant, { enabled: enforcement.enabled, limits: { ...enforcement.limits } });
    else map.delete(tenant);
    return this.commit({ ...this.snapshot, runtimeEnforcement: map }, meta);
  }

  /** Where each of `tenant`'s effective limits comes from. */
  limitSources(tenant: string): Record<LimitName, LimitSource> {
    const file = this.snapshot.overrides.get(tenant);
    const runtime = this.snapshot.runtimeOverrides.get(tenant);
    const out = {} as Record<LimitName, LimitSource>;
    for (const name of LIMIT_NAMES) {
      out[name] =
        runtime?.[name] !== undefined ? 'runtime' : file?.[name] !== undefined ? 'overrides_file' : 'default';
    }
    return out;
  }
}

/** `tenant`'s limits and switches in `snapshot`; undefined when it has nothing of its own (the defaults apply). */
export function resolveTenant(snapshot: LimitsSnapshot, tenant: string): ResolvedTenant | undefined {
  const override = snapshot.overrides.get(tenant);
  const runtime = snapshot.runtimeOverrides.get(tenant);
  const enforcement = snapshot.runtimeEnforcement.get(tenant) ?? snapshot.enforcement.get(tenant);
  if (!override && !runtime && !enforcement) return undefined;
  const limits: Record<LimitName, LimitValue> = { ...snapshot.defaults };
  for (const layer of [override, runtime] as (AnyLimitOverrides | undefined)[]) {
    if (!layer) continue;
    for (const name of LIMIT_NAMES) {
      const value = layer[name];
      if (value !== undefined) limits[name] = value;
    }
  }
  return Object.freeze({
    limits: Object.freeze(limits) as TenantLimits,
    enforcement: enforcement ?? ENFORCE_ALL,
    hasOverrides: override !== undefined || runtime !== undefined,
  });
}

/** A runtime entry that sets no limit means nothing: dropped, so every source writes the same config for it. */
function withoutEmptyRuntimeEntries(next: LimitsConfig, current: LimitsConfig): LimitsConfig {
  if (next.runtimeOverrides === current.runtimeOverrides) return next;
  let layer: Map<string, LimitOverrides> | undefined;
  for (const [tenant, limits] of next.runtimeOverrides) {
    if (Object.keys(limits).length > 0) continue;
    layer ??= new Map(next.runtimeOverrides);
    layer.delete(tenant);
  }
  return layer ? { ...next, runtimeOverrides: layer } : next;
}
