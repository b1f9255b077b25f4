// The Envoy transports (docs/envoy.md): ext_authz, the rate limit service and its descriptor config,
// the HTTP authz endpoint, and TLS of the gRPC ports.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const GATEWAY_SETTINGS = {
  EXT_AUTHZ_PARTIAL_BODY: {
    kind: 'enum',
    defaultValue: 'deny',
    choices: ['deny', 'headers'],
    description:
      'When Envoy sends ext_authz a truncated body (x-envoy-auth-partial-body: true) or none: deny (413) or headers (decide on tenant, declared size and request_rate only).',
  },
  RATELIMIT_CONFIG: {
    kind: 'string',
    defaultValue: '',
    description:
      'envoyproxy/ratelimit descriptor YAML: a file or a directory of *.yaml files, reloaded on change; empty: tenant fallback only.',
  },
  RATELIMIT_CONFIG_RELOAD_INTERVAL: {
    kind: 'duration',
    defaultValue: '10s',
    description: 'How often RATELIMIT_CONFIG is checked for changes.',
  },
  RATELIMIT_TENANT_KEY: {
    kind: 'string',
    defaultValue: '',
    description:
      "Descriptor key whose value is a tenant; unmatched descriptors with it use the tenant's request_rate. Empty: the TENANT_HEADER name.",
  },
  RATELIMIT_RESPONSE_HEADERS: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'Add x-ratelimit-limit/-remaining/-reset of the closest descriptor to ShouldRateLimit responses.',
  },
  MERGE_DOMAIN_CONFIG: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: RATELIMIT_CONFIG files naming the same domain are merged (a descriptor both define is still refused); false: refused.',
  },
  SHADOW_MODE: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: ShouldRateLimit always answers OK overall (descriptor statuses still say OVER_LIMIT); counted in ratelimit_service_global_shadow_mode.',
  },
  QUOTA_MODE: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: every descriptor is in quota mode (quota_mode): OVER_LIMIT overall only when all of them are over.',
  },
  LIMIT_RESPONSE_HEADERS_ENABLED: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'envoyproxy/ratelimit: add LIMIT_LIMIT_HEADER/LIMIT_REMAINING_HEADER/LIMIT_RESET_HEADER of the closest descriptor to ShouldRateLimit responses.',
  },
  LIMIT_LIMIT_HEADER: {
    kind: 'string',
    defaultValue: 'RateLimit-Limit',
    description: 'Header name for the limit when LIMIT_RESPONSE_HEADERS_ENABLED is on.',
  },
  LIMIT_REMAINING_HEADER: {
    kind: 'string',
    defaultValue: 'RateLimit-Remaining',
    description: 'Header name for the remaining count when LIMIT_RESPONSE_HEADERS_ENABLED is on.',
  },
  LIMIT_RESET_HEADER: {
    kind: 'string',
    defaultValue: 'RateLimit-Reset',
    description: 'Header name for the seconds until reset when LIMIT_RESPONSE_HEADERS_ENABLED is on.',
  },
  RESPONSE_DYNAMIC_METADATA: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      "envoyproxy/ratelimit: send dynamic_metadata (domain, descriptors, the passed descriptors' metadata) in ShouldRateLimit responses.",
  },
  AUTHZ_HTTP_PATH: {
    kind: 'string',
    defaultValue: '/_edge/authz',
    description:
      'Path prefix on the proxy port answering headers-only authz (Envoy http_service, NGINX auth_request); empty: off.',
  },
  GRPC_TLS_CERT_FILE: {
    kind: 'string',
    defaultValue: '',
    description: 'PEM certificate for the gRPC ports; with GRPC_TLS_KEY_FILE turns on TLS.',
  },
  GRPC_TLS_KEY_FILE: { kind: 'string', defaultValue: '', description: 'PEM private key for the gRPC ports.' },
  GRPC_TLS_CLIENT_CA_FILE: {
    kind: 'string',
    defaultValue: '',
    description: 'PEM CA bundle: when set, gRPC clients must present a certificate it signed (mTLS).',
  },
  GRPC_MAX_CONCURRENT_STREAMS: {
    kind: 'int',
    defaultValue: '100',
    min: 1,
    description:
      'Most calls open at once on one gRPC connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); more are refused.',
  },
  GRPC_MAX_CONNECTION_IDLE: {
    kind: 'duration',
    defaultValue: '5m',
    allowZero: true,
    description:
      'A gRPC connection with no call open for this long is closed (GOAWAY), preface-only ones too; 0: never.',
  },
  GRPC_MAX_CONNECTION_AGE: {
    kind: 'duration',
    defaultValue: '30m',
    allowZero: true,
    description:
      'A gRPC connection older than this (±10% jitter) is told to go away (GOAWAY) so clients rebalance; 0: never.',
  },
  GRPC_MAX_CONNECTION_AGE_GRACE: {
    kind: 'duration',
    defaultValue: '30s',
    allowZero: true,
    description:
      'After GRPC_MAX_CONNECTION_AGE, how long calls in flight may finish before the connection is cut.',
  },
  GRPC_KEEPALIVE_MIN_TIME: {
    kind: 'duration',
    defaultValue: '5m',
    allowZero: true,
    description:
      'Pings closer together than this are strikes; the third gets GOAWAY ENHANCE_YOUR_CALM (as grpc-go); 0: any rate.',
  },
  GRPC_KEEPALIVE_PERMIT_WITHOUT_STREAM: {
    kind: 'bool',
    defaultValue: 'false',
    description: 'Allow keepalive pings on a gRPC connection with no call open (otherwise each is a strike).',
  },
  GRPC_RECEIVE_TIMEOUT: {
    kind: 'duration',
    defaultValue: '10s',
    description:
      'A call whose request message has not fully arrived by then is cut with DEADLINE_EXCEEDED (grpc-timeout, when shorter, wins).',
  },
  RATELIMIT_MAX_COUNTERS: {
    kind: 'int',
    defaultValue: '100000',
    min: 1,
    description:
      'Most fixed-window counters the rate limit service keeps; a new descriptor value past it is answered OVER_LIMIT.',
  },
} as const satisfies SettingDefinitions;
