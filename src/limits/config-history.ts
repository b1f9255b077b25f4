// The numbered versions of the limits configuration: who changed what, when, from which source, and why,
// each with its exact diff, so any retained version can be rebuilt (for rollback) by replaying diffs.
// Pure and bounded: no I/O, no clock (time is passed in); the oldest versions fold into a base config.

import type { LimitsConfig, TenantChange } from './limits-config.js';
import { EMPTY_CONFIG, applyChanges } from './limits-config.js';

/** Where a change came from. */
export type ChangeSource = 'overrides_file' | 'configmap' | 'api' | 'rollback' | 'import' | 'state';

export interface ChangeMeta {
  /** Who: the admin token's name, or the source itself for automatic changes (e.g. the file's path). */
  readonly actor: string;
  /** The actor's admin role, when a person acted. */
  readonly role: string | null;
  readonly source: ChangeSource;
  /** Why, in the actor's words (or the reloaded file's name); null when none was given. */
  readonly reason: string | null;
  /** What kind of change, e.g. `tenant.limits.update`, `overrides.reload`, `config.rollback`. */
  readonly action: string;
  /** The tenant the change is about, when it is about one. */
  readonly tenant: string | null;
}

export interface ConfigVersion extends ChangeMeta {
  readonly version: number;
  readonly timeMs: number;
  readonly changes: readonly TenantChange[];
}

/** Versions kept by default: enough for weeks of hand changes and file reloads. */
export const DEFAULT_RETAINED_VERSIONS = 1000;

export class ConfigHistory {
  /** The config as it was at `baseVersion` (before the oldest retained version). */
  private baseConfig: LimitsConfig;
  private baseVersion: number;
  private readonly versions: ConfigVersion[] = [];

  constructor(
    private readonly retain = DEFAULT_RETAINED_VERSIONS,
    base: { version: number; config: LimitsConfig } = { version: 0, config: EMPTY_CONFIG },
    versions: readonly ConfigVersion[] = [],
  ) {
    if (retain < 1) throw new RangeError('a config history must retain at least one version');
    this.baseConfig = base.config;
    this.baseVersion = base.version;
    for (const v of versions) this.push(v);
  }

  /** The newest version number (the base version when none is retained). */
  get latest(): number {
    return this.versions.at(-1)?.version ?? this.baseVersion;
  }

  /** The oldest version that can be shown and rolled back to, or undefined when none is retained. */
  get oldest(): number | undefined {
    return this.versions[0]?.version;
  }

  get base(): { version: number; config: LimitsConfig } {
    return { version: this.baseVersion, config: this.baseConfig };
  }

  /** Appends the next version; `changes` must be the diff from the latest config. */
  record(meta: ChangeMeta, changes: readonly TenantChange[], timeMs: number): ConfigVersion {
    const version: ConfigVersion = Object.freeze({
      version: this.latest + 1,
      timeMs,
      actor: meta.actor,
      role: meta.role,
      source: meta.source,
      reason: meta.reason,
      action: meta.action,
      tenant: meta.tenant,
      changes: Object.freeze([...changes]),
    });
    this.push(version);
    return version;
  }

  /** Newest first. */
  list(limit = Infinity): ConfigVersion[] {
    const out: ConfigVersion[] = [];
    for (let i = this.versions.length - 1; i >= 0 && out.length < limit; i--) out.push(this.versions[i]!);
    return out;
  }

  get(version: number): ConfigVersion | undefined {
    const first = this.versions[0];
    if (!first) return undefined;
    return this.versions[version - first.version];
  }

  /** In version order, oldest first. */
  all(): readonly ConfigVersion[] {
    return this.versions;
  }

  /** The whole configuration as it was right after `version`, or undefined when it is not retained. */
  configAt(version: number): LimitsConfig | undefined {
    if (!Number.isInteger(version) || version < this.baseVersion || version > this.latest) return undefined;
    let config = this.baseConfig;
    for (const v of this.versions) {
      if (v.version > version) break;
      config = applyChanges(config, v.changes, 'forward');
    }
    return config;
  }

  private push(version: ConfigVersion): void {
    if (version.version !== this.latest + 1)
      throw new RangeError(`config version ${version.version} does not follow ${this.latest}`);
    this.versions.push(version);
    while (this.versions.length > this.retain) {
      const oldest = this.versions.shift()!;
      this.baseConfig = applyChanges(this.baseConfig, oldest.changes, 'forward');
      this.baseVersion = oldest.version;
    }
  }
}
