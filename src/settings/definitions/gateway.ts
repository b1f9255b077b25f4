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
} as const satisfies SettingDefinitions;
