// The limits that hold text or lists (drop_labels, ha_cluster_label, ha_replica_label,
// ha_tracker_failover_timeout) and the HA switches: read from Mimir's runtime overrides as Mimir writes them,
// refused with the path named when wrong, round-tripped by export/import, and typed the same way in the UI.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequest } from '../../../src/admin/http-errors.js';
import { parseLimitChanges } from '../../../src/admin/write-routes.js';
import { parseConfigText, toYaml } from '../../../src/limits/config-document.js';
import { ConfigError } from '../../../src/lib/config-error.js';
import {
  LIMIT_DEFINITIONS,
  durationMs,
  limitDefinition,
  validateLimitValue,
} from '../../../src/limits/limit-definitions.js';
import { LimitsRegistry } from '../../../src/limits/limits-registry.js';
import { parseOverrides } from '../../../src/limits/overrides-file.js';
import type { TenantLimits } from '../../../src/limits/tenant-limits.js';
import { parseLimitInput } from '../../../ui/src/logic/limit-edits.js';
import type { LimitDefinition as UiDefinition } from '../../../ui/src/logic/limit-edits.js';

const DEFAULTS = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue])) as TenantLimits;

const MIMIR_OVERRIDES = `
overrides:
  team-a:
    accept_ha_samples: true
    ha_cluster_label: prom_cluster
    ha_replica_label: prom_replica
    ha_max_clusters: 5
    ha_tracker_failover_timeout: 1m30s
    drop_labels: [pod, instance]
    ingestion_rate: 5000
`;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('text and list limits', () => {
  it("has Mimir's defaults", () => {
    expect(DEFAULTS.drop_labels).toEqual([]);
    expect(DEFAULTS.accept_ha_samples).toBe(0);
    expect(DEFAULTS.ha_cluster_label).toBe('cluster');
    expect(DEFAULTS.ha_replica_label).toBe('__replica__');
    expect(DEFAULTS.ha_max_clusters).toBe(100);
    expect(DEFAULTS.ha_tracker_failover_timeout).toBe('30s');
  });

  it("reads Mimir's runtime overrides keys and resolves them for the tenant", () => {
    const parsed = parseOverrides(MIMIR_OVERRIDES, 'overrides.yaml');
    const registry = new LimitsRegistry(DEFAULTS);
    registry.setOverrides(parsed.tenants);
    const l = registry.forTenant('team-a').limits;
    expect(l.accept_ha_samples).toBe(1);
    expect(l.ha_cluster_label).toBe('prom_cluster');
    expect(l.ha_replica_label).toBe('prom_replica');
    expect(l.ha_max_clusters).toBe(5);
    expect(l.ha_tracker_failover_timeout).toBe('1m30s');
    expect(l.drop_labels).toEqual(['pod', 'instance']);
    expect(l.ingestion_rate).toBe(5000);
    // Another tenant keeps the defaults.
    expect(registry.forTenant('team-b').limits.drop_labels).toEqual([]);
  });

  it('refuses a bad value naming its path', () => {
    const bad: [string, string][] = [
      ['drop_labels: pod', 'overrides.t.drop_labels'],
      ['drop_labels: [pod, "9bad"]', 'overrides.t.drop_labels'],
      ['ha_cluster_label: ""', 'overrides.t.ha_cluster_label'],
      ['ha_replica_label: 5', 'overrides.t.ha_replica_label'],
      ['ha_tracker_failover_timeout: 30', 'overrides.t.ha_tracker_failover_timeout'],
      ['ha_tracker_failover_timeout: soon', 'overrides.t.ha_tracker_failover_timeout'],
      ['accept_ha_samples: maybe', 'overrides.t.accept_ha_samples'],
      ['ha_max_clusters: -1', 'overrides.t.ha_max_clusters'],
    ];
    for (const [line, path] of bad) {
      const err = thrown(() => parseOverrides(`overrides:\n  t:\n    ${line}\n`, 'f.yaml'));
      expect(err, line).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).path, line).toBe(path);
    }
  });

  it('round-trips through export and import unchanged, in the form Mimir reads', () => {
    const registry = new LimitsRegistry(DEFAULTS);
    registry.setOverrides(parseOverrides(MIMIR_OVERRIDES, 'o').tenants);
    const yaml = toYaml(registry.config(), registry.current().version, 'export');
    expect(yaml).toContain('ha_tracker_failover_timeout: 1m30s');
    expect(yaml).toMatch(/drop_labels:\s*\n\s*- pod\n\s*- instance/);
    const back = parseConfigText(yaml, 'export.yaml');
    expect(back.overrides?.get('team-a')).toEqual(registry.config().overrides.get('team-a'));
  });

  it('admin API: takes words, label names, lists and durations; a bad one is a 400 naming limits.<name>', () => {
    const { changes } = parseLimitChanges({
      limits: {
        accept_ha_samples: 'true',
        drop_labels: ['pod', 'pod', 'node'],
        ha_replica_label: 'replica',
        ha_tracker_failover_timeout: '500ms',
        ha_max_clusters: null,
      },
    });
    expect(changes).toEqual({
      accept_ha_samples: 1,
      drop_labels: ['pod', 'node'],
      ha_replica_label: 'replica',
      ha_tracker_failover_timeout: '500ms',
      ha_max_clusters: null,
    });
    const cases: [unknown, string][] = [
      [{ drop_labels: 'pod' }, 'limits.drop_labels'],
      [{ ha_cluster_label: 'a-b' }, 'limits.ha_cluster_label'],
      [{ ha_tracker_failover_timeout: 30 }, 'limits.ha_tracker_failover_timeout'],
    ];
    for (const [limits, path] of cases) {
      const err = thrown(() => parseLimitChanges({ limits }));
      expect(err).toBeInstanceOf(BadRequest);
      expect((err as BadRequest).path).toBe(path);
    }
  });

  it('reads Go durations as Mimir does', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('1m30s')).toBe(90_000);
    expect(durationMs('250ms')).toBe(250);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('1.5s')).toBe(1500);
    for (const bad of ['', '30', 's', '-1s', '1d', '1s ']) expect(durationMs(bad), bad).toBeUndefined();
  });

  it('UI editor accepts exactly what the server accepts for text limits (property)', () => {
    const ui = (name: string): UiDefinition => {
      const d = limitDefinition(name)!;
      return { name, kind: d.kind, default: d.defaultValue, zero_means: null, description: '' };
    };
    const text = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/),
      fc.stringMatching(/^[0-9]{1,3}(ms|s|m|h)$/),
    );
    fc.assert(
      fc.property(fc.constantFrom('ha_cluster_label', 'ha_tracker_failover_timeout'), text, (name, value) => {
        const typed = parseLimitInput(ui(name), value);
        const server = validateLimitValue(limitDefinition(name)!, value.trim());
        expect(typeof typed === 'string', `${name}=${JSON.stringify(value)}`).toBe(server === undefined);
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), { minLength: 1, maxLength: 4 }),
        (names) => {
          expect(parseLimitInput(ui('drop_labels'), names.join(', '))).toEqual([...new Set(names)]);
        },
      ),
    );
    expect(parseLimitInput(ui('drop_labels'), '-')).toEqual([]);
    expect(parseLimitInput(ui('drop_labels'), 'pod, 9x')).toHaveProperty('error');
  });
});
