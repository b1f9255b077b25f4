// The whole limits configuration as a document: what export writes, import and the state files read.
// `overrides:` is Mimir's own runtime-overrides format, so an export can be handed to Mimir as it is.
// Reading validates everything first and throws a ConfigError naming the path; it never returns half a config.

import { parseDocument, stringify } from 'yaml';
import { ConfigError } from '../lib/config-error.js';
import { LIMIT_NAMES, limitDefinition, limitValue, validateLimitValue } from './limit-definitions.js';
import type { LimitName } from './limit-definitions.js';
import type { LimitsConfig } from './limits-config.js';
import type { AnyLimitOverrides, LimitOverrides } from './overrides-file.js';
import { parseOverridesMapping } from './overrides-file.js';
import type { Enforcement } from './tenant-limits.js';
import { tenantIdProblem } from '../lib/identify/tenant-id.js';
import { isMapping } from '../lib/is-mapping.js';

/** The document form: plain objects keyed by tenant, ready for JSON or YAML. */
export interface ConfigDocument {
  version?: number;
  overrides: Record<string, LimitOverrides>;
  runtime: {
    limits: Record<string, LimitOverrides>;
    enforcement: Record<string, { enabled: boolean; limits: Partial<Record<LimitName, boolean>> }>;
  };
}

/** The layers a document names; a layer the document leaves out is undefined (import keeps it as it is). */
export type PartialConfig = { -readonly [K in keyof LimitsConfig]?: LimitsConfig[K] };

/**
 * Without a prototype: a tenant may be named `__proto__` (a valid Mimir id), which `out[key] = v` on a plain
 * object would turn into a prototype change instead of a key. JSON and YAML write its own keys as they are.
 */
function sortedRecord<V>(map: ReadonlyMap<string, V>): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  for (const key of [...map.keys()].sort()) out[key] = map.get(key)!;
  return out;
}

export function toDocument(config: LimitsConfig, version?: number): ConfigDocument {
  return {
    ...(version === undefined ? {} : { version }),
    overrides: sortedRecord(config.overrides),
    runtime: {
      limits: sortedRecord(config.runtimeOverrides),
      enforcement: sortedRecord(config.runtimeEnforcement) as ConfigDocument['runtime']['enforcement'],
    },
  };
}

export function toYaml(config: LimitsConfig, version: number, header: string): string {
  return `${header
    .split('\n')
    .map((line) => `# ${line}`)
    .join('\n')}\n${stringify(toDocument(config, version))}`;
}

function checkTenant(source: string, path: string, tenant: string): void {
  const problem = tenantIdProblem(tenant);
  if (problem) throw new ConfigError(source, `${path}.${tenant}`, `invalid tenant id: ${problem}`);
}

/** Runtime limits are the edge's own: unlike Mimir's file, an unknown limit name is an error, not ignored. */
function readRuntimeLimits(value: unknown, source: string, path: string): Map<string, LimitOverrides> {
  const out = new Map<string, LimitOverrides>();
  if (value === null || value === undefined) return out;
  if (!isMapping(value)) throw new ConfigError(source, path, 'must be a mapping of tenant id to limits');
  for (const [tenant, limits] of Object.entries(value)) {
    checkTenant(source, path, tenant);
    if (!isMapping(limits) || Object.keys(limits).length === 0)
      throw new ConfigError(
        source,
        `${path}.${tenant}`,
        'must be a non-empty mapping of limit names to values',
      );
    const parsed: AnyLimitOverrides = {};
    for (const [name, v] of Object.entries(limits)) {
      const def = limitDefinition(name);
      if (!def)
        throw new ConfigError(
          source,
          `${path}.${tenant}.${name}`,
          `is not a limit the edge enforces (known: ${LIMIT_NAMES.join(', ')})`,
        );
      const error = validateLimitValue(def, v);
      if (error) throw new ConfigError(source, `${path}.${tenant}.${name}`, error);
      parsed[def.name] = limitValue(def, v);
    }
    out.set(tenant, parsed as LimitOverrides);
  }
  return out;
}

function readEnforcement(value: unknown, source: string, path: string): Map<string, Enforcement> {
  const out = new Map<string, Enforcement>();
  if (value === null || value === undefined) return out;
  if (!isMapping(value)) throw new ConfigError(source, path, 'must be a mapping of tenant id to switches');
  for (const [tenant, sw] of Object.entries(value)) {
    checkTenant(source, path, tenant);
    const at = `${path}.${tenant}`;
    if (!isMapping(sw)) throw new ConfigError(source, at, 'must be a mapping {enabled: true, limits: {...}}');
    for (const key of Object.keys(sw))
      if (key !== 'enabled' && key !== 'limits')
        throw new ConfigError(source, `${at}.${key}`, 'unknown field (expected enabled, limits)');
    if (typeof sw.enabled !== 'boolean')
      throw new ConfigError(source, `${at}.enabled`, 'must be true or false');
    const limits: Partial<Record<LimitName, boolean>> = {};
    if (sw.limits !== undefined && sw.limits !== null) {
      if (!isMapping(sw.limits))
        throw new ConfigError(source, `${at}.limits`, 'must be a mapping of limit names to true/false');
      for (const [name, on] of Object.entries(sw.limits)) {
        const def = limitDefinition(name);
        if (!def) throw new ConfigError(source, `${at}.limits.${name}`, 'is not a limit the edge enforces');
        if (typeof on !== 'boolean')
          throw new ConfigError(source, `${at}.limits.${name}`, 'must be true or false');
        limits[def.name] = on;
      }
    }
    out.set(tenant, { enabled: sw.enabled, limits });
  }
  return out;
}

/** Reads a parsed document (from YAML or JSON). Layers it does not name are left undefined. */
export function fromDocument(root: unknown, source: string): PartialConfig {
  if (!isMapping(root))
    throw new ConfigError(source, '', 'must be a mapping with `overrides:` and/or `runtime:`');
  for (const key of Object.keys(root))
    if (key !== 'overrides' && key !== 'runtime' && key !== 'version')
      throw new ConfigError(source, key, 'unknown key (expected overrides, runtime)');
  const config: PartialConfig = {};
  if ('overrides' in root)
    config.overrides = parseOverridesMapping(root.overrides, source, 'overrides').tenants;
  if ('runtime' in root) {
    const runtime = root.runtime;
    if (!isMapping(runtime))
      throw new ConfigError(source, 'runtime', 'must be a mapping with `limits:` and/or `enforcement:`');
    for (const key of Object.keys(runtime))
      if (key !== 'limits' && key !== 'enforcement')
        throw new ConfigError(source, `runtime.${key}`, 'unknown key (expected limits, enforcement)');
    if ('limits' in runtime)
      config.runtimeOverrides = readRuntimeLimits(runtime.limits, source, 'runtime.limits');
    if ('enforcement' in runtime)
      config.runtimeEnforcement = readEnforcement(runtime.enforcement, source, 'runtime.enforcement');
  }
  return config;
}

/** Parses YAML (or JSON, which is YAML) text into the layers it names. */
export function parseConfigText(text: string, source: string): PartialConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? `line ${first.linePos[0].line}, column ${first.linePos[0].col}` : '';
    throw new ConfigError(source, where, `invalid YAML: ${first.message.split('\n')[0]}`);
  }
  let root: unknown;
  try {
    // toJS resolves aliases: an undefined one, or more than yaml's alias budget (a "billion laughs"
    // document), throws here rather than while parsing.
    root = doc.toJS();
  } catch (err) {
    throw new ConfigError(source, '', `invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return fromDocument(root, source);
}

/** `base` with the layers `partial` names replaced. */
export function mergePartial(base: LimitsConfig, partial: PartialConfig): LimitsConfig {
  return {
    overrides: partial.overrides ?? base.overrides,
    runtimeOverrides: partial.runtimeOverrides ?? base.runtimeOverrides,
    runtimeEnforcement: partial.runtimeEnforcement ?? base.runtimeEnforcement,
  };
}
