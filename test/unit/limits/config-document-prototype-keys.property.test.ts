// Property: whatever the tenant ids, including the names Object.prototype already has (`__proto__`,
// `constructor`, `hasOwnProperty`, …, all valid Mimir tenant ids), a configuration survives every form it is
// written in: the YAML export read back by import, and the STATE_DIR files read back at start.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergePartial, parseConfigText, toYaml } from '../../../src/limits/config-document.js';
import { ConfigHistory } from '../../../src/limits/config-history.js';
import { EMPTY_CONFIG, diffConfigs } from '../../../src/limits/limits-config.js';
import type { LimitsConfig } from '../../../src/limits/limits-config.js';
import type { LimitOverrides } from '../../../src/limits/overrides-file.js';
import { StateDirectory } from '../../../src/limits/state-file.js';
import type { Enforcement } from '../../../src/limits/tenant-limits.js';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

const tenant = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/));
const limits = fc
  .record(
    {
      ingestion_rate: fc.integer({ min: 0, max: 1e9 }),
      max_series_per_request: fc.integer({ min: 0, max: 1e6 }),
    },
    { requiredKeys: [] },
  )
  .filter((l) => Object.keys(l).length > 0) as fc.Arbitrary<LimitOverrides>;
const switches = fc.record({
  enabled: fc.boolean(),
  limits: fc.record({ ingestion_rate: fc.boolean() }, { requiredKeys: [] }),
}) as fc.Arbitrary<Enforcement>;
const layer = <V>(value: fc.Arbitrary<V>) =>
  fc.uniqueArray(fc.tuple(tenant, value), { selector: ([t]) => t, maxLength: 6 }).map((e) => new Map(e));

const config: fc.Arbitrary<LimitsConfig> = fc.record({
  overrides: layer(limits),
  runtimeOverrides: layer(limits),
  runtimeEnforcement: layer(switches),
});

const runtimeOnly = (c: LimitsConfig): LimitsConfig => ({ ...c, overrides: new Map() });

describe('tenant ids named like Object.prototype members', () => {
  it('survive export → import', () => {
    fc.assert(
      fc.property(config, (c) => {
        const back = mergePartial(EMPTY_CONFIG, parseConfigText(toYaml(c, 3, 'test'), 'import'));
        expect(diffConfigs(c, back)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('survive STATE_DIR save → load (runtime layers and history)', async () => {
    await fc.assert(
      fc.asyncProperty(config, async (c) => {
        const dir = mkdtempSync(join(tmpdir(), 'edge-proto-state-'));
        const history = new ConfigHistory();
        const changes = diffConfigs(EMPTY_CONFIG, runtimeOnly(c));
        const meta = {
          actor: 't',
          role: null,
          source: 'api',
          reason: null,
          action: 'x',
          tenant: null,
        } as const;
        history.record(meta, changes, 1);
        await new StateDirectory(dir).save(history, runtimeOnly(c));
        const loaded = await new StateDirectory(dir).load();
        expect(diffConfigs(runtimeOnly(c), loaded.runtime!)).toEqual([]);
        expect(diffConfigs(runtimeOnly(c), loaded.history.configAt(1)!)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
