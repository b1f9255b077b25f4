// The two sources of settings besides the environment: command-line flags and the CONFIG_FILE (YAML of
// lower-case setting keys, `defaults:` limits and per-tenant `enforcement:`). Both return raw text by env
// var; src/settings/settings.ts merges and parses it. Every error names the source, the key and the value.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../lib/config-error.js';
import { LIMIT_DEFINITIONS, limitValue, validateLimitValue } from '../limits/limit-definitions.js';
import type { LimitName, LimitValue } from '../limits/limit-definitions.js';
import { SETTING_DEFINITIONS } from './definitions/index.js';
import { flagName } from './setting-kinds.js';
import { isMapping } from '../lib/is-mapping.js';

const BY_FLAG = new Map<string, string>(SETTING_DEFINITIONS.map((d) => [flagName(d.env), d.env]));
/** Bool flags may stand alone (`--dry-run`), meaning true. */
const BOOL_FLAGS = new Set<string>(SETTING_DEFINITIONS.filter((d) => d.kind === 'bool').map((d) => d.env));
/** Config-file keys of settings: the env var in lower case. */
const KNOWN_KEYS = new Set<string>(SETTING_DEFINITIONS.map((d) => d.env.toLowerCase()));

/** Reads `--flag value` and `--flag=value` pairs; an unknown flag is an error that points to --help. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const env = BY_FLAG.get(flag);
    if (!env) throw new ConfigError('command line', arg, `unknown flag (run with --help for the list)`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (BOOL_FLAGS.has(env) && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')))
      value = 'true';
    else value = argv[++i];
    if (value === undefined) throw new ConfigError('command line', flag, 'needs a value');
    values.set(env, value);
  }
  return values;
}

/** What a CONFIG_FILE holds: settings by env var, `defaults:` limits and per-tenant `enforcement:`. */
export interface ConfigFileContent {
  settings: Map<string, string>;
  defaults: Partial<Record<LimitName, LimitValue>>;
  enforcement: Map<string, { enabled: boolean; limits: Partial<Record<LimitName, boolean>> }>;
}

/** Reads CONFIG_FILE; every error names the file and the key. */
export function readConfigFile(path: string): ConfigFileContent {
  let root: unknown;
  try {
    root = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      path,
      '',
      `cannot read: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`,
    );
  }
  const content: ConfigFileContent = { settings: new Map(), defaults: {}, enforcement: new Map() };
  if (root === null || root === undefined) return content;
  if (!isMapping(root)) throw new ConfigError(path, '', 'the top level must be a mapping');
  for (const [key, value] of Object.entries(root)) {
    if (key === 'defaults') {
      if (!isMapping(value))
        throw new ConfigError(path, 'defaults', 'must be a mapping of limit names to values');
      for (const [name, v] of Object.entries(value)) {
        const def = LIMIT_DEFINITIONS.find((d) => d.name === name);
        if (!def) throw new ConfigError(path, `defaults.${name}`, 'is not a limit the edge enforces');
        const error = validateLimitValue(def, v);
        if (error) throw new ConfigError(path, `defaults.${name}`, error);
        content.defaults[def.name] = limitValue(def, v);
      }
    } else if (key === 'enforcement') {
      if (!isMapping(value))
        throw new ConfigError(path, 'enforcement', 'must be a mapping of tenant id to switches');
      for (const [tenant, sw] of Object.entries(value)) {
        content.enforcement.set(tenant, parseEnforcement(path, `enforcement.${tenant}`, sw));
      }
    } else if (KNOWN_KEYS.has(key)) {
      if (value === null || typeof value === 'object')
        throw new ConfigError(path, key, 'must be a single value');
      content.settings.set(key.toUpperCase(), String(value));
    } else {
      throw new ConfigError(path, key, 'unknown key (settings use the lower-case env var name)');
    }
  }
  return content;
}

function parseEnforcement(
  source: string,
  path: string,
  value: unknown,
): { enabled: boolean; limits: Partial<Record<LimitName, boolean>> } {
  if (!isMapping(value))
    throw new ConfigError(source, path, 'must be a mapping such as {enabled: true, ingestion_rate: false}');
  const result: { enabled: boolean; limits: Partial<Record<LimitName, boolean>> } = {
    enabled: true,
    limits: {},
  };
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'boolean')
      throw new ConfigError(source, `${path}.${key}`, `must be true or false, got ${JSON.stringify(v)}`);
    if (key === 'enabled') result.enabled = v;
    else {
      const def = LIMIT_DEFINITIONS.find((d) => d.name === key);
      if (!def) throw new ConfigError(source, `${path}.${key}`, 'is neither `enabled` nor a limit name');
      result.limits[def.name] = v;
    }
  }
  return result;
}
