// Rollback restores exactly version n, whatever happened before and after it: for any sequence of changes
// to any layer, the limits the proxy would enforce after `rollback(n)` equal those right after version n,
// also once old versions have been folded away, and also after the history is saved and read back.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigHistory } from '../../../src/limits/config-history.js';
import type { ChangeMeta } from '../../../src/limits/config-history.js';
import { EMPTY_CONFIG, canonicalJson } from '../../../src/limits/limits-config.js';
import type { LimitsConfig } from '../../../src/limits/limits-config.js';
import { LimitsRegistry } from '../../../src/limits/limits-registry.js';
import type { LimitOverrides } from '../../../src/limits/overrides-file.js';
import type { Enforcement, TenantLimits } from '../../../src/limits/tenant-limits.js';
import { StateDirectory } from '../../../src/limits/state-file.js';

const DEFAULTS = {
  ingestion_rate: 10_000,
  ingestion_burst_size: 200_000,
  request_rate: 0,
  request_burst_size: 0,
  max_label_names_per_series: 30,
  max_label_name_length: 1024,
  max_label_value_length: 2048,
  max_body_bytes: 52_428_800,
  max_series_per_request: 1_000_000,
} as unknown as TenantLimits;
const TENANTS = ['a', 'b', 'c', 'd'];

const API: ChangeMeta = {
  actor: 'test',
  role: 'operator',
  source: 'api',
  reason: null,
  action: 't',
  tenant: null,
};

const overrides = fc.dictionary(
  fc.constantFrom(...TENANTS),
  fc.record(
    {
      ingestion_rate: fc.integer({ min: 0, max: 100 }),
      max_series_per_request: fc.integer({ min: 0, max: 9 }),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<LimitOverrides>,
  { maxKeys: 3 },
);
const enforcement = fc.dictionary(
  fc.constantFrom(...TENANTS),
  fc.record({
    enabled: fc.boolean(),
    limits: fc.record({ ingestion_rate: fc.boolean() }, { requiredKeys: [] }),
  }) as fc.Arbitrary<Enforcement>,
  { maxKeys: 2 },
);

/** One step: a new content for one layer, as a file reload or an API write would make. */
const step = fc.oneof(
  overrides.map((o) => ({ layer: 'overrides' as const, value: o })),
  overrides.map((o) => ({ layer: 'runtimeOverrides' as const, value: o })),
  enforcement.map((e) => ({ layer: 'runtimeEnforcement' as const, value: e })),
);

type Step = { layer: keyof LimitsConfig; value: Record<string, unknown> };

function applyStep(registry: LimitsRegistry, s: Step): void {
  registry.commit({ ...registry.config(), [s.layer]: new Map(Object.entries(s.value)) }, API);
}

/** What the hot path sees for every tenant: the comparison a user would notice. */
function behaviour(registry: LimitsRegistry): string {
  return canonicalJson(TENANTS.map((t) => registry.forTenant(t)));
}

describe('config history', () => {
  it('rollback(n) restores exactly the limits in force right after version n', () => {
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 25 }),
        fc.nat(),
        fc.integer({ min: 1, max: 30 }),
        (steps, pick, retain) => {
          const registry = new LimitsRegistry(DEFAULTS, new Map(), {
            history: new ConfigHistory(retain),
            now: () => 0,
          });
          const seen = new Map<number, string>();
          for (const s of steps as Step[]) {
            applyStep(registry, s);
            seen.set(registry.current().version, behaviour(registry));
          }
          const oldest = registry.history.oldest;
          if (oldest === undefined) return;
          const latest = registry.history.latest;
          const n = oldest + (pick % (latest - oldest + 1));
          const before = registry.current().version;
          const rolled = registry.rollback(n, { ...API, source: 'rollback' });
          expect(behaviour(registry)).toBe(seen.get(n));
          // A rollback is itself a new version, unless version n's configuration is already in force.
          expect(registry.current().version).toBe(rolled ? before + 1 : before);
          // Versions never shrink past the retained count.
          expect(registry.history.all().length).toBeLessThanOrEqual(retain);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads back every version answered for, when changes come while a save is in flight', async () => {
    // A change committed while the previous save awaits its append must be appended by the next save: the
    // file once skipped it, and a restart lost that version (config-restart's kill -9 run under load).
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(step, fc.integer({ min: 0, max: 3 })), { minLength: 2, maxLength: 10 }),
        async (timed) => {
          const dir = mkdtempSync(join(tmpdir(), 'config-history-inflight-'));
          const state = new StateDirectory(dir);
          await state.load();
          const registry = new LimitsRegistry(DEFAULTS, new Map(), { now: () => 1 });
          registry.setPersistence(state);
          for (const [s, waitMs] of timed as [Step, number][]) {
            applyStep(registry, s);
            // 0: the next change before the save starts; more: while it writes the state or appends (file
            // operations run on the thread pool, so only real time lands a change inside one).
            if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs - 1));
          }
          await registry.saved();
          const loaded = await new StateDirectory(dir).load();
          expect(loaded.history.all().map((v) => v.version)).toEqual(
            registry.history.all().map((v) => v.version),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads back from STATE_DIR the same versions, and the same configuration at each', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 2, max: 8 }),
        async (steps, retain) => {
          const dir = mkdtempSync(join(tmpdir(), 'config-history-'));
          const state = new StateDirectory(dir, retain);
          await state.load();
          const registry = new LimitsRegistry(DEFAULTS, new Map(), {
            history: new ConfigHistory(retain),
            now: () => 1,
          });
          registry.setPersistence(state);
          for (const s of steps as Step[]) applyStep(registry, s);
          await registry.saved();

          const loaded = await new StateDirectory(dir, retain).load();
          expect(loaded.warnings).toEqual([]);
          expect(loaded.history.latest).toBe(registry.history.latest);
          expect(loaded.history.all().map((v) => v.version)).toEqual(
            registry.history.all().map((v) => v.version),
          );
          for (const v of registry.history.all())
            expect(canonicalJson(toJson(loaded.history.configAt(v.version)!))).toBe(
              canonicalJson(toJson(registry.history.configAt(v.version)!)),
            );
          expect(canonicalJson(toJson({ ...(loaded.runtime ?? EMPTY_CONFIG), overrides: new Map() }))).toBe(
            canonicalJson(toJson({ ...registry.config(), overrides: new Map() })),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

function toJson(config: LimitsConfig) {
  return {
    overrides: Object.fromEntries(config.overrides),
    runtimeOverrides: Object.fromEntries(config.runtimeOverrides),
    runtimeEnforcement: Object.fromEntries(config.runtimeEnforcement),
  };
}
