// Every setting of the service in one table: env var, CLI flag, config-file key, default and meaning.
// Sources merge here once (flag > env > config file > default) into one frozen, typed object;
// every error names the setting, where it came from and the bad value.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../lib/config-error.js';
import { LIMIT_DEFINITIONS, limitValue, validateLimitValue } from '../limits/limit-definitions.js';
import type { LimitName, LimitValue } from '../limits/limit-definitions.js';
import type { TenantLimits } from '../limits/tenant-limits.js';
import { checkRedisSettings, parseRedisAddresses } from '../lib/redis/redis-settings.js';
import type { RedisFallback, RedisMode, RedisSettings } from '../lib/redis/redis-settings.js';
import { checkStoreSettings } from './postgres-settings.js';
import type { PostgresSettings, StoreKind } from './postgres-settings.js';

/** LOG_DENIALS: which denials get a log line (src/decide/denial-log-gate.ts). */
export type DenialLogMode = 'all' | 'sampled' | 'none';

type Kind = 'string' | 'int' | 'bool' | 'duration' | 'url' | 'list' | 'enum';

interface SettingDefinition {
  env: string;
  kind: Kind;
  defaultValue: string;
  description: string;
  choices?: readonly string[];
  /** A duration that may be 0 (off). */
  allowZero?: boolean;
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
    env: 'OVERRIDES_CONFIGMAP',
    kind: 'string',
    defaultValue: '',
    description:
      'namespace/name of a ConfigMap holding Mimir runtime overrides, watched through the Kubernetes API (in-cluster service account or KUBECONFIG); instead of OVERRIDES_FILE. Empty: off.',
  },
  {
    env: 'OVERRIDES_CONFIGMAP_KEY',
    kind: 'string',
    defaultValue: 'overrides.yaml',
    description: 'Key of OVERRIDES_CONFIGMAP whose value is the runtime-overrides YAML.',
  },
  {
    env: 'STATE_DIR',
    kind: 'string',
    defaultValue: '',
    description:
      'Directory where runtime limits, config versions and the audit log are kept across restarts (one per replica). Empty: in memory only.',
  },
  {
    env: 'CONFIG_SYNC_INTERVAL',
    kind: 'duration',
    defaultValue: '10s',
    description:
      'With REDIS_ADDRESS: how often each replica re-reads the shared limits configuration in full, in case a change notification was missed.',
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
    defaultValue: '/api/v1/push,/api/v1/write,/otlp/v1/metrics',
    description:
      'Comma-separated paths whose POST bodies are measured and enforced; other paths pass through. Paths ending in /v1/metrics carry OTLP, the others Prometheus remote write.',
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
  // The admin view's upstream probe (docs/admin-api.md#upstream-health): its own timer and request, off the proxy path.
  {
    env: 'UPSTREAM_HEALTH_PATH',
    kind: 'string',
    defaultValue: '/ready',
    description:
      'Path the admin health view GETs on the upstream (Mimir distributors serve `/ready`); 2xx is up. Empty: no probe.',
  },
  {
    env: 'UPSTREAM_HEALTH_INTERVAL',
    kind: 'duration',
    defaultValue: '10s',
    description:
      'How often the upstream health path is probed; the first probe runs one interval after start.',
  },
  {
    env: 'UPSTREAM_HEALTH_TIMEOUT',
    kind: 'duration',
    defaultValue: '2s',
    description:
      'Longest wait for a probe answer (at most the interval); past it the upstream counts as down.',
  },
  // Hardening of the proxy listener (docs/hardening.md).
  {
    env: 'MAX_INFLIGHT_REQUESTS',
    kind: 'int',
    defaultValue: '1024',
    description:
      'Most requests the proxy handles at once; more are answered 503 + Retry-After, never queued.',
  },
  {
    env: 'MAX_INFLIGHT_BYTES',
    kind: 'int',
    defaultValue: '268435456',
    description:
      'Most bytes of write bodies buffered at once; a body that does not fit is answered 503 + Retry-After.',
  },
  {
    env: 'MAX_TENANT_LABELS',
    kind: 'int',
    defaultValue: '1000',
    description:
      'Most tenants without configuration named in metric labels and admin stats at once; later ones are counted as tenant="__other__". Configured tenants are always named.',
  },
  {
    env: 'TENANT_IDLE_TIMEOUT',
    kind: 'duration',
    defaultValue: '1h',
    allowZero: true,
    description:
      'A tenant without configuration unseen this long loses its label, admin stats and history, freeing its place under MAX_TENANT_LABELS. 0: never.',
  },
  {
    env: 'PROXY_HEADERS_TIMEOUT',
    kind: 'duration',
    defaultValue: '10s',
    description: 'A client that has not sent its complete headers by then is answered 408 and disconnected.',
  },
  {
    env: 'PROXY_REQUEST_TIMEOUT',
    kind: 'duration',
    defaultValue: '120s',
    description:
      'A client that has not sent its whole request (body included) by then gets 408 and is disconnected.',
  },
  {
    env: 'PROXY_KEEPALIVE_TIMEOUT',
    kind: 'duration',
    defaultValue: '65s',
    description: 'Idle keep-alive client connections are closed after this.',
  },
  {
    env: 'PROXY_MAX_HEADER_BYTES',
    kind: 'int',
    defaultValue: '16384',
    description: 'Most bytes of request line and headers; larger requests are answered 431.',
  },
  {
    env: 'SHUTDOWN_DELAY',
    kind: 'duration',
    defaultValue: '0s',
    allowZero: true,
    description:
      'On SIGTERM, keep serving this long while /api/health answers 503 "draining", so load balancers stop sending first.',
  },
  {
    env: 'SHUTDOWN_GRACE',
    kind: 'duration',
    defaultValue: '10s',
    description: 'Then, how long requests in flight may take to finish before their connections are closed.',
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
    env: 'LOG_DENIALS',
    kind: 'enum',
    defaultValue: 'sampled',
    choices: ['sampled', 'all', 'none'],
    description:
      'Denial log lines: sampled (the first per tenant and reason, then one per LOG_DENIALS_INTERVAL with the count left out), all, or none. Metrics count every denial either way.',
  },
  {
    env: 'LOG_DENIALS_INTERVAL',
    kind: 'duration',
    defaultValue: '10s',
    description:
      'With LOG_DENIALS=sampled: the least time between two denial lines for one tenant and reason.',
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
    description: 'Envoy ext_authz gRPC (envoy.service.auth.v3.Authorization) and gRPC health.',
  },
  { env: 'ADMIN_PORT', kind: 'int', defaultValue: '8082', description: 'Admin HTTP API.' },
  {
    env: 'RATELIMIT_PORT',
    kind: 'int',
    defaultValue: '8083',
    description: 'Envoy rate limit gRPC (envoy.service.ratelimit.v3.RateLimitService) and gRPC health.',
  },
  { env: 'METRICS_PORT', kind: 'int', defaultValue: '9090', description: 'Prometheus /metrics.' },
  {
    env: 'EXT_AUTHZ_PARTIAL_BODY',
    kind: 'enum',
    defaultValue: 'deny',
    choices: ['deny', 'headers'],
    description:
      'When Envoy sends ext_authz a truncated body (x-envoy-auth-partial-body: true) or none: deny (413) or headers (decide on tenant, declared size and request_rate only).',
  },
  {
    env: 'RATELIMIT_CONFIG',
    kind: 'string',
    defaultValue: '',
    description:
      'envoyproxy/ratelimit descriptor YAML: a file or a directory of *.yaml files, reloaded on change; empty: tenant fallback only.',
  },
  {
    env: 'RATELIMIT_CONFIG_RELOAD_INTERVAL',
    kind: 'duration',
    defaultValue: '10s',
    description: 'How often RATELIMIT_CONFIG is checked for changes.',
  },
  {
    env: 'RATELIMIT_TENANT_KEY',
    kind: 'string',
    defaultValue: '',
    description:
      "Descriptor key whose value is a tenant; unmatched descriptors with it use the tenant's request_rate. Empty: the TENANT_HEADER name.",
  },
  {
    env: 'RATELIMIT_RESPONSE_HEADERS',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'Add x-ratelimit-limit/-remaining/-reset of the closest descriptor to ShouldRateLimit responses.',
  },
  {
    env: 'MERGE_DOMAIN_CONFIG',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: RATELIMIT_CONFIG files naming the same domain are merged (a descriptor both define is still refused); false: refused.',
  },
  {
    env: 'SHADOW_MODE',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: ShouldRateLimit always answers OK overall (descriptor statuses still say OVER_LIMIT); counted in ratelimit_service_global_shadow_mode.',
  },
  {
    env: 'QUOTA_MODE',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: every descriptor is in quota mode (quota_mode): OVER_LIMIT overall only when all of them are over.',
  },
  {
    env: 'LIMIT_RESPONSE_HEADERS_ENABLED',
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: add LIMIT_LIMIT_HEADER/LIMIT_REMAINING_HEADER/LIMIT_RESET_HEADER of the closest descriptor to ShouldRateLimit responses.',
  },
  {
    env: 'LIMIT_LIMIT_HEADER',
    kind: 'string',
    defaultValue: 'RateLimit-Limit',
    description: 'Header name for the limit when LIMIT_RESPONSE_HEADERS_ENABLED is on.',
  },
  {
    env: 'LIMIT_REMAINING_HEADER',
    kind: 'string',
    defaultValue: 'RateLimit-Remaining',
    description: 'Header name for the remaining count when LIMIT_RESPONSE_HEADERS_ENABLED is on.',
  },
  {
    env: 'LIMIT_RESET_HEADER',
    kind: 'string',
    defaultValue: 'RateLimit-Reset',
    description: 'Header name for the seconds until reset when LIMIT_RESPONSE_HEADERS_ENABLED is on.',
  },
  {
    env: 'RESPONSE_DYNAMIC_METADATA',
    kind: 'bool',
    defaultValue: 'false',
    description:
      "envoyproxy/ratelimit: send dynamic_metadata (domain, descriptors, the passed descriptors' metadata) in ShouldRateLimit responses.",
  },
  {
    env: 'AUTHZ_HTTP_PATH',
    kind: 'string',
    defaultValue: '/_edge/authz',
    description:
      'Path prefix on the proxy port answering headers-only authz (Envoy http_service, NGINX auth_request); empty: off.',
  },
  {
    env: 'GRPC_TLS_CERT_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'PEM certificate for the gRPC ports; with GRPC_TLS_KEY_FILE turns on TLS.',
  },
  {
    env: 'GRPC_TLS_KEY_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'PEM private key for the gRPC ports.',
  },
  {
    env: 'GRPC_TLS_CLIENT_CA_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'PEM CA bundle: when set, gRPC clients must present a certificate it signed (mTLS).',
  },
  {
    env: 'PROXY_TLS_CERT_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'PEM certificate (chain) for the proxy port; with PROXY_TLS_KEY_FILE it serves HTTPS only.',
  },
  {
    env: 'PROXY_TLS_KEY_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'PEM private key for the proxy port.',
  },
  {
    env: 'ADMIN_TLS_CERT_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'PEM certificate (chain) for the admin port; with ADMIN_TLS_KEY_FILE it serves HTTPS only.',
  },
  {
    env: 'ADMIN_TLS_KEY_FILE',
    kind: 'string',
    defaultValue: '',
    description: 'PEM private key for the admin port.',
  },
  {
    env: 'TLS_RELOAD_INTERVAL',
    kind: 'duration',
    defaultValue: '10s',
    description:
      'How often the TLS certificate, key and CA files are checked; changed files apply to new connections.',
  },
  {
    env: 'ADMIN_TOKEN',
    kind: 'string',
    defaultValue: '',
    description:
      'Bearer token with the admin role for the admin API and UI. With neither this nor ADMIN_TOKENS_FILE, one is generated at start and logged once.',
  },
  {
    env: 'ADMIN_TOKENS_FILE',
    kind: 'string',
    defaultValue: '',
    description:
      'YAML list of admin API tokens: `- {name, token, role}` with role viewer, operator or admin.',
  },
  {
    env: 'ADMIN_CORS_ORIGINS',
    kind: 'list',
    defaultValue: '',
    description:
      'Comma-separated origins allowed to call the admin API from a browser (CORS); empty: CORS off.',
  },
  {
    env: 'ADMIN_DEBUG',
    kind: 'bool',
    defaultValue: 'false',
    description: 'Enables the admin debug endpoints that change state (POST /api/debug/*).',
  },
  // Shared limits on Redis (docs/redis.md).
  {
    env: 'REDIS_ADDRESS',
    kind: 'string',
    defaultValue: '',
    description:
      'Redis holding the buckets all replicas share: host:port (cluster: seed list, sentinel: the sentinels, comma-separated). Empty: buckets kept in process.',
  },
  {
    env: 'REDIS_MODE',
    kind: 'enum',
    defaultValue: 'standalone',
    choices: ['standalone', 'sentinel', 'cluster'],
    description: 'How REDIS_ADDRESS is read: one server, Sentinel (REDIS_SENTINEL_MASTER), or Cluster seeds.',
  },
  {
    env: 'REDIS_SENTINEL_MASTER',
    kind: 'string',
    defaultValue: 'mymaster',
    description: 'Master name asked of the sentinels (REDIS_MODE=sentinel).',
  },
  {
    env: 'REDIS_USERNAME',
    kind: 'string',
    defaultValue: '',
    description: 'Redis ACL user (empty: default user).',
  },
  { env: 'REDIS_PASSWORD', kind: 'string', defaultValue: '', description: 'Redis password (empty: none).' },
  {
    env: 'REDIS_POOL_SIZE',
    kind: 'int',
    defaultValue: '4',
    description: 'Connections to Redis (standalone, sentinel); each pipelines many batched checks.',
  },
  {
    env: 'REDIS_MIN_IDLE_CONNS',
    kind: 'int',
    defaultValue: '1',
    description: 'Connections opened at start; the rest of the pool opens when load needs it.',
  },
  {
    env: 'REDIS_TIMEOUT',
    kind: 'duration',
    defaultValue: '100ms',
    description: 'Longest wait for a Redis answer; past it the request is decided from the local fallback.',
  },
  {
    env: 'REDIS_KEY_PREFIX',
    kind: 'string',
    defaultValue: 'rls:',
    description: 'Prefix of every Redis key.',
  },
  {
    env: 'REDIS_FALLBACK',
    kind: 'enum',
    defaultValue: 'local',
    choices: ['local', 'none'],
    description:
      "When Redis is unreachable: local = decide in process with this replica's share of each limit; none = fail (FAILURE_MODE_ALLOW decides).",
  },
  {
    env: 'REDIS_FALLBACK_REPLICAS',
    kind: 'int',
    defaultValue: '0',
    description:
      'Replicas the limit is shared among in fallback; 0 = count live replicas from heartbeats in Redis.',
  },
  {
    env: 'REDIS_BREAKER_FAILURES',
    kind: 'int',
    defaultValue: '3',
    description: 'Consecutive failed Redis round trips that switch to the local fallback.',
  },
  {
    env: 'REDIS_BREAKER_COOLDOWN',
    kind: 'duration',
    defaultValue: '1s',
    description: 'How often Redis is probed while in fallback; the first good probe switches back.',
  },
  {
    env: 'REDIS_LOCAL_CACHE',
    kind: 'bool',
    defaultValue: 'true',
    description:
      'Answer a tenant already over its limit from a local upper bound of its bucket, without asking Redis.',
  },
  {
    env: 'REDIS_NEAR_GLOBAL_TENANTS',
    kind: 'list',
    defaultValue: '',
    description:
      'Tenants decided near-globally (docs/redis.md): local tokens reconciled with Redis every REDIS_NEAR_GLOBAL_SYNC; * = all. Empty: every tenant exact.',
  },
  {
    env: 'REDIS_NEAR_GLOBAL_SYNC',
    kind: 'duration',
    defaultValue: '10ms',
    description:
      'How often near-global tenants report their local takes to Redis and read the shared level back.',
  },
  // Where the buckets live (docs/postgres.md).
  {
    env: 'STORE',
    kind: 'enum',
    defaultValue: 'auto',
    choices: ['auto', 'memory', 'redis', 'postgres'],
    description:
      'Bucket store: auto = redis when REDIS_ADDRESS is set, else memory; postgres needs POSTGRES_URL.',
  },
  {
    env: 'POSTGRES_URL',
    kind: 'string',
    defaultValue: '',
    description:
      'PostgreSQL holding the buckets all replicas share (STORE=postgres), e.g. postgres://edge@db/limits.',
  },
  {
    env: 'POSTGRES_POOL_SIZE',
    kind: 'int',
    defaultValue: '8',
    description: 'Connections to PostgreSQL; each runs one bucket statement at a time.',
  },
  {
    env: 'POSTGRES_TABLE',
    kind: 'string',
    defaultValue: 'rls_buckets',
    description: 'Table holding the buckets (created when missing); may be schema.table.',
  },
  // Policies applied to every request the edge handles (docs/policies.md).
  {
    env: 'POLICY_FILE',
    kind: 'string',
    defaultValue: '',
    description:
      'YAML/JSON policy set (docs/policies.md) applied to every request on the proxy, ext_authz and the authz endpoint; reloaded on change. Empty: off.',
  },
  {
    env: 'POLICY_RELOAD_INTERVAL',
    kind: 'duration',
    defaultValue: '10s',
    description: 'How often POLICY_FILE is checked for changes (also reloaded on SIGHUP).',
  },
  {
    env: 'POLICY_HEADERS',
    kind: 'list',
    defaultValue: 'draft',
    description:
      'Rate-limit headers sent for policies: any of draft (RateLimit-Policy, RateLimit), legacy (RateLimit-Limit/-Remaining/-Reset), x-ratelimit.',
  },
  {
    env: 'TRUSTED_PROXIES',
    kind: 'list',
    defaultValue: '',
    description:
      'Addresses and CIDRs of proxies whose CLIENT_IP_HEADER is believed when finding the client IP for policies. Empty: the socket peer is the client.',
  },
  {
    env: 'CLIENT_IP_HEADER',
    kind: 'enum',
    defaultValue: 'x-forwarded-for',
    choices: ['x-forwarded-for', 'forwarded'],
    description: 'Header trusted proxies name the client in (RFC 7239 forwarded or x-forwarded-for).',
  },
  {
    env: 'API_KEY_HEADER',
    kind: 'string',
    defaultValue: 'x-api-key',
    description: 'Header carrying the API key that api_key-scoped policies and lists use.',
  },
  {
    env: 'JWT_JWKS_URL',
    kind: 'string',
    defaultValue: '',
    description:
      'JWKS URL that verifies bearer tokens naming the user of user-scoped policies. Empty (and no JWT_SECRET): users are counted by client IP.',
  },
  {
    env: 'JWT_SECRET',
    kind: 'string',
    defaultValue: '',
    description: 'Shared secret verifying HS256/384/512 bearer tokens, instead of JWT_JWKS_URL.',
  },
  {
    env: 'JWT_ISSUER',
    kind: 'string',
    defaultValue: '',
    description: 'Required `iss` of bearer tokens. Empty: not checked.',
  },
  {
    env: 'JWT_AUDIENCE',
    kind: 'string',
    defaultValue: '',
    description: 'Required `aud` of bearer tokens. Empty: not checked.',
  },
  {
    env: 'JWT_USER_CLAIM',
    kind: 'string',
    defaultValue: 'sub',
    description: 'Claim naming the user (e.g. company_id).',
  },
  {
    env: 'JWT_TIER_CLAIM',
    kind: 'string',
    defaultValue: '',
    description: "Claim naming the caller's tier for tiered policies (e.g. plan). Empty: no tier.",
  },
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
    keepAliveTimeoutMs: number;
    maxHeaderBytes: number;
  };
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
  logLevel: string;
  /** Which denials get a log line (src/decide/denial-log-gate.ts). */
  logDenials: { mode: DenialLogMode; intervalMs: number };
  logFormat: 'json' | 'text';
  bindAddress: string;
  ports: { proxy: number; extAuthz: number; admin: number; ratelimit: number; metrics: number };
  /** Limits for tenants without an override. */
  defaultLimits: TenantLimits;
  /** Per-tenant enforcement switches from the config file. */
  tenantEnforcement: ReadonlyMap<string, { enabled: boolean; limits: Partial<Record<LimitName, boolean>> }>;
  /** Envoy / gateway transports: ext_authz, rate limit service, HTTP authz endpoint. */
  gateway: {
    partialBody: 'deny' | 'headers';
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
    /** Response header names; undefined: RATELIMIT_RESPONSE_HEADERS' x-ratelimit-* (or none when off). */
    ratelimitHeaderNames: { limit: string; remaining: string; reset: string } | undefined;
    authzHttpPath: string;
    grpcTls: { certFile: string; keyFile: string; clientCaFile: string };
  };
  admin: { token: string; tokensFile: string; corsOrigins: readonly string[]; debug: boolean };
  /** Shared buckets on Redis; `addresses` empty when not configured. */
  redis: RedisSettings;
  /** Which store keeps the buckets (STORE), and PostgreSQL's settings. */
  store: StoreKind;
  postgres: PostgresSettings;
  /** The policy set applied to every request, and where its identities come from (docs/policies.md). */
  policy: PolicySettings;
}

export interface PolicySettings {
  /** Empty: no policies, and the proxy pays nothing for them. */
  file: string;
  reloadMs: number;
  headers: readonly ('draft' | 'legacy' | 'x-ratelimit')[];
  trustedProxies: readonly string[];
  clientIpHeader: 'x-forwarded-for' | 'forwarded';
  /** Lower-cased. */
  apiKeyHeader: string;
  jwt: {
    jwksUrl: string;
    secret: string;
    issuer: string;
    audience: string;
    userClaim: string;
    tierClaim: string;
  };
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
      if (def.env === 'MAX_REQUEST_BYTES' && n < 1) bad('must be at least 1');
      if ((def.env.startsWith('MAX_INFLIGHT_') || def.env === 'MAX_TENANT_LABELS') && n < 1)
        bad('must be at least 1');
      if (def.env === 'PROXY_MAX_HEADER_BYTES' && n < 1024) bad('must be at least 1024');
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
      if (ms === undefined || ms < 0 || (ms === 0 && def.allowZero !== true))
        bad('must be a duration such as 500ms, 10s or 1m');
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
    const def = SETTING_DEFINITIONS.find((d) => d.env === env)!;
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (def.kind === 'bool' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')))
      value = 'true';
    else value = argv[++i];
    if (value === undefined) throw new ConfigError('command line', flag, 'needs a value');
    values.set(env, value);
  }
  return values;
}

interface ConfigFileContent {
  settings: Map<string, string>;
  defaults: Partial<Record<LimitName, LimitValue>>;
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
        content.defaults[def.name] = limitValue(def, v);
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

  const defaultLimits = {} as Record<LimitName, LimitValue>;
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
  const healthPath = (get('UPSTREAM_HEALTH_PATH') as string).trim();
  // A path without its slash would be joined onto the upstream's host name by URL resolution.
  if (healthPath !== '' && !healthPath.startsWith('/'))
    throw new ConfigError(
      raw('UPSTREAM_HEALTH_PATH').source,
      'UPSTREAM_HEALTH_PATH',
      `must start with "/" (or be empty to turn the probe off), got ${JSON.stringify(healthPath)}`,
    );
  const settings: Settings = {
    upstreamUrl: upstream,
    overridesFile: get('OVERRIDES_FILE') as string,
    overridesReloadIntervalMs: get('OVERRIDES_RELOAD_INTERVAL') as number,
    overridesConfigMap: get('OVERRIDES_CONFIGMAP') as string,
    overridesConfigMapKey: get('OVERRIDES_CONFIGMAP_KEY') as string,
    stateDir: get('STATE_DIR') as string,
    configSyncIntervalMs: get('CONFIG_SYNC_INTERVAL') as number,
    configFile: configPath,
    tenantHeader: (get('TENANT_HEADER') as string).toLowerCase(),
    tenantHeaderName: get('TENANT_HEADER') as string,
    tenantFromBasicAuth: get('TENANT_FROM_BASIC_AUTH') as boolean,
    remoteWritePaths: Object.freeze(get('REMOTE_WRITE_PATHS') as string[]),
    maxRequestBytes: get('MAX_REQUEST_BYTES') as number,
    failureModeAllow: get('FAILURE_MODE_ALLOW') as boolean,
    dryRun: get('DRY_RUN') as boolean,
    upstreamTimeoutMs: get('UPSTREAM_TIMEOUT') as number,
    upstreamHealth: Object.freeze({
      path: healthPath,
      intervalMs: get('UPSTREAM_HEALTH_INTERVAL') as number,
      timeoutMs: Math.min(
        get('UPSTREAM_HEALTH_TIMEOUT') as number,
        get('UPSTREAM_HEALTH_INTERVAL') as number,
      ),
    }),
    proxyLimits: Object.freeze({
      maxInflightRequests: get('MAX_INFLIGHT_REQUESTS') as number,
      maxInflightBytes: get('MAX_INFLIGHT_BYTES') as number,
      headersTimeoutMs: get('PROXY_HEADERS_TIMEOUT') as number,
      requestTimeoutMs: get('PROXY_REQUEST_TIMEOUT') as number,
      keepAliveTimeoutMs: get('PROXY_KEEPALIVE_TIMEOUT') as number,
      maxHeaderBytes: get('PROXY_MAX_HEADER_BYTES') as number,
    }),
    tenantLabels: Object.freeze({
      max: get('MAX_TENANT_LABELS') as number,
      idleTimeoutMs: get('TENANT_IDLE_TIMEOUT') as number,
    }),
    tls: Object.freeze({
      proxy: Object.freeze({
        certFile: get('PROXY_TLS_CERT_FILE') as string,
        keyFile: get('PROXY_TLS_KEY_FILE') as string,
      }),
      admin: Object.freeze({
        certFile: get('ADMIN_TLS_CERT_FILE') as string,
        keyFile: get('ADMIN_TLS_KEY_FILE') as string,
      }),
      reloadMs: get('TLS_RELOAD_INTERVAL') as number,
    }),
    shutdown: Object.freeze({
      delayMs: get('SHUTDOWN_DELAY') as number,
      graceMs: get('SHUTDOWN_GRACE') as number,
    }),
    logLevel: get('LOG_LEVEL') as string,
    logDenials: Object.freeze({
      mode: get('LOG_DENIALS') as DenialLogMode,
      intervalMs: get('LOG_DENIALS_INTERVAL') as number,
    }),
    logFormat: get('LOG_FORMAT') as 'json' | 'text',
    bindAddress: get('BIND_ADDRESS') as string,
    ports: Object.freeze({
      proxy: get('PROXY_PORT') as number,
      extAuthz: get('EXT_AUTHZ_PORT') as number,
      admin: get('ADMIN_PORT') as number,
      ratelimit: get('RATELIMIT_PORT') as number,
      metrics: get('METRICS_PORT') as number,
    }),
    defaultLimits: Object.freeze(defaultLimits) as TenantLimits,
    tenantEnforcement: file?.enforcement ?? new Map(),
    gateway: Object.freeze({
      partialBody: get('EXT_AUTHZ_PARTIAL_BODY') as 'deny' | 'headers',
      ratelimitConfig: get('RATELIMIT_CONFIG') as string,
      ratelimitReloadMs: get('RATELIMIT_CONFIG_RELOAD_INTERVAL') as number,
      ratelimitTenantKey: (
        (get('RATELIMIT_TENANT_KEY') as string) || (get('TENANT_HEADER') as string)
      ).toLowerCase(),
      ratelimitResponseHeaders: get('RATELIMIT_RESPONSE_HEADERS') as boolean,
      ratelimitMergeDomains: get('MERGE_DOMAIN_CONFIG') as boolean,
      ratelimitShadowMode: get('SHADOW_MODE') as boolean,
      ratelimitQuotaMode: get('QUOTA_MODE') as boolean,
      ratelimitDynamicMetadata: get('RESPONSE_DYNAMIC_METADATA') as boolean,
      ratelimitHeaderNames: (get('LIMIT_RESPONSE_HEADERS_ENABLED') as boolean)
        ? Object.freeze({
            limit: get('LIMIT_LIMIT_HEADER') as string,
            remaining: get('LIMIT_REMAINING_HEADER') as string,
            reset: get('LIMIT_RESET_HEADER') as string,
          })
        : undefined,
      authzHttpPath: (get('AUTHZ_HTTP_PATH') as string).replace(/\/+$/, ''),
      grpcTls: Object.freeze({
        certFile: get('GRPC_TLS_CERT_FILE') as string,
        keyFile: get('GRPC_TLS_KEY_FILE') as string,
        clientCaFile: get('GRPC_TLS_CLIENT_CA_FILE') as string,
      }),
    }),
    admin: Object.freeze({
      token: get('ADMIN_TOKEN') as string,
      tokensFile: get('ADMIN_TOKENS_FILE') as string,
      corsOrigins: Object.freeze(get('ADMIN_CORS_ORIGINS') as string[]),
      debug: get('ADMIN_DEBUG') as boolean,
    }),
    redis: redisSettings(get, raw('REDIS_ADDRESS').source),
    store: get('STORE') as StoreKind,
    postgres: Object.freeze({
      url: get('POSTGRES_URL') as string,
      poolSize: get('POSTGRES_POOL_SIZE') as number,
      table: get('POSTGRES_TABLE') as string,
    }),
    policy: policySettings(get, raw),
  };
  checkStoreSettings(settings.store, settings.postgres, settings.redis.addresses.length > 0);
  return Object.freeze(settings);
}

const HEADER_STYLES = ['draft', 'legacy', 'x-ratelimit'] as const;

function policySettings(
  get: (name: (typeof SETTING_DEFINITIONS)[number]['env']) => ReturnType<typeof parseValue>,
  raw: (name: string) => { value: string; source: string },
): PolicySettings {
  const headers = get('POLICY_HEADERS') as string[];
  for (const h of headers) {
    if (!(HEADER_STYLES as readonly string[]).includes(h))
      throw new ConfigError(
        raw('POLICY_HEADERS').source,
        'POLICY_HEADERS',
        `${JSON.stringify(h)} is not one of ${HEADER_STYLES.join(', ')}`,
      );
  }
  const jwt = {
    jwksUrl: get('JWT_JWKS_URL') as string,
    secret: get('JWT_SECRET') as string,
    issuer: get('JWT_ISSUER') as string,
    audience: get('JWT_AUDIENCE') as string,
    userClaim: get('JWT_USER_CLAIM') as string,
    tierClaim: get('JWT_TIER_CLAIM') as string,
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
    file: get('POLICY_FILE') as string,
    reloadMs: get('POLICY_RELOAD_INTERVAL') as number,
    headers: Object.freeze(headers as PolicySettings['headers'][number][]),
    trustedProxies: Object.freeze(get('TRUSTED_PROXIES') as string[]),
    clientIpHeader: get('CLIENT_IP_HEADER') as PolicySettings['clientIpHeader'],
    apiKeyHeader: (get('API_KEY_HEADER') as string).toLowerCase(),
    jwt: Object.freeze(jwt),
  });
}

function redisSettings(
  get: (name: (typeof SETTING_DEFINITIONS)[number]['env']) => ReturnType<typeof parseValue>,
  addressSource: string,
): RedisSettings {
  const mode = get('REDIS_MODE') as RedisMode;
  const redis: RedisSettings = {
    addresses: Object.freeze(parseRedisAddresses(get('REDIS_ADDRESS') as string, mode, addressSource)),
    mode,
    sentinelMaster: get('REDIS_SENTINEL_MASTER') as string,
    username: get('REDIS_USERNAME') as string,
    password: get('REDIS_PASSWORD') as string,
    poolSize: get('REDIS_POOL_SIZE') as number,
    minIdleConns: get('REDIS_MIN_IDLE_CONNS') as number,
    timeoutMs: get('REDIS_TIMEOUT') as number,
    keyPrefix: get('REDIS_KEY_PREFIX') as string,
    fallback: get('REDIS_FALLBACK') as RedisFallback,
    fallbackReplicas: get('REDIS_FALLBACK_REPLICAS') as number,
    breakerFailures: get('REDIS_BREAKER_FAILURES') as number,
    breakerCooldownMs: get('REDIS_BREAKER_COOLDOWN') as number,
    localCache: get('REDIS_LOCAL_CACHE') as boolean,
    nearGlobalTenants: Object.freeze(get('REDIS_NEAR_GLOBAL_TENANTS') as string[]),
    nearGlobalSyncMs: get('REDIS_NEAR_GLOBAL_SYNC') as number,
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
