// Every setting of the service in one table: env var, CLI flag, config-file key, default and meaning.
// Sources merge here once (flag > env > config file > default) into one frozen, typed object;
// every error names the setting, where it came from and the bad value.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../limits/config-error.js';
import { LIMIT_DEFINITIONS, validateLimitValue } from '../limits/limit-definitions.js';
import type { LimitName } from '../limits/limit-definitions.js';
import type { TenantLimits } from '../limits/tenant-limits.js';

type Kind = 'string' | 'int' | 'bool' | 'duration' | 'url' | 'list' | 'enum';

interface SettingDefinition {
  env: string;
  kind: Kind;
  defaultValue: string;
  description: string;
  choices?: readonly string[];
}

export const SETTING_DEFINITIONS = [
  {
    env: 'UPSTREAM_URL',
    kind: 'url',
    defaultValue: 'http://127.0.0.1:9009',
    description:
      'Base URL allowed requests are forwarded to (Mimir distributors or any HTTP API); the request path is kept.',
  },
  {
    env: 'OVERRIDES_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'Mimir runtime-overrides YAML (the `overrides:` map Mimir reads); empty: defaults only.',
  },
  {
    env: 'OVERRIDES_RELOAD_INTERVAL',
    kind: 'duration',
    defaultValue: '10s',
    description: 'How often the overrides file is checked for changes (also reloaded on SIGHUP).',
  },
  {
    env: 'CONFIG_FILE',
    kind: 'string',
    defaultValue: '',
    description:
      'Optional YAML file holding any of these settings (lower-case keys), `defaults:` limits and per-tenant `enforcement:`.',
  },
  {
    env: 'TENANT_HEADER',
    kind: 'string',
    defaultValue: 'X-Scope-OrgID',
    description: 'Header that names the tenant.',
  },
  {
    env: 'TENANT_FROM_BASIC_AUTH',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'When the tenant header is absent, use the basic-auth username as the tenant and send it upstream in the tenant header.',
  },
  {
    env: 'REMOTE_WRITE_PATHS',
    kind: 'list',
    defaultValue: '/api/v1/push,/api/v1/write',
    description:
      'Comma-separated paths whose POST bodies are measured and enforced; other paths pass through.',
  },
  {
    env: 'MAX_REQUEST_BYTES',
    kind: 'int',
    defaultValue: '52428800',
    description:
      'Hard cap on a write body, on the wire and after decompression (413 beyond it), whatever the tenant limits say.',
  },
  {
    env: 'FAILURE_MODE_ALLOW',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'When enforcement itself fails (an internal error), forward the request instead of answering 500.',
  },
  {
    env: 'DRY_RUN',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'Observe every limit and never deny: denials are recorded as "would deny" and the request is forwarded.',
  },
  {
    env: 'UPSTREAM_TIMEOUT',
    kind: 'duration',
    defaultValue: '30s',
    description: 'Longest wait for the upstream to answer a forwarded request (504 after it).',
  },
  {
    env: 'LOG_LEVEL',
    kind: 'enum',
    defaultValue: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    description: 'Log level.',
  },
  {
    env: 'LOG_FORMAT',
    kind: 'enum',
    defaultValue: 'json',
    choices: ['json', 'text'],
    description: 'json: one JSON object per line; text: one human-readable line per event.',
  },
  {
    env: 'BIND_ADDRESS',
    kind: 'string',
    defaultValue: '0.0.0.0',
    description: 'Address every listener binds to.',
  },
  {
    env: 'PROXY_PORT',
    kind: 'int',
    defaultValue: '8080',
    description: 'HTTP reverse proxy (remote write in, upstream out).',
  },
  {
    env: 'EXT_AUTHZ_PORT',
    kind: 'int',
    defaultValue: '8081',
    description: 'Envoy ext_authz gRPC (reserved).',
  },
  { env: 'ADMIN_PORT', kind: 'int', defaultValue: '8082', description: 'Admin HTTP API.' },
  {
    env: 'RATELIMIT_PORT',
    kind: 'int',
    defaultValue: '8083',
    description: 'Envoy rate limit gRPC (reserved).',
  },
  { env: 'METRICS_PORT', kind: 'int', defaultValue: '9090', description: 'Prometheus /metrics.' },
  ...LIMIT_DEFINITIONS.filter((d) => d.env).map((d) => ({
    env: d.env!,
    kind: (d.kind === 'int' ? 'int' : 'string') as Kind,
    defaultValue: String(d.defaultValue),
    description: `Default ${d.name} for tenants without an override. ${d.description}`,
  })),
] as const satisfies readonly SettingDefinition[];

export interface Settings {
  upstreamUrl: URL;
  overridesFile: string;
  overridesReloadIntervalMs: number;
  configFile: string;
  /** Lower-cased, as Node presents request headers. */
  tenantHeader: string;
  /** As configured, for messages. */
  tenantHeaderName: string;
  tenantFromBasicAuth: boolean;
  remoteWritePaths: readonly string[];
  maxRequestBytes: number;
  failureModeAllow: boolean;
  dryRun: boolean;
  upstreamTimeoutMs: number;
  logLevel: string;
  logFormat: 'json' | 'text';
  bindAddress: string;
  ports: { proxy: number; extAuthz: number; admin: number; ratelimit: number; metrics: number };
  /** Limits for tenants without an override. */
  defaultLimits: TenantLimits;
  /** Per-tenant enforcement switches from the config file. */
  tenantEnforcement: ReadonlyMap<string, { enabled: boolean; limits: Partial<Record<LimitName, boolean>> }>;
}

/** `--upstream-url` for `UPSTREAM_URL`. */
export function flagName(env: string): string {
  return '--' + env.toLowerCase().replaceAll('_', '-');
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * DURATION_MS[m[2]!]!;
}

function parseValue(
  def: SettingDefinition,
  raw: string,
  source: string,
): string | number | boolean | string[] {
  const bad = (why: string): never => {
    throw new ConfigError(source, def.env, `${why}, got ${JSON.stringify(raw)}`);
  };
  switch (def.kind) {
    case 'int': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(n) || n < 0) bad('must be a whole number >= 0');
      if (def.env.endsWith('_PORT') && n > 65535) bad('must be a port number (0-65535)');
      return n;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off', ''].includes(v)) return false;
      return bad('must be true or false');
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined || ms <= 0) bad('must be a duration such as 500ms, 10s or 1m');
      return ms!;
    }
    case 'url': {
      try {
        const url = new URL(raw);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('must be an http:// or https:// URL');
        return raw;
      } catch {
        return bad('must be an absolute http:// or https:// URL');
      }
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'enum':
      if (!def.choices!.includes(raw.trim())) bad(`must be one of ${def.choices!.join(', ')}`);
      return raw.trim();
    default:
      return raw;
  }
}

/** Reads `--flag value` and `--flag=value` pairs; unknown flags are an error that lists the known ones. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const byFlag = new Map<string, string>(SETTING_DEFINITIONS.map((d) => [flagName(d.env), d.env]));
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const env = byFlag.get(flag);
    if (!env) throw new ConfigError('command line', arg, `unknown flag (run with --help for the list)`);
    let value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) {
      const def = SETTING_DEFINITIONS.find((d) => d.env === env)!;
      if (def.kind !== 'bool') throw new ConfigError('command line', flag, 'needs a value');
      value = 'true';
    }
    values.set(env, value);
  }
  return values;
}

interface ConfigFileContent {
  settings: Map<string, string>;
  defaults: Partial<Record<LimitName, number>>;
  enforcement: Map<string, { enabled: boolean; limits: Partial<Record<LimitName, boolean>> }>;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readConfigFile(path: string): ConfigFileContent {
  let root: unknown;
  try {
    root = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(path, '', `cannot read: ${(err as Error).message.split('\n')[0]}`);
  }
  const content: ConfigFileContent = { settings: new Map(), defaults: {}, enforcement: new Map() };
  if (root === null || root === undefined) return content;
  if (!isMapping(root)) throw new ConfigError(path, '', 'the top level must be a mapping');
  const knownSettings = new Set<string>(SETTING_DEFINITIONS.map((d) => d.env.toLowerCase()));
  for (const [key, value] of Object.entries(root)) {
    if (key === 'defaults') {
      if (!isMapping(value))
        throw new ConfigError(path, 'defaults', 'must be a mapping of limit names to values');
      for (const [name, v] of Object.entries(value)) {
        const def = LIMIT_DEFINITIONS.find((d) => d.name === name);
        if (!def) throw new ConfigError(path, `defaults.${name}`, 'is not a limit the edge enforces');
        const error = validateLimitValue(def, v);
        if (error) throw new ConfigError(path, `defaults.${name}`, error);
        content.defaults[def.name] = v as number;
      }
    } else if (key === 'enforcement') {
      if (!isMapping(value))
        throw new ConfigError(path, 'enforcement', 'must be a mapping of tenant id to switches');
      for (const [tenant, sw] of Object.entries(value)) {
        content.enforcement.set(tenant, parseEnforcement(path, `enforcement.${tenant}`, sw));
      }
    } else if (knownSettings.has(key)) {
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
  const result = { enabled: true, limits: {} as Partial<Record<LimitName, boolean>> };
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

/** Merges flags, env and the config file into one frozen Settings. Throws ConfigError on the first bad value. */
export function loadSettings(env: NodeJS.ProcessEnv, argv: readonly string[]): Settings {
  const flags = parseFlags(argv);
  const configPath = flags.get('CONFIG_FILE') ?? env.CONFIG_FILE ?? '';
  const file = configPath ? readConfigFile(configPath) : undefined;
  const raw = (name: string): { value: string; source: string } => {
    const flag = flags.get(name);
    if (flag !== undefined) return { value: flag, source: 'command line' };
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: 'environment' };
    const fromFile = file?.settings.get(name);
    if (fromFile !== undefined) return { value: fromFile, source: configPath };
    const def = SETTING_DEFINITIONS.find((d) => d.env === name)!;
    return { value: def.defaultValue, source: 'default' };
  };
  const get = (name: (typeof SETTING_DEFINITIONS)[number]['env']): ReturnType<typeof parseValue> => {
    const def: SettingDefinition = SETTING_DEFINITIONS.find((d) => d.env === name)!;
    const { value, source } = raw(name);
    return parseValue(def, value, source);
  };

  const defaultLimits = {} as Record<LimitName, number>;
  for (const def of LIMIT_DEFINITIONS) {
    let value = def.defaultValue;
    if (file?.defaults[def.name] !== undefined) value = file.defaults[def.name]!;
    if (def.env) {
      const { value: text, source } = raw(def.env);
      if (source !== 'default') {
        const n = Number(text);
        const error = validateLimitValue(def, text.trim() === '' ? NaN : n);
        if (error) throw new ConfigError(source, def.env, error);
        value = n;
      }
    }
    defaultLimits[def.name] = value;
  }

  const upstream = new URL(get('UPSTREAM_URL') as string);
  const settings: Settings = {
    upstreamUrl: upstream,
    overridesFile: get('OVERRIDES_FILE') as string,
    overridesReloadIntervalMs: get('OVERRIDES_RELOAD_INTERVAL') as number,
    configFile: configPath,
    tenantHeader: (get('TENANT_HEADER') as string).toLowerCase(),
    tenantHeaderName: get('TENANT_HEADER') as string,
    tenantFromBasicAuth: get('TENANT_FROM_BASIC_AUTH') as boolean,
    remoteWritePaths: Object.freeze(get('REMOTE_WRITE_PATHS') as string[]),
    maxRequestBytes: get('MAX_REQUEST_BYTES') as number,
    failureModeAllow: get('FAILURE_MODE_ALLOW') as boolean,
    dryRun: get('DRY_RUN') as boolean,
    upstreamTimeoutMs: get('UPSTREAM_TIMEOUT') as number,
    logLevel: get('LOG_LEVEL') as string,
    logFormat: get('LOG_FORMAT') as 'json' | 'text',
    bindAddress: get('BIND_ADDRESS') as string,
    ports: Object.freeze({
      proxy: get('PROXY_PORT') as number,
      extAuthz: get('EXT_AUTHZ_PORT') as number,
      admin: get('ADMIN_PORT') as number,
      ratelimit: get('RATELIMIT_PORT') as number,
      metrics: get('METRICS_PORT') as number,
    }),
    defaultLimits: Object.freeze(defaultLimits),
    tenantEnforcement: file?.enforcement ?? new Map(),
  };
  return Object.freeze(settings);
}

/** The text of `--help`: every setting with its env var, flag and default. */
export function settingsHelp(): string {
  const lines = ['Settings (flag > env var > CONFIG_FILE > default):', ''];
  for (const d of SETTING_DEFINITIONS) {
    lines.push(
      `  ${flagName(d.env)}  (${d.env}, default ${d.defaultValue === '' ? 'none' : d.defaultValue})`,
    );
    lines.push(`      ${d.description}`);
  }
  return lines.join('\n');
}
