// Each setting's kind is the type loadSettings gives it: every definition, set on its own to a value of
// its kind, turns up in Settings as that value with that type; a bad value of each kind, from each source,
// is a ConfigError naming the source, the setting and the value; and the compiler sees the same types.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError } from '../../../src/lib/config-error.js';
import { SERVICE_SETTING_DEFINITIONS, SETTING_DEFINITIONS } from '../../../src/settings/definitions/index.js';
import { flagName, parseValue } from '../../../src/settings/setting-kinds.js';
import type { SettingDefinition } from '../../../src/settings/setting-kinds.js';
import { loadSettings } from '../../../src/settings/settings.js';
import type { DenialLogMode, SettingValueOf } from '../../../src/settings/settings.js';
import type { StoreKind } from '../../../src/settings/postgres-settings.js';

const definitions: [string, SettingDefinition][] = Object.entries(SERVICE_SETTING_DEFINITIONS);
const dir = mkdtempSync(join(tmpdir(), 'setting-kinds-'));
const emptyConfigFile = join(dir, 'empty.yaml');
writeFileSync(emptyConfigFile, '');

/** Values a setting of that kind takes, where its format is more than its kind (checked in loadSettings). */
const PROBE_TEXT: Record<string, string> = {
  JWT_JWKS_URL: 'https://issuer.example/jwks.json',
  POSTGRES_TABLE: 'probe_buckets',
  POLICY_HEADERS: 'legacy, x-ratelimit',
  TRUSTED_PROXIES: '10.0.0.1, 10.1.0.0/16',
  REDIS_ADDRESS: 'probe:7000',
  CONFIG_FILE: emptyConfigFile,
  COST_PRICE_PER_MILLION_SAMPLES: '1.5',
  COST_PRICE_PER_GIB: '0.25',
  COST_CURRENCY: 'EUR',
  BURST_FACTOR: '2.5',
  // Must stay longer than BURST_WINDOW (5m by default).
  BURST_BASELINE: '48h',
};
/** Settings read into a shape other than their own value (and the value expected there). */
const PROBE_EXPECTED: Record<string, unknown> = {
  REDIS_ADDRESS: [{ host: 'probe', port: 7000 }],
  COST_PRICE_PER_MILLION_SAMPLES: 1.5,
  COST_PRICE_PER_GIB: 0.25,
  BURST_FACTOR: 2.5,
  BURST_BASELINE: 48 * 3_600_000,
};

/** A valid value of the definition's kind that differs from its default, as text and as loadSettings reads it. */
function probe(env: string, def: SettingDefinition): { text: string; value: unknown } {
  const text = PROBE_TEXT[env];
  switch (def.kind) {
    case 'int': {
      const n = Math.min(def.max ?? Infinity, Math.max(def.min ?? 0, 4321));
      return { text: String(n), value: n };
    }
    case 'duration':
      return text ? { text, value: PROBE_EXPECTED[env] } : { text: '1234ms', value: 1234 };
    case 'bool': {
      const flipped = def.defaultValue !== 'true';
      return { text: String(flipped), value: flipped };
    }
    case 'enum': {
      const choice = def.choices.find((c) => c !== def.defaultValue)!;
      return { text: choice, value: choice };
    }
    case 'list':
      return {
        text: text ?? 'probe-a, probe-b',
        value: (text ?? 'probe-a,probe-b').split(',').map((s) => s.trim()),
      };
    case 'url':
      return { text: 'https://probe.example:1234/', value: 'https://probe.example:1234/' };
    case 'string':
      return { text: text ?? '/probe', value: PROBE_EXPECTED[env] ?? text ?? '/probe' };
  }
}

/** Every leaf of a Settings tree by its path (a list, URL or Map is one leaf). */
function leaves(value: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value instanceof URL) out.set(path, value.href);
  else if (value instanceof Map) out.set(path, [...value]);
  else if (Array.isArray(value) || value === null || typeof value !== 'object') out.set(path, value);
  else for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  return out;
}

describe('settings typed by kind', () => {
  const defaults = leaves(loadSettings({}, []));

  it.each(definitions)('%s, set alone, is read into Settings as a value of its kind', (env, def) => {
    const { text, value } = probe(env, def);
    const changed = [...leaves(loadSettings({ [env]: text }, []))].filter(
      ([path, v]) => JSON.stringify(v) !== JSON.stringify(defaults.get(path)),
    );
    // Found with toEqual: 4321 is not "4321", true is not "true", a list is not its text.
    expect(changed.map(([, v]) => v)).toContainEqual(value);
  });

  it('a default of every definition is a valid value of its kind', () => {
    for (const [env, def] of definitions)
      expect(() => parseValue(env, def, def.defaultValue, 'default'), env).not.toThrow();
  });

  it('no two definitions share an env var (an area file cannot shadow another)', async () => {
    const dir = new URL('../../../src/settings/definitions/', import.meta.url);
    let count = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'index.ts')) {
      const module: Record<string, unknown> = await import(new URL(file, dir).href);
      for (const table of Object.values(module))
        if (Array.isArray(table)) count += table.length;
        else if (typeof table === 'object' && table !== null) count += Object.keys(table).length;
    }
    expect(new Set(SETTING_DEFINITIONS.map((d) => d.env)).size).toBe(count);
    expect(SETTING_DEFINITIONS.length).toBe(count);
  });

  it('gives the compiler the same types', () => {
    expectTypeOf<SettingValueOf<'PROXY_PORT'>>().toEqualTypeOf<number>();
    expectTypeOf<SettingValueOf<'UPSTREAM_TIMEOUT'>>().toEqualTypeOf<number>();
    expectTypeOf<SettingValueOf<'DRY_RUN'>>().toEqualTypeOf<boolean>();
    expectTypeOf<SettingValueOf<'REMOTE_WRITE_PATHS'>>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<SettingValueOf<'LOG_FORMAT'>>().toEqualTypeOf<'json' | 'text'>();
    expectTypeOf<SettingValueOf<'STORE'>>().toEqualTypeOf<'auto' | 'memory' | 'redis' | 'postgres'>();
    expectTypeOf<SettingValueOf<'UPSTREAM_URL'>>().toEqualTypeOf<string>();
    expectTypeOf<SettingValueOf<'TENANT_HEADER'>>().toEqualTypeOf<string>();
    // Types named elsewhere are the definitions' choices, so a new choice is one edit.
    expectTypeOf<DenialLogMode>().toEqualTypeOf<'all' | 'sampled' | 'none'>();
    expectTypeOf<StoreKind>().toEqualTypeOf<'auto' | 'memory' | 'redis' | 'postgres'>();
  });
});

/** A value no setting of the kind accepts, and what the error says about it. */
const BAD: Partial<
  Record<SettingDefinition['kind'], { text: string; says: (d: SettingDefinition) => string }>
> = {
  int: { text: '12abc', says: () => 'must be a whole number >= 0' },
  duration: { text: 'soon', says: () => 'must be a duration such as 500ms, 10s or 1m' },
  bool: { text: 'maybe', says: () => 'must be true or false' },
  enum: { text: 'bogus', says: (d) => (d.kind === 'enum' ? `must be one of ${d.choices.join(', ')}` : '') },
  url: { text: 'ftp://mimir:8080', says: () => 'must be an absolute http:// or https:// URL' },
};

describe('a bad value of each kind', () => {
  const checked = definitions.filter(([, def]) => BAD[def.kind] !== undefined);

  it.each(checked)('of %s is a ConfigError naming the source, the setting and the value', (env, def) => {
    const bad = BAD[def.kind]!;
    const file = join(dir, `${env}.yaml`);
    writeFileSync(file, `${env.toLowerCase()}: ${JSON.stringify(bad.text)}\n`);
    const sources: [string, NodeJS.ProcessEnv, string[]][] = [
      ['environment', { [env]: bad.text }, []],
      ['command line', {}, [`${flagName(env)}=${bad.text}`]],
      [file, { CONFIG_FILE: file }, []],
    ];
    for (const [source, envVars, argv] of sources) {
      let error: unknown;
      try {
        loadSettings(envVars, argv);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({
        source,
        path: env,
        message: `${source}: ${env}: ${bad.says(def)}, got ${JSON.stringify(bad.text)}`,
      });
    }
  });

  it.each(definitions.filter(([, def]) => def.kind === 'int' && (def.min ?? 0) > 0))(
    '%s below its min is refused with the bound',
    (env, def) => {
      const min = def.kind === 'int' ? def.min! : 0;
      expect(() => loadSettings({ [env]: String(min - 1) }, [])).toThrow(
        `environment: ${env}: must be at least ${min}, got "${min - 1}"`,
      );
      expect(() => loadSettings({ [env]: String(min) }, [])).not.toThrow();
    },
  );

  it.each(definitions.filter(([, def]) => def.kind === 'int' && def.max !== undefined))(
    '%s above its max is refused with the range',
    (env, def) => {
      const max = def.kind === 'int' ? def.max! : 0;
      const range =
        def.kind === 'int' && def.rangeName !== undefined
          ? `must be ${def.rangeName} (${def.min ?? 0}-${max})`
          : `must be at most ${max}`;
      expect(() => loadSettings({ [env]: String(max + 1) }, [])).toThrow(
        `environment: ${env}: ${range}, got "${max + 1}"`,
      );
      expect(() => loadSettings({ [env]: String(max) }, [])).not.toThrow();
    },
  );

  it('a duration of 0 is refused unless the definition allows it (0: off)', () => {
    for (const [env, def] of definitions.filter(([, d]) => d.kind === 'duration')) {
      const load = (): unknown => loadSettings({ [env]: '0s' }, []);
      if (def.kind === 'duration' && def.allowZero === true) expect(load, env).not.toThrow();
      else
        expect(load, env).toThrow(
          `environment: ${env}: must be a duration such as 500ms, 10s or 1m, got "0s"`,
        );
    }
  });
});
