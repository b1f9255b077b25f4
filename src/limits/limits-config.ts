// The versioned part of the limits: three per-tenant layers (the overrides file's limits, runtime limits and
// runtime enforcement switches) and the exact difference between two of them. Pure values: no I/O, no clock,
// and never mutates a config it is given (snapshots are shared with the hot path).

import type { LimitOverrides } from './overrides-file.js';
import type { Enforcement } from './tenant-limits.js';

export interface LimitsConfig {
  /** From Mimir's runtime overrides (file or ConfigMap). */
  readonly overrides: ReadonlyMap<string, LimitOverrides>;
  /** Set through the admin API: wins over `overrides`. */
  readonly runtimeOverrides: ReadonlyMap<string, LimitOverrides>;
  /** Set through the admin API: replaces the CONFIG_FILE switches of that tenant. */
  readonly runtimeEnforcement: ReadonlyMap<string, Enforcement>;
}

/** The layers by the names the API, the state files and the docs use. */
export const LAYERS = [
  { name: 'overrides_file', key: 'overrides' },
  { name: 'runtime_limits', key: 'runtimeOverrides' },
  { name: 'runtime_enforcement', key: 'runtimeEnforcement' },
] as const;

export type LayerName = (typeof LAYERS)[number]['name'];
export type LayerValue = LimitOverrides | Enforcement;

/** One tenant's entry in one layer, before and after (null: absent). */
export interface TenantChange {
  readonly layer: LayerName;
  readonly tenant: string;
  readonly before: LayerValue | null;
  readonly after: LayerValue | null;
}

export const EMPTY_CONFIG: LimitsConfig = Object.freeze({
  overrides: new Map(),
  runtimeOverrides: new Map(),
  runtimeEnforcement: new Map(),
});

/** JSON with object keys sorted, so equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function sameValue(a: LayerValue | undefined, b: LayerValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return canonicalJson(a) === canonicalJson(b);
}

function layerOf(config: LimitsConfig, name: LayerName): ReadonlyMap<string, LayerValue> {
  const key = LAYERS.find((l) => l.name === name)!.key;
  return config[key];
}

/** Every tenant entry that differs between `from` and `to`, in a stable order (layer, then tenant). */
export function diffConfigs(from: LimitsConfig, to: LimitsConfig): TenantChange[] {
  const changes: TenantChange[] = [];
  for (const { name, key } of LAYERS) {
    const a: ReadonlyMap<string, LayerValue> = from[key];
    const b: ReadonlyMap<string, LayerValue> = to[key];
    if (a === b) continue;
    const tenants = new Set([...a.keys(), ...b.keys()]);
    for (const tenant of [...tenants].sort()) {
      const before = a.get(tenant);
      const after = b.get(tenant);
      if (!sameValue(before, after))
        changes.push({ layer: name, tenant, before: before ?? null, after: after ?? null });
    }
  }
  return changes;
}

/** `config` with `changes` applied forwards (to each `after`) or backwards (to each `before`). */
export function applyChanges(
  config: LimitsConfig,
  changes: readonly TenantChange[],
  direction: 'forward' | 'backward',
): LimitsConfig {
  if (changes.length === 0) return config;
  const copies = new Map<LayerName, Map<string, LayerValue>>();
  for (const change of changes) {
    let layer = copies.get(change.layer);
    if (!layer) {
      layer = new Map(layerOf(config, change.layer));
      copies.set(change.layer, layer);
    }
    const value = direction === 'forward' ? change.after : change.before;
    if (value === null) layer.delete(change.tenant);
    else layer.set(change.tenant, value);
  }
  const pick = <V extends LayerValue>(name: LayerName, current: ReadonlyMap<string, V>) =>
    (copies.get(name) as ReadonlyMap<string, V> | undefined) ?? current;
  return {
    overrides: pick('overrides_file', config.overrides),
    runtimeOverrides: pick('runtime_limits', config.runtimeOverrides),
    runtimeEnforcement: pick('runtime_enforcement', config.runtimeEnforcement),
  };
}

/** The same layers with every layer value frozen, so a config handed to the hot path cannot be changed. */
export function freezeConfig(config: LimitsConfig): LimitsConfig {
  const freezeLayer = <V extends LayerValue>(layer: ReadonlyMap<string, V>): ReadonlyMap<string, V> => {
    for (const value of layer.values()) {
      if ('enabled' in value) Object.freeze(value.limits);
      Object.freeze(value);
    }
    return layer;
  };
  return Object.freeze({
    overrides: freezeLayer(config.overrides),
    runtimeOverrides: freezeLayer(config.runtimeOverrides),
    runtimeEnforcement: freezeLayer(config.runtimeEnforcement),
  });
}
