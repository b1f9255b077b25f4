// Reads Mimir's runtime-overrides YAML (the `overrides:` map Mimir itself reads) into per-tenant limits.
// Limits the edge does not enforce are accepted and ignored, because the same file carries all of Mimir's
// limits; a limit the edge does enforce with a bad value rejects the whole file.

import { parseDocument } from 'yaml';
import { ConfigError } from '../lib/config-error.js';
import { limitDefinition, limitValue, validateLimitValue } from './limit-definitions.js';
import type { LimitName, LimitValue, LimitValueOf } from './limit-definitions.js';
import { tenantIdProblem } from '../lib/identify/tenant-id.js';
import { isMapping } from '../lib/is-mapping.js';

export type LimitOverrides = { [N in LimitName]?: LimitValueOf<N> };
/** LimitOverrides seen as one value type, for code that walks every limit by name. */
export type AnyLimitOverrides = Partial<Record<LimitName, LimitValue>>;

export interface ParsedOverrides {
  /** Tenant id → the limits the file sets for it (only the limits the edge enforces). */
  tenants: Map<string, LimitOverrides>;
  /** How many (tenant, limit) entries were Mimir limits the edge does not enforce. */
  ignoredLimits: number;
}

export function parseOverrides(text: string, source: string): ParsedOverrides {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? `line ${first.linePos[0].line}, column ${first.linePos[0].col}` : '';
    throw new ConfigError(source, where, `invalid YAML: ${first.message.split('\n')[0]}`);
  }
  const root: unknown = doc.toJS();
  const tenants = new Map<string, LimitOverrides>();
  if (root === null || root === undefined) return { tenants, ignoredLimits: 0 };
  if (!isMapping(root))
    throw new ConfigError(source, '', 'the top level must be a mapping with an `overrides:` key');
  return parseOverridesMapping(root.overrides, source, 'overrides');
}

/**
 * Reads the `overrides:` mapping (tenant id → limits) found at `path` in `source`. Limits the edge does
 * not enforce are counted and ignored; a bad tenant id or value throws a ConfigError naming its path.
 */
export function parseOverridesMapping(overrides: unknown, source: string, path: string): ParsedOverrides {
  const tenants = new Map<string, LimitOverrides>();
  if (overrides === null || overrides === undefined) return { tenants, ignoredLimits: 0 };
  if (!isMapping(overrides)) throw new ConfigError(source, path, 'must be a mapping of tenant id to limits');

  let ignoredLimits = 0;
  for (const [tenant, limits] of Object.entries(overrides)) {
    const problem = tenantIdProblem(tenant);
    if (problem) throw new ConfigError(source, `${path}.${tenant}`, `invalid tenant id: ${problem}`);
    const parsed: AnyLimitOverrides = {};
    if (limits !== null && limits !== undefined) {
      if (!isMapping(limits))
        throw new ConfigError(source, `${path}.${tenant}`, 'must be a mapping of limit names');
      for (const [name, value] of Object.entries(limits)) {
        const def = limitDefinition(name);
        if (!def) {
          ignoredLimits++;
          continue;
        }
        const error = validateLimitValue(def, value);
        if (error) throw new ConfigError(source, `${path}.${tenant}.${name}`, error);
        parsed[def.name] = limitValue(def, value);
      }
    }
    tenants.set(tenant, parsed as LimitOverrides);
  }
  return { tenants, ignoredLimits };
}
