// Every setting of the service merged into one frozen, typed Settings: sources merge here once
// (flag > env > config file > default); every error names the setting, where it came from and the bad value.
// The settings themselves (env var, kind, default, meaning, bounds) are in src/settings/definitions/; each
// one's kind gives the type `get(name)` returns, so nothing here casts.

import { ConfigError } from '../lib/config-error.js';
import { LIMIT_DEFINITIONS, validateLimitValue } from '../limits/limit-definitions.js';
import type { LimitName, LimitValue } from '../limits/limit-definitions.js';
import type { TenantLimits } from '../limits/tenant-limits.js';
import { checkRedisSettings, parseRedisAddresses } from '../lib/redis/redis-settings.js';
import type { RedisSettings } from '../lib/redis/redis-settings.js';
import type { RetryAfterConfig } from '../decision/retry-after.js';
import { parseFlags, readConfigFile } from './config-file.js';
import { SERVICE_SETTING_DEFINITIONS, SETTING_DEFINITIONS } from './definitions/index.js';
import type { ServiceSettingName } from './definitions/index.js';
import { insightSettings } from './insight-settings.js';
import type { InsightSettings } from './insight-settings.js';
import { checkStoreSettings } from './postgres-settings.js';
import type { PostgresSettings, StoreKind } from './postgres-settings.js';
import { flagName, parseValue } from './setting-kinds.js';
import type { ValueOf } from './setting-kinds.js';

export { SETTING_DEFINITIONS } from './definitions/index.js';
export { flagName, parseDuration } from './setting-kinds.js';

/** LOG_DENIALS: which denials get a log line (src/decide/denial-log-gate.ts). */
export type DenialLogMode = SettingValueOf<'LOG_DENIALS'>;

/** The typed value of a service setting, from its definition's kind. */
export type SettingValueOf<N extends ServiceSettingName> = ValueOf<(typeof SERVICE_SETTING_DEFINITIONS)[N]>;
/** Reads one service setting from its winning source, parsed and typed by its kind. */
export type Get = <N extends ServiceSettingName>(name: N) => SettingValueOf<N>;
/** The winning text of a setting and the source it came from (for errors). */
export type Raw = (name: string) => { value: string; source: string };

/** Limits of the gRPC listeners (ext_authz, rate limit service); durations in ms, 0 turns one off. */
export interface GrpcLimitSettings {
  maxConcurrentStreams: number;
  maxConnectionIdleMs: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  keepaliveMinTimeMs: number;
  keepalivePermitWithoutStream: boolean;
  receiveTimeoutMs: number;
}

export interface ActiveSeriesSettings {
  enabled: boolean;
  windowMs: number;
  sampleEvery: number;
  maxTenants: number;
  maxBytes: number;
  filterMaxBytes: number;
  refreshMs: number;
  queueBytes: number;
}

export interface Settings {
  /** Active series at the edge (docs/active-series.md). */
  activeSeries: ActiveSeriesSettings;
  upstreamUrl: URL;
  overridesFile: string;
  overridesReloadIntervalMs: number;
  /** `namespace/name`, or empty. */
  overridesConfigMap: string;
  overridesConfigMapKey: string;
  stateDir: string;
  /** With Redis: the full re-read of the shared limits configuration (the safety net for missed notifications). */
  configSyncIntervalMs: number;
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
  /** The admin view's periodic upstream probe; an empty path turns it off. */
  upstreamHealth: { path: string; intervalMs: number; timeoutMs: number };
  /** Bounds of the proxy listener: in flight, client timeouts, header size (docs/hardening.md). */
  proxyLimits: {
    maxInflightRequests: number;
    maxInflightBytes: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    bodyIdleTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxHeaderBytes: number;
  };
  /** Retry-After on 429 and 5xx answers, as Mimir's -distributor.retry-after-header.* (src/decision/retry-after.ts). */
  retryAfter: RetryAfterConfig;
  /** The bound on tenant names in labels and stats, and when idle unknown tenants are forgotten (0: never). */
  tenantLabels: { max: number; idleTimeoutMs: number };
  /** TLS of the proxy and admin listeners (empty: plain HTTP), and how often every TLS file is re-read. */
  tls: {
    proxy: { certFile: string; keyFile: string };
    admin: { certFile: string; keyFile: string };
    reloadMs: number;
  };
  /** Graceful stop: serve while reporting draining, then finish in-flight within the grace. */
  shutdown: { delayMs: number; graceMs: number };
  logLevel: SettingValueOf<'LOG_LEVEL'>;
  /** Which denials get a log line (src/decide/denial-log-gate.ts). */
  logDenials: { mode: DenialLogMode; intervalMs: number };
  logFormat: SettingValueOf<'LOG_FORMAT'>;
  bindAddress: string;
  ports: { proxy: number; extAuthz: number; admin: number; ratelimit: number; metrics: number };
  /** Limits for tenants without an override. */
  defaultLimits: TenantLimits;
  /** Per-tenant enforcement switches from the config file. */
  tenantEnforcement: ReadonlyMap<string, { enabled: boolean; limits: Partial<Record<LimitName, boolean>> }>;
  /** Envoy / gateway transports: ext_authz, rate limit service, HTTP authz endpoint. */
  gateway: {
    partialBody: SettingValueOf<'EXT_AUTHZ_PARTIAL_BODY'>;
    ratelimitConfig: string;
    ratelimitReloadMs: number;
    /** Lower-cased. */
    ratelimitTenantKey: string;
    ratelimitResponseHeaders: boolean;
    /** MERGE_DOMAIN_CONFIG. */
    ratelimitMergeDomains: boolean;
    /** envoyproxy/ratelimit's SHADOW_MODE, QUOTA_MODE and RESPONSE_DYNAMIC_METADATA. */
    ratelimitShadowMode: boolean;
    ratelimitQuotaMode: boolean;
    ratelimitDynamicMetadata: boolean;
    /** envoyproxy/ratelimit's LIMIT_RESPONSE_HEADERS_ENABLED and its LIMIT_*_HEADER names. */
    ratelimitLimitHeaders: { enabled: boolean; limit: string; remaining: string; reset: string };
    authzHttpPath: string;
    grpcTls: { certFile: string; keyFile: string; clientCaFile: string };
    /** Connection, keepalive and deadline limits of both gRPC listeners (grpc-go's server option names). */
    grpc: GrpcLimitSettings;
    ratelimitMaxCounters: number;
  };
  admin: { token: string; tokensFile: string; corsOrigins: readonly string[]; debug: boolean };
  /** Shared buckets on Redis; `addresses` empty when not configured. */
  redis: RedisSettings;
  /** Which store keeps the buckets (STORE), and PostgreSQL's settings. */
  store: StoreKind;
  postgres: PostgresSettings;
  /** The policy set applied to every request, and where its identities come from (docs/policies.md). */
  policy: PolicySettings;
  /** Cost prices and burst detection (docs/cost-and-bursts.md). */
  insight: InsightSettings;
  /** GEOIP_*: the databases behind country and ASN rules; '' when not given. */
  geo: { countryDatabase: string; asnDatabase: string; reloadMs: number };
  /** Adaptive protection of the upstream (docs/protection.md). */
  adaptive: AdaptiveSettings;
}

/** ADAPTIVE_*: the mode at start, the ceiling's bounds and how it moves (docs/protection.md). */
export interface AdaptiveSettings {
  mode: SettingValueOf<'ADAPTIVE_PROTECTION'>;
  minCeiling: number;
  maxCeiling: number;
  latencyTargetMs: number;
  errorPercent: number;
  backoffPercent: number;
  increase: number;
  windowMs: number;
  lowestPriorityPercent: number;
  maxSamplesPerSecond: number;
}

export interface PolicySettings {
  /** Empty: no policies, and the proxy pays nothing for them. */
  file: string;
  reloadMs: number;
  headers: readonly ('draft' | 'legacy' | 'x-ratelimit')[];
  trustedProxies: readonly string[];
  clientIpHeader: SettingValueOf<'CLIENT_IP_HEADER'>;
  /** Lower-cased. */
  apiKeyHeader: string;
  jwt: {
    jwksUrl: string;
    secret: string;
    issuer: string;
    audience: string;
    userClaim: string;
    tierClaim: string;
    allowMissingExp: boolean;
  };
}

/** Each setting's default text, by env var (the DEFAULT_* limit defaults included). */
const DEFAULT_TEXT = new Map<string, string>(SETTING_DEFINITIONS.map((d) => [d.env, d.defaultValue]));

/** Merges flags, env and the config file into one frozen Settings. Throws ConfigError on the first bad value. */
export function loadSettings(env: NodeJS.ProcessEnv, argv: readonly string[]): Settings {
  const flags = parseFlags(argv);
  const configPath = flags.get('CONFIG_FILE') ?? env.CONFIG_FILE ?? '';
  const file = configPath ? readConfigFile(configPath) : undefined;
  const raw: Raw = (name) => {
    const flag = flags.get(name);
    if (flag !== undefined) return { value: flag, source: 'command line' };
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: 'environment' };
    const fromFile = file?.settings.get(name);
    if (fromFile !== undefined) return { value: fromFile, source: configPath };
    return { value: DEFAULT_TEXT.get(name) ?? '', source: 'default' };
  };
  const get: Get = (name) => {
    const { value, source } = raw(name);
    return parseValue(name, SERVICE_SETTING_DEFINITIONS[name], value, source);
  };

  const defaultLimits: Partial<Record<LimitName, LimitValue>> = {};
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
  // Unreachable while every limit definition has a default; the check is what types the object.
  if (!hasEveryLimit(defaultLimits)) throw new Error('a limit definition has no default value');

  const upstream = new URL(get('UPSTREAM_URL'));
  const healthPath = get('UPSTREAM_HEALTH_PATH').trim();
  // A path without its slash would be joined onto the upstream's host name by URL resolution.
  if (healthPath !== '' && !healthPath.startsWith('/'))
    throw new ConfigError(
      raw('UPSTREAM_HEALTH_PATH').source,
      'UPSTREAM_HEALTH_PATH',
      `must start with "/" (or be empty to turn the probe off), got ${JSON.stringify(healthPath)}`,
    );
  const settings: Settings = {
    upstreamUrl: upstream,
    overridesFile: get('OVERRIDES_FILE'),
    overridesReloadIntervalMs: get('OVERRIDES_RELOAD_INTERVAL'),
    overridesConfigMap: get('OVERRIDES_CONFIGMAP'),
    overridesConfigMapKey: get('OVERRIDES_CONFIGMAP_KEY'),
    stateDir: get('STATE_DIR'),
    configSyncIntervalMs: get('CONFIG_SYNC_INTERVAL'),
    configFile: configPath,
    tenantHeader: get('TENANT_HEADER').toLowerCase(),
    tenantHeaderName: get('TENANT_HEADER'),
    tenantFromBasicAuth: get('TENANT_FROM_BASIC_AUTH'),
    remoteWritePaths: Object.freeze(get('REMOTE_WRITE_PATHS')),
    maxRequestBytes: get('MAX_REQUEST_BYTES'),
    failureModeAllow: get('FAILURE_MODE_ALLOW'),
    dryRun: get('DRY_RUN'),
    upstreamTimeoutMs: get('UPSTREAM_TIMEOUT'),
    upstreamHealth: Object.freeze({
      path: healthPath,
      intervalMs: get('UPSTREAM_HEALTH_INTERVAL'),
      timeoutMs: Math.min(get('UPSTREAM_HEALTH_TIMEOUT'), get('UPSTREAM_HEALTH_INTERVAL')),
    }),
    proxyLimits: Object.freeze({
      maxInflightRequests: get('MAX_INFLIGHT_REQUESTS'),
      maxInflightBytes: get('MAX_INFLIGHT_BYTES'),
      headersTimeoutMs: get('PROXY_HEADERS_TIMEOUT'),
      requestTimeoutMs: get('PROXY_REQUEST_TIMEOUT'),
      bodyIdleTimeoutMs: get('PROXY_BODY_IDLE_TIMEOUT'),
      keepAliveTimeoutMs: get('PROXY_KEEPALIVE_TIMEOUT'),
      maxHeaderBytes: get('PROXY_MAX_HEADER_BYTES'),
    }),
    retryAfter: retryAfterSettings(get, raw),
    tenantLabels: Object.freeze({
      max: get('MAX_TENANT_LABELS'),
      idleTimeoutMs: get('TENANT_IDLE_TIMEOUT'),
    }),
    tls: Object.freeze({
      proxy: Object.freeze({
        certFile: get('PROXY_TLS_CERT_FILE'),
        keyFile: get('PROXY_TLS_KEY_FILE'),
      }),
      admin: Object.freeze({
        certFile: get('ADMIN_TLS_CERT_FILE'),
        keyFile: get('ADMIN_TLS_KEY_FILE'),
      }),
      reloadMs: get('TLS_RELOAD_INTERVAL'),
    }),
    shutdown: Object.freeze({
      delayMs: get('SHUTDOWN_DELAY'),
      graceMs: get('SHUTDOWN_GRACE'),
    }),
    logLevel: get('LOG_LEVEL'),
    logDenials: Object.freeze({
      mode: get('LOG_DENIALS'),
      intervalMs: get('LOG_DENIALS_INTERVAL'),
    }),
    logFormat: get('LOG_FORMAT'),
    bindAddress: get('BIND_ADDRESS'),
    ports: Object.freeze({
      proxy: get('PROXY_PORT'),
      extAuthz: get('EXT_AUTHZ_PORT'),
      admin: get('ADMIN_PORT'),
      ratelimit: get('RATELIMIT_PORT'),
      metrics: get('METRICS_PORT'),
    }),
    defaultLimits: Object.freeze(defaultLimits),
    tenantEnforcement: file?.enforcement ?? new Map(),
    gateway: Object.freeze({
      partialBody: get('EXT_AUTHZ_PARTIAL_BODY'),
      ratelimitConfig: get('RATELIMIT_CONFIG'),
      ratelimitReloadMs: get('RATELIMIT_CONFIG_RELOAD_INTERVAL'),
      ratelimitTenantKey: (get('RATELIMIT_TENANT_KEY') || get('TENANT_HEADER')).toLowerCase(),
      ratelimitResponseHeaders: get('RATELIMIT_RESPONSE_HEADERS'),
      ratelimitMergeDomains: get('MERGE_DOMAIN_CONFIG'),
      ratelimitShadowMode: get('SHADOW_MODE'),
      ratelimitQuotaMode: get('QUOTA_MODE'),
      ratelimitDynamicMetadata: get('RESPONSE_DYNAMIC_METADATA'),
      ratelimitLimitHeaders: Object.freeze({
        enabled: get('LIMIT_RESPONSE_HEADERS_ENABLED'),
        limit: get('LIMIT_LIMIT_HEADER'),
        remaining: get('LIMIT_REMAINING_HEADER'),
        reset: get('LIMIT_RESET_HEADER'),
      }),
      authzHttpPath: get('AUTHZ_HTTP_PATH').replace(/\/+$/, ''),
      grpcTls: Object.freeze({
        certFile: get('GRPC_TLS_CERT_FILE'),
        keyFile: get('GRPC_TLS_KEY_FILE'),
        clientCaFile: get('GRPC_TLS_CLIENT_CA_FILE'),
      }),
      grpc: Object.freeze({
        maxConcurrentStreams: get('GRPC_MAX_CONCURRENT_STREAMS'),
        maxConnectionIdleMs: get('GRPC_MAX_CONNECTION_IDLE'),
        maxConnectionAgeMs: get('GRPC_MAX_CONNECTION_AGE'),
        maxConnectionAgeGraceMs: get('GRPC_MAX_CONNECTION_AGE_GRACE'),
        keepaliveMinTimeMs: get('GRPC_KEEPALIVE_MIN_TIME'),
        keepalivePermitWithoutStream: get('GRPC_KEEPALIVE_PERMIT_WITHOUT_STREAM'),
        receiveTimeoutMs: get('GRPC_RECEIVE_TIMEOUT'),
      }),
      ratelimitMaxCounters: get('RATELIMIT_MAX_COUNTERS'),
    }),
    admin: Object.freeze({
      token: get('ADMIN_TOKEN'),
      tokensFile: get('ADMIN_TOKENS_FILE'),
      corsOrigins: Object.freeze(get('ADMIN_CORS_ORIGINS')),
      debug: get('ADMIN_DEBUG'),
    }),
    redis: redisSettings(get, raw('REDIS_ADDRESS').source),
    store: get('STORE'),
    postgres: Object.freeze({
      url: get('POSTGRES_URL'),
      poolSize: get('POSTGRES_POOL_SIZE'),
      table: get('POSTGRES_TABLE'),
    }),
    policy: policySettings(get, raw),
    insight: insightSettings(get, raw),
    geo: Object.freeze({
      countryDatabase: get('GEOIP_COUNTRY_DATABASE'),
      asnDatabase: get('GEOIP_ASN_DATABASE'),
      reloadMs: get('GEOIP_RELOAD_INTERVAL'),
    }),
    adaptive: adaptiveSettings(get),
    activeSeries: Object.freeze({
      enabled: get('ACTIVE_SERIES_ENABLED'),
      windowMs: get('ACTIVE_SERIES_WINDOW'),
      sampleEvery: get('ACTIVE_SERIES_SAMPLE_EVERY'),
      maxTenants: get('ACTIVE_SERIES_MAX_TENANTS'),
      maxBytes: get('ACTIVE_SERIES_MAX_BYTES'),
      filterMaxBytes: get('ACTIVE_SERIES_FILTER_MAX_BYTES'),
      refreshMs: get('ACTIVE_SERIES_REFRESH'),
      queueBytes: get('ACTIVE_SERIES_QUEUE_BYTES'),
    }),
  };
  checkStoreSettings(settings.store, settings.postgres, settings.redis.addresses.length > 0);
  return Object.freeze(settings);
}

/**
 * Whether every limit has a value. LIMIT_DEFINITIONS is a list, not typed per name: each value was checked
 * against its definition's kind as it was read (validateLimitValue, limitValue), and this checks none is missing.
 */
function hasEveryLimit(limits: Partial<Record<LimitName, LimitValue>>): limits is TenantLimits {
  return LIMIT_DEFINITIONS.every((d) => limits[d.name] !== undefined);
}

type HeaderStyle = PolicySettings['headers'][number];
const HEADER_STYLES: readonly HeaderStyle[] = ['draft', 'legacy', 'x-ratelimit'];

function isHeaderStyle(name: string): name is HeaderStyle {
  return HEADER_STYLES.some((style) => style === name);
}

function policySettings(get: Get, raw: Raw): PolicySettings {
  const headers: HeaderStyle[] = [];
  for (const h of get('POLICY_HEADERS')) {
    if (!isHeaderStyle(h))
      throw new ConfigError(
        raw('POLICY_HEADERS').source,
        'POLICY_HEADERS',
        `${JSON.stringify(h)} is not one of ${HEADER_STYLES.join(', ')}`,
      );
    headers.push(h);
  }
  const jwt = {
    jwksUrl: get('JWT_JWKS_URL'),
    secret: get('JWT_SECRET'),
    issuer: get('JWT_ISSUER'),
    audience: get('JWT_AUDIENCE'),
    userClaim: get('JWT_USER_CLAIM'),
    tierClaim: get('JWT_TIER_CLAIM'),
    allowMissingExp: get('JWT_ALLOW_MISSING_EXP'),
  };
  if (jwt.jwksUrl !== '' && jwt.secret !== '')
    throw new ConfigError(raw('JWT_SECRET').source, 'JWT_SECRET', 'set JWT_JWKS_URL or JWT_SECRET, not both');
  if (jwt.jwksUrl !== '' && !/^https?:\/\//.test(jwt.jwksUrl))
    throw new ConfigError(
      raw('JWT_JWKS_URL').source,
      'JWT_JWKS_URL',
      `must be an http:// or https:// URL, got ${JSON.stringify(jwt.jwksUrl)}`,
    );
  return Object.freeze({
    file: get('POLICY_FILE'),
    reloadMs: get('POLICY_RELOAD_INTERVAL'),
    headers: Object.freeze(headers),
    trustedProxies: Object.freeze(get('TRUSTED_PROXIES')),
    clientIpHeader: get('CLIENT_IP_HEADER'),
    apiKeyHeader: get('API_KEY_HEADER').toLowerCase(),
    jwt: Object.freeze(jwt),
  });
}

/** Mimir refuses a backoff under 1s (RetryConfig.Validate); so does the edge. */
function retryAfterSettings(get: Get, raw: Raw): RetryAfterConfig {
  for (const name of ['RETRY_AFTER_HEADER_MIN_BACKOFF', 'RETRY_AFTER_HEADER_MAX_BACKOFF'] as const) {
    if (get(name) < 1000) throw new ConfigError(raw(name).source, name, 'must be at least 1s');
  }
  return Object.freeze({
    enabled: get('RETRY_AFTER_HEADER_ENABLED'),
    minBackoffMs: get('RETRY_AFTER_HEADER_MIN_BACKOFF'),
    maxBackoffMs: get('RETRY_AFTER_HEADER_MAX_BACKOFF'),
  });
}

function adaptiveSettings(get: Get): AdaptiveSettings {
  const minCeiling = get('ADAPTIVE_MIN_CEILING');
  return Object.freeze({
    mode: get('ADAPTIVE_PROTECTION'),
    minCeiling,
    // A max below the min fixes the ceiling at the min (as its description says) rather than refusing the start.
    maxCeiling: Math.max(minCeiling, get('ADAPTIVE_MAX_CEILING')),
    latencyTargetMs: get('ADAPTIVE_LATENCY_TARGET'),
    errorPercent: get('ADAPTIVE_ERROR_PERCENT'),
    backoffPercent: get('ADAPTIVE_BACKOFF_PERCENT'),
    increase: get('ADAPTIVE_INCREASE'),
    windowMs: get('ADAPTIVE_WINDOW'),
    lowestPriorityPercent: get('ADAPTIVE_LOWEST_PRIORITY_PERCENT'),
    maxSamplesPerSecond: get('ADAPTIVE_MAX_SAMPLES_PER_SECOND'),
  });
}

function redisSettings(get: Get, addressSource: string): RedisSettings {
  const mode = get('REDIS_MODE');
  const redis: RedisSettings = {
    addresses: Object.freeze(parseRedisAddresses(get('REDIS_ADDRESS'), mode, addressSource)),
    mode,
    sentinelMaster: get('REDIS_SENTINEL_MASTER'),
    username: get('REDIS_USERNAME'),
    password: get('REDIS_PASSWORD'),
    poolSize: get('REDIS_POOL_SIZE'),
    minIdleConns: get('REDIS_MIN_IDLE_CONNS'),
    timeoutMs: get('REDIS_TIMEOUT'),
    keyPrefix: get('REDIS_KEY_PREFIX'),
    fallback: get('REDIS_FALLBACK'),
    fallbackReplicas: get('REDIS_FALLBACK_REPLICAS'),
    breakerFailures: get('REDIS_BREAKER_FAILURES'),
    breakerCooldownMs: get('REDIS_BREAKER_COOLDOWN'),
    localCache: get('REDIS_LOCAL_CACHE'),
    nearGlobalTenants: Object.freeze(get('REDIS_NEAR_GLOBAL_TENANTS')),
    nearGlobalSyncMs: get('REDIS_NEAR_GLOBAL_SYNC'),
  };
  checkRedisSettings(redis);
  return Object.freeze(redis);
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
