// Where writes go and how tenants and limits are found: upstream, overrides, state, tenant header,
// the remote-write paths, the failure and dry-run modes and the upstream probe of the admin view.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const SERVICE_SETTINGS = {
  UPSTREAM_URL: {
    kind: 'url',
    defaultValue: 'http://127.0.0.1:9009',
    description:
      'Base URL allowed requests are forwarded to (Mimir distributors or any HTTP API); the request path is kept.',
  },
  OVERRIDES_FILE: {
    kind: 'string',
    defaultValue: '',
    description: 'Mimir runtime-overrides YAML (the `overrides:` map Mimir reads); empty: defaults only.',
  },
  OVERRIDES_RELOAD_INTERVAL: {
    kind: 'duration',
    defaultValue: '10s',
    description: 'How often the overrides file is checked for changes (also reloaded on SIGHUP).',
  },
  OVERRIDES_CONFIGMAP: {
    kind: 'string',
    defaultValue: '',
    description:
      'namespace/name of a ConfigMap holding Mimir runtime overrides, watched through the Kubernetes API (in-cluster service account or KUBECONFIG); instead of OVERRIDES_FILE. Empty: off.',
  },
  OVERRIDES_CONFIGMAP_KEY: {
    kind: 'string',
    defaultValue: 'overrides.yaml',
    description: 'Key of OVERRIDES_CONFIGMAP whose value is the runtime-overrides YAML.',
  },
  STATE_DIR: {
    kind: 'string',
    defaultValue: '',
    description:
      'Directory where runtime limits, config versions and the audit log are kept across restarts (one per replica). Empty: in memory only.',
  },
  CONFIG_SYNC_INTERVAL: {
    kind: 'duration',
    defaultValue: '10s',
    description:
      'With REDIS_ADDRESS: how often each replica re-reads the shared limits configuration in full, in case a change notification was missed.',
  },
  CONFIG_FILE: {
    kind: 'string',
    defaultValue: '',
    description:
      'Optional YAML file holding any of these settings (lower-case keys), `defaults:` limits and per-tenant `enforcement:`.',
  },
  TENANT_HEADER: {
    kind: 'string',
    defaultValue: 'X-Scope-OrgID',
    description: 'Header that names the tenant.',
  },
  TENANT_FROM_BASIC_AUTH: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'Use the basic-auth username as the tenant, sent upstream in the tenant header. A tenant header naming another tenant than the username is refused 403 (err-mimir-edge-tenant-mismatch); the same tenant, or no header, is accepted.',
  },
  REMOTE_WRITE_PATHS: {
    kind: 'list',
    defaultValue: '/api/v1/push,/api/v1/write,/otlp/v1/metrics',
    description:
      'Comma-separated paths whose POST bodies are measured and enforced; other paths pass through. Paths ending in /v1/metrics carry OTLP, the others Prometheus remote write.',
  },
  MAX_REQUEST_BYTES: {
    kind: 'int',
    min: 1,
    defaultValue: '52428800',
    description:
      'Hard cap on a write body, on the wire and after decompression (413 beyond it), whatever the tenant limits say.',
  },
  FAILURE_MODE_ALLOW: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'When enforcement itself fails (an internal error), forward the request instead of answering 500.',
  },
  DRY_RUN: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'Observe every limit and never deny: denials are recorded as "would deny" and the request is forwarded.',
  },
  UPSTREAM_TIMEOUT: {
    kind: 'duration',
    defaultValue: '30s',
    description: 'Longest wait for the upstream to answer a forwarded request (504 after it).',
  },
  // The admin view's upstream probe (docs/admin-api.md#upstream-health): its own timer and request, off the proxy path.
  UPSTREAM_HEALTH_PATH: {
    kind: 'string',
    defaultValue: '/ready',
    description:
      'Path the admin health view GETs on the upstream (Mimir distributors serve `/ready`); 2xx is up. Empty: no probe.',
  },
  UPSTREAM_HEALTH_INTERVAL: {
    kind: 'duration',
    defaultValue: '10s',
    description:
      'How often the upstream health path is probed; the first probe runs one interval after start.',
  },
  UPSTREAM_HEALTH_TIMEOUT: {
    kind: 'duration',
    defaultValue: '2s',
    description:
      'Longest wait for a probe answer (at most the interval); past it the upstream counts as down.',
  },
} as const satisfies SettingDefinitions;
