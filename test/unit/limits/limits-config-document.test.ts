// The export format round-trips: any configuration exported as YAML imports back to the same configuration
// (so an export is a complete backup), and Mimir can read the `overrides:` part as its own runtime overrides.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergePartial, parseConfigText, toYaml } from '../../../src/limits/config-document.js';
import { EMPTY_CONFIG, canonicalJson, diffConfigs } from '../../../src/limits/limits-config.js';
import type { LimitsConfig } from '../../../src/limits/limits-config.js';
import { parseOverrides } from '../../../src/limits/overrides-file.js';
import type { LimitOverrides } from '../../../src/limits/overrides-file.js';
import type { Enforcement } from '../../../src/limits/tenant-limits.js';

const tenant = fc.constantFrom('team-a', 'team-b', 'x_1', 'a.b');
const limits = fc.record(
  {
    ingestion_rate: fc.double({ min: 0, max: 1e9, noNaN: true }),
    ingestion_burst_size: fc.integer({ min: 0, max: 1e9 }),
    max_series_per_request: fc.integer({ min: 0, max: 1e6 }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<LimitOverrides>;
const switches = fc.record({
  enabled: fc.boolean(),
  limits: fc.record({ ingestion_rate: fc.boolean(), max_body_bytes: fc.boolean() }, { requiredKeys: [] }),
}) as fc.Arbitrary<Enforcement>;
const config: fc.Arbitrary<LimitsConfig> = fc.record({
  overrides: fc.dictionary(tenant, limits).map((d) => new Map(Object.entries(d))),
  runtimeOverrides: fc
    .dictionary(
      tenant,
      limits.filter((l) => Object.keys(l).length > 0),
    )
    .map((d) => new Map(Object.entries(d))),
  runtimeEnforcement: fc.dictionary(tenant, switches).map((d) => new Map(Object.entries(d))),
});

describe('config document', () => {
  it('imports an export back to exactly the same configuration', () => {
    fc.assert(
      fc.property(config, (c) => {
        const text = toYaml(c, 7, 'test export');
        const back = mergePartial(EMPTY_CONFIG, parseConfigText(text, 'import'));
        expect(diffConfigs(c, back)).toEqual([]);
        // Mimir's own reader sees the same overrides.
        expect(canonicalJson(Object.fromEntries(parseOverrides(text, 'mimir').tenants))).toBe(
          canonicalJson(Object.fromEntries(c.overrides)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the layers a document does not name', () => {
    const base = mergePartial(EMPTY_CONFIG, parseConfigText('overrides: {team-a: {ingestion_rate: 5}}', 't'));
    const next = mergePartial(base, parseConfigText('runtime: {limits: {team-b: {ingestion_rate: 1}}}', 't'));
    expect(next.overrides.get('team-a')).toEqual({ ingestion_rate: 5 });
    expect(next.runtimeOverrides.get('team-b')).toEqual({ ingestion_rate: 1 });
  });
});
