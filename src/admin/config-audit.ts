// Writes every committed configuration version into the audit log, whatever its source (file reload,
// ConfigMap, API, rollback, import, restored state): actor, source, reason and the exact diff.
// Runs synchronously inside the commit, so it must stay cheap and never throw.

import type { LimitsRegistry, LimitsSnapshot } from '../limits/limits-registry.js';
import { resolveTenant } from '../limits/limits-registry.js';
import type { AuditLog } from './audit-log.js';
import { ROLES } from './access.js';
import type { Role } from './access.js';

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
    audit.append({
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
    });
  });
}
