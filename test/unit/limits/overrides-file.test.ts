import { describe, expect, it } from 'vitest';
import { parseOverrides } from '../../../src/limits/overrides-file.js';

describe('Mimir runtime-overrides file', () => {
  it('reads the limits the edge enforces and ignores the rest of Mimir’s limits', () => {
    const parsed = parseOverrides(
      `
overrides:
  team-a:
    ingestion_rate: 1500.5
    ingestion_burst_size: 30000
    max_fetched_chunks_per_query: 2000000
    compactor_blocks_retention_period: 30d
  team-b: {}
multi_kv_config: {}
`,
      'runtime.yaml',
    );
    expect(parsed.tenants.get('team-a')).toEqual({ ingestion_rate: 1500.5, ingestion_burst_size: 30000 });
    expect(parsed.tenants.get('team-b')).toEqual({});
    expect(parsed.ignoredLimits).toBe(2);
  });

  it.each([
    [
      'overrides:\n  team-a:\n    ingestion_rate: fast\n',
      'runtime.yaml: overrides.team-a.ingestion_rate: must be a finite number, got "fast"',
    ],
    [
      'overrides:\n  team-a:\n    ingestion_burst_size: 10.5\n',
      'overrides.team-a.ingestion_burst_size: must be a whole number, got 10.5',
    ],
    ['overrides:\n  team-a:\n    request_rate: -1\n', 'overrides.team-a.request_rate: must be >= 0, got -1'],
    ['overrides:\n  "a/b":\n    request_rate: 1\n', 'overrides.a/b: invalid tenant id'],
    ['overrides: [1, 2]\n', 'overrides: must be a mapping'],
    ['overrides:\n  team-a: [1]\n', 'overrides.team-a: must be a mapping'],
    ['overrides:\n  team-a:\n    ingestion_rate: 1\n  team-a:\n    ingestion_rate: 2\n', 'line 4'],
    ['overrides:\n  team-a:\n   ingestion_rate: 1\n    bad: indent\n', 'invalid YAML'],
  ])('refuses %j with a precise error', (text, message) => {
    expect(() => parseOverrides(text, 'runtime.yaml')).toThrow(message);
  });

  it('treats an empty file as no overrides', () => {
    expect(parseOverrides('', 'x').tenants.size).toBe(0);
    expect(parseOverrides('overrides:\n', 'x').tenants.size).toBe(0);
  });
});
