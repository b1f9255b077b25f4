// The address every listener binds to and the port of each.
// How to add a setting: src/settings/definitions/index.ts.

import { PORT } from '../setting-kinds.js';
import type { SettingDefinitions } from '../setting-kinds.js';

export const LISTENER_SETTINGS = {
  BIND_ADDRESS: { kind: 'string', defaultValue: '0.0.0.0', description: 'Address every listener binds to.' },
  PROXY_PORT: {
    kind: 'int',
    ...PORT,
    defaultValue: '8080',
    description: 'HTTP reverse proxy (remote write in, upstream out).',
  },
  EXT_AUTHZ_PORT: {
    kind: 'int',
    ...PORT,
    defaultValue: '8081',
    description: 'Envoy ext_authz gRPC (envoy.service.auth.v3.Authorization) and gRPC health.',
  },
  ADMIN_PORT: { kind: 'int', ...PORT, defaultValue: '8082', description: 'Admin HTTP API.' },
  RATELIMIT_PORT: {
    kind: 'int',
    ...PORT,
    defaultValue: '8083',
    description: 'Envoy rate limit gRPC (envoy.service.ratelimit.v3.RateLimitService) and gRPC health.',
  },
  METRICS_PORT: { kind: 'int', ...PORT, defaultValue: '9090', description: 'Prometheus /metrics.' },
} as const satisfies SettingDefinitions;
