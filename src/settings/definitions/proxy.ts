// Bounds of the proxy listener (docs/hardening.md): requests and bytes in flight, tenant labels, client
// timeouts, header size, and the graceful stop.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const PROXY_SETTINGS = {
  MAX_INFLIGHT_REQUESTS: {
    kind: 'int',
    min: 1,
    defaultValue: '1024',
    description:
      'Most requests the proxy handles at once; more are answered 503 + Retry-After, never queued.',
  },
  MAX_INFLIGHT_BYTES: {
    kind: 'int',
    min: 1,
    defaultValue: '268435456',
    description:
      'Most bytes of write bodies buffered at once; a body that does not fit is answered 503 + Retry-After.',
  },
  MAX_TENANT_LABELS: {
    kind: 'int',
    min: 1,
    defaultValue: '1000',
    description:
      'Most tenants without configuration named in metric labels and admin stats at once; later ones are counted as tenant="__other__". Configured tenants are always named.',
  },
  TENANT_IDLE_TIMEOUT: {
    kind: 'duration',
    defaultValue: '1h',
    allowZero: true,
    description:
      'A tenant without configuration unseen this long loses its label, admin stats and history, freeing its place under MAX_TENANT_LABELS. 0: never.',
  },
  PROXY_HEADERS_TIMEOUT: {
    kind: 'duration',
    defaultValue: '10s',
    description: 'A client that has not sent its complete headers by then is answered 408 and disconnected.',
  },
  PROXY_REQUEST_TIMEOUT: {
    kind: 'duration',
    defaultValue: '120s',
    description:
      'A client that has not sent its whole request (body included) by then gets 408 and is disconnected.',
  },
  PROXY_BODY_IDLE_TIMEOUT: {
    kind: 'duration',
    defaultValue: '10s',
    description:
      'A write body that stalls (no byte for this long) is cut: 408, disconnected, and its buffered bytes freed.',
  },
  PROXY_KEEPALIVE_TIMEOUT: {
    kind: 'duration',
    defaultValue: '65s',
    description: 'Idle keep-alive client connections are closed after this.',
  },
  PROXY_MAX_HEADER_BYTES: {
    kind: 'int',
    min: 1024,
    defaultValue: '16384',
    description: 'Most bytes of request line and headers; larger requests are answered 431.',
  },
  SHUTDOWN_DELAY: {
    kind: 'duration',
    defaultValue: '0s',
    allowZero: true,
    description:
      'On SIGTERM, keep serving this long while /api/health answers 503 "draining", so load balancers stop sending first.',
  },
  SHUTDOWN_GRACE: {
    kind: 'duration',
    defaultValue: '10s',
    description: 'Then, how long requests in flight may take to finish before their connections are closed.',
  },
  RETRY_AFTER_HEADER_ENABLED: {
    kind: 'bool',
    defaultValue: 'true',
    description:
      "Put Retry-After on every 429 and 5xx the edge answers, computed as Mimir's -distributor.retry-after-header.enabled does: MIN_BACKOFF × 2^(Retry-Attempt − 1), capped at MAX_BACKOFF, ±50 % jitter. false: no Retry-After on them.",
  },
  RETRY_AFTER_HEADER_MIN_BACKOFF: {
    kind: 'duration',
    defaultValue: '6s',
    description:
      "Shortest Retry-After, for a first attempt (Mimir's -distributor.retry-after-header.min-backoff); at least 1s.",
  },
  RETRY_AFTER_HEADER_MAX_BACKOFF: {
    kind: 'duration',
    defaultValue: '96s',
    description:
      "Longest Retry-After, however many attempts the client counts (Mimir's -distributor.retry-after-header.max-backoff); at least 1s.",
  },
} as const satisfies SettingDefinitions;
