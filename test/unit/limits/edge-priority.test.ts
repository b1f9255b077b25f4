// edge_priority, the edge's own limit for adaptive protection (docs/protection.md#shedding-by-priority): a whole
// number from 0 to 10 in the overrides file, 5 unless DEFAULT_EDGE_PRIORITY says otherwise; anything else is
// refused with the file, the tenant and the value named, as every other limit is.
import { describe, expect, it } from 'vitest';
import { limitDefinition, validateLimitValue } from '../../../src/limits/limit-definitions.js';
import { parseOverrides } from '../../../src/limits/overrides-file.js';
import { loadSettings } from '../../../src/settings/settings.js';

describe('edge_priority', () => {
  it('is read from the overrides file like any limit', () => {
    const parsed = parseOverrides(
      'overrides:\n  gold:\n    edge_priority: 10\n  bulk:\n    edge_priority: 0\n',
      'runtime.yaml',
    );
    expect(parsed.tenants.get('gold')).toEqual({ edge_priority: 10 });
    expect(parsed.tenants.get('bulk')).toEqual({ edge_priority: 0 });
    expect(parsed.ignoredLimits).toBe(0);
  });

  it.each([
    ['edge_priority: 11', 'overrides.t.edge_priority: must be <= 10, got 11'],
    ['edge_priority: -1', 'overrides.t.edge_priority: must be >= 0, got -1'],
    ['edge_priority: 2.5', 'overrides.t.edge_priority: must be a whole number, got 2.5'],
    ['edge_priority: high', 'overrides.t.edge_priority: must be a finite number, got "high"'],
  ])('refuses %j', (line, message) => {
    expect(() => parseOverrides(`overrides:\n  t:\n    ${line}\n`, 'runtime.yaml')).toThrow(message);
  });

  it('defaults to 5, and DEFAULT_EDGE_PRIORITY sets the default within 0..10', () => {
    expect(loadSettings({}, []).defaultLimits.edge_priority).toBe(5);
    expect(loadSettings({ DEFAULT_EDGE_PRIORITY: '9' }, []).defaultLimits.edge_priority).toBe(9);
    expect(() => loadSettings({ DEFAULT_EDGE_PRIORITY: '12' }, [])).toThrow(/DEFAULT_EDGE_PRIORITY/);
    const def = limitDefinition('edge_priority')!;
    expect([0, 5, 10].map((v) => validateLimitValue(def, v))).toEqual([undefined, undefined, undefined]);
  });
});
