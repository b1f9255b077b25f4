// Writes every committed configuration version into the audit log, whatever its source (file reload,
// ConfigMap, API, rollback, import, restored state): actor, source, reason and the exact diff.
// Runs synchronously inside the commit, so it must stay cheap and never throw.

import type { LimitsRegistry, LimitsSnapshot } from '../../limits/limits-registry.js';
import { resolveTenant } from '../../limits/limits-registry.js';
import type { AuditLog } from './audit-log.js';
import { ROLES } from './roles.js';
import type { Role } from './roles.js';

function asRole(role: string | null): Role | 'system' {
  return (ROLES as readonly string[]).includes(role ?? '') ? (role as Role) : 'system';
}

/** What the tenant had in `snapshot`: its switches for an enforcement change, else its effective limits. */
function tenantView(snapshot: LimitsSnapshot, tenant: string, action: string): unknown {
  const resolved = resolveTenant(snapshot, tenant);
  if (action.startsWith('tenant.enforcement')) return resolved?.enforcement ?? { enabled: true, limits: {} };
  return { ...(resolved?.limits ?? snapshot.defaults) };
}

export function auditConfigChanges(registry: LimitsRegistry, audit: AuditLog, now: () => number): void {
  registry.onCommit((version, before, after) => {
    const tenant = version.tenant;
    audit.append(
      {
        time: new Date(now()).toISOString(),
        actor: version.actor,
        role: asRole(version.role),
        action: version.action,
        tenant,
        before: tenant ? tenantView(before, tenant, version.action) : null,
        after: tenant ? tenantView(after, tenant, version.action) : null,
        reason: version.reason,
        version: version.version,
        source: version.source,
        diff: version.changes,
      },
      { configVersion: version.version },
    );
  });
}

/** Where a reloaded configuration outside the limits registry comes from. */
export type SourceKind = 'policy_file' | 'ratelimit_config';

/**
 * One reload of POLICY_FILE or RATELIMIT_CONFIG: `applied` made a new numbered version; `error` was refused
 * and `version` is the one still in force. Numbers count per source and per process, from 1 at start.
 */
export interface SourceVersion {
  version: number;
  time: string;
  source: SourceKind;
  /** The file or directory read. */
  file: string;
  /** sha256 of the content read (hex), so two replicas or two reloads can be compared. */
  checksum: string;
  result: 'applied' | 'error';
  /** What was applied (`3 policies`), or every problem of a refused file. */
  detail: string;
}

type SourceVersionListener = (entry: SourceVersion) => void;

/** How many reloads each source keeps in memory; the audit log keeps them longer. */
const SOURCE_HISTORY = 100;

/**
 * The reload history of one file source. The source calls record() right after it swapped (or refused)
 * its config, so the version numbers follow the order in which configs came into force.
 */
export class SourceVersionLog {
  private readonly entries: SourceVersion[] = [];
  private readonly listeners: SourceVersionListener[] = [];
  private inForce = 0;

  constructor(
    readonly source: SourceKind,
    readonly file: string,
    private readonly now: () => number,
  ) {}

  /** The version in force (0 before the first load). */
  get version(): number {
    return this.inForce;
  }

  record(result: SourceVersion['result'], checksum: string, detail: string): SourceVersion {
    if (result === 'applied') this.inForce++;
    const entry: SourceVersion = {
      version: this.inForce,
      time: new Date(this.now()).toISOString(),
      source: this.source,
      file: this.file,
      checksum,
      result,
      detail,
    };
    this.entries.push(entry);
    if (this.entries.length > SOURCE_HISTORY) this.entries.shift();
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  /** Newest first. */
  list(): SourceVersion[] {
    return [...this.entries].reverse();
  }

  /** Calls `listener` for every reload kept so far (oldest first), then for each new one. */
  follow(listener: SourceVersionListener): void {
    for (const entry of this.entries) listener(entry);
    this.listeners.push(listener);
  }
}

const ACTIONS: Record<SourceKind, { action: string; actor: string }> = {
  policy_file: { action: 'policy_set.reload', actor: 'policy-file' },
  ratelimit_config: { action: 'ratelimit_config.reload', actor: 'ratelimit-config' },
};

/**
 * Writes every reload of a policy set or descriptor config into the audit log. `version` stays null there:
 * it names limits versions (GET /api/config/versions/{n}); the source's own number is `source_version`.
 */
export function auditSourceReloads(log: SourceVersionLog, audit: AuditLog): void {
  log.follow((entry) => {
    const { action, actor } = ACTIONS[entry.source];
    audit.append({
      time: entry.time,
      actor,
      role: 'system',
      action: entry.result === 'applied' ? action : `${action}.refused`,
      tenant: null,
      before: null,
      after: null,
      reason: `${entry.file}: ${entry.detail}`,
      version: null,
      source: entry.source,
      source_version: entry.version,
      file: entry.file,
      checksum: entry.checksum,
      result: entry.result,
    });
  });
}
