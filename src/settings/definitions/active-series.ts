// Active series at the edge (docs/active-series.md): the window, how many tenants and how much memory, how many
// writes are read. How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const ACTIVE_SERIES_SETTINGS = {
  ACTIVE_SERIES_ENABLED: {
    kind: 'bool',
    defaultValue: 'true',
    description:
      "Estimate each tenant's active series (HyperLogLog over the window) and new series, in a worker thread: the event loop only copies one write in ACTIVE_SERIES_SAMPLE_EVERY into its queue (about 1-4% of the scan per write); the worker's reading costs about a quarter more CPU per write, on another core (docs/active-series.md). Off, there is no estimate and enforce_max_series_at_edge refuses nothing.",
  },
  ACTIVE_SERIES_WINDOW: {
    kind: 'duration',
    defaultValue: '20m',
    description:
      "A series is active if sent within this window: Mimir's -ingester.active-series-metrics-idle-timeout (default 20m).",
  },
  ACTIVE_SERIES_SAMPLE_EVERY: {
    kind: 'int',
    min: 1,
    defaultValue: '4',
    description:
      'Read every n-th write of a tenant for the estimate (1: all). A series sent k times per window is missed with probability (1 − 1/n)^k; tenants with enforce_max_series_at_edge over their limit have every write read.',
  },
  ACTIVE_SERIES_MAX_TENANTS: {
    kind: 'int',
    min: 1,
    defaultValue: '1000',
    description:
      'Most tenants whose active series are tracked at once; a tenant idle for a window is forgotten.',
  },
  ACTIVE_SERIES_MAX_BYTES: {
    kind: 'int',
    min: 0,
    defaultValue: '268435456',
    description:
      'Bytes of sketches and filters for all tenants together past which no further tenant is tracked (0: only ACTIVE_SERIES_MAX_TENANTS bounds them). A tenant costs 17 KiB to 3.2 MiB (docs/active-series.md).',
  },
  ACTIVE_SERIES_FILTER_MAX_BYTES: {
    kind: 'int',
    min: 4096,
    defaultValue: '1048576',
    description:
      "Most bytes of one generation (half a window) of a tenant's new-series Bloom filter; three generations are kept. Past it false positives climb: new series look known.",
  },
  ACTIVE_SERIES_QUEUE_BYTES: {
    kind: 'int',
    min: 65536,
    defaultValue: '16777216',
    description:
      'Most bytes of writes waiting for the active-series worker thread (bodies as received, or decoded when smaller). When full, a write is not read for the estimate and rls_active_series_writes_dropped_total{reason="queue_full"} counts it; a write never waits.',
  },
  ACTIVE_SERIES_REFRESH: {
    kind: 'duration',
    defaultValue: '10s',
    description:
      'How often the window estimate is merged again (in process) and read from Redis (PFCOUNT) when REDIS_ADDRESS is set.',
  },
} as const satisfies SettingDefinitions;
