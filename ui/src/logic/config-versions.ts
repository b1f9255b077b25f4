// The logic of the Config, Audit and System pages, kept apart from React so it is unit tested: turns a
// version's per-tenant diff into rows a person reads ("team-b runtime limits ingestion_rate 1 → unset"),
// names sources and actors, and says why a rollback or import is not offered to a role.

import type { Role } from './roles.js';

export type LayerName = 'overrides_file' | 'runtime_limits' | 'runtime_enforcement';

/** One tenant's entry in one layer, before and after (null: absent), as the admin API sends it. */
export interface TenantChange {
  layer: LayerName;
  tenant: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export interface VersionSummary {
  version: number;
  time: string;
  actor: string;
  source: string;
  reason: string | null;
  action: string;
  tenant: string | null;
  changes: number;
}

/** One changed setting: "unset" when the layer does not set it (the next layer down applies). */
export interface DiffRow {
  tenant: string;
  layer: string;
  setting: string;
  before: string;
  after: string;
}

export const LAYER_TEXT: Record<LayerName, string> = {
  overrides_file: 'Mimir overrides',
  runtime_limits: 'runtime limits',
  runtime_enforcement: 'runtime switches',
};

export const SOURCE_TEXT: Record<string, string> = {
  overrides_file: 'overrides file',
  configmap: 'ConfigMap',
  api: 'admin API',
  rollback: 'rollback',
  import: 'import',
  state: 'STATE_DIR restore',
};

export function sourceText(source: string | null | undefined): string {
  if (!source) return '–';
  return SOURCE_TEXT[source] ?? source;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueText(value: unknown, switches: boolean): string {
  if (value === undefined || value === null) return 'unset';
  if (switches && typeof value === 'boolean') return value ? 'enforced' : 'observed only';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The settings of one layer entry, flattened: enforcement's `limits: {name: bool}` becomes `limits.name`. */
function flatten(value: Record<string, unknown> | null): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, v] of Object.entries(value ?? {})) {
    if (isMapping(v)) for (const [k, inner] of Object.entries(v)) out.set(`${key}.${k}`, inner);
    else out.set(key, v);
  }
  return out;
}

/** Every setting that differs, one row each, in the API's order (layer, tenant) and then by setting. */
export function diffRows(changes: readonly TenantChange[]): DiffRow[] {
  const rows: DiffRow[] = [];
  for (const c of changes) {
    const switches = c.layer === 'runtime_enforcement';
    const before = flatten(c.before);
    const after = flatten(c.after);
    const settings = [...new Set([...before.keys(), ...after.keys()])].sort();
    const layer = LAYER_TEXT[c.layer] ?? c.layer;
    const changed = settings.filter(
      (s) => JSON.stringify(before.get(s) ?? null) !== JSON.stringify(after.get(s) ?? null),
    );
    // A whole entry added or removed with no settings of its own (e.g. `{}`) still shows as a change.
    if (changed.length === 0)
      rows.push({
        tenant: c.tenant,
        layer,
        setting: '(entry)',
        before: c.before ? 'set' : 'unset',
        after: c.after ? 'set' : 'unset',
      });
    for (const s of changed)
      rows.push({
        tenant: c.tenant,
        layer,
        setting: s,
        before: valueText(before.get(s), switches),
        after: valueText(after.get(s), switches),
      });
  }
  return rows;
}

/** How an actor reads: automatic changes (file, ConfigMap, restore) show as "system", people by name and role. */
export function actorText(
  actor: string,
  role: string | null | undefined,
): { who: string; via: string | null } {
  if (!role || role === 'system') return { who: 'system', via: actor };
  return { who: `${actor} (${role})`, via: null };
}

/** Why `role` may not roll back to `target` (null: it may). Mirrors the admin API's rules. */
export function rollbackBlocker(role: Role, target: number, current: number): string | null {
  if (role === 'viewer') return 'Rolling back needs the operator role; you are a viewer.';
  if (target === current) return `Version ${target} is the one in force.`;
  return null;
}

/** Why `role` may not import a configuration (null: it may). */
export function importBlocker(role: Role): string | null {
  return role === 'admin' ? null : `Importing a configuration needs the admin role; you are ${role}.`;
}

/** Sources no person acts through: the file and ConfigMap reloads, and the restore from STATE_DIR at start. */
const AUTOMATIC_SOURCES = new Set(['overrides_file', 'configmap', 'state']);

/** The actor of a version (whose summary carries no role): "system" for automatic sources. */
export function versionActor(v: Pick<VersionSummary, 'actor' | 'source'>): {
  who: string;
  via: string | null;
} {
  return AUTOMATIC_SOURCES.has(v.source) ? { who: 'system', via: v.actor } : { who: v.actor, via: null };
}
