// Cost attribution and burst detection (docs/cost-and-bursts.md): the prices per tenant usage is charged at,
// and how a tenant's rate is compared with its own baseline.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const INSIGHT_SETTINGS = {
  COST_PRICE_PER_MILLION_SAMPLES: {
    kind: 'string',
    defaultValue: '0',
    description:
      'Price of one million accepted items (samples, histogram samples, exemplars, metadata: what ingestion_rate counts), a decimal >= 0, for GET /api/cost and rls_tenant_cost_total.',
  },
  COST_PRICE_PER_GIB: {
    kind: 'string',
    defaultValue: '0',
    description:
      'Price of one GiB (2^30 bytes) of accepted write bodies as received (compressed), a decimal >= 0.',
  },
  COST_CURRENCY: {
    kind: 'string',
    defaultValue: 'USD',
    description: 'Currency the prices are in, shown next to every cost (1-16 letters, digits or symbols).',
  },
  BURST_DETECTION: {
    kind: 'bool',
    defaultValue: 'true',
    description:
      'Flag tenants whose items/s rise above BURST_FACTOR times their own baseline (API, UI, rls_tenant_burst). Reads the per-tenant counters on a timer; nothing on the write path.',
  },
  BURST_FACTOR: {
    kind: 'string',
    defaultValue: '3',
    description:
      'A tenant is flagged when its recent rate exceeds this many times its baseline (a decimal > 1); the flag clears below half-way between 1 and the factor.',
  },
  BURST_MIN_RATE: {
    kind: 'int',
    defaultValue: '500',
    description:
      'Least recent rate, in items/s, a tenant must send to be flagged, so small tenants do not flap; the flag clears below half of it.',
  },
  BURST_WINDOW: {
    kind: 'duration',
    defaultValue: '5m',
    description:
      'Time constant of the recent rate (an exponentially weighted moving average): how quickly a burst shows.',
  },
  BURST_BASELINE: {
    kind: 'duration',
    defaultValue: '24h',
    description:
      "Time constant of each tenant's baseline rate (an exponentially weighted moving average over about the last day). Must be longer than BURST_WINDOW.",
  },
  BURST_WARMUP: {
    kind: 'duration',
    defaultValue: '1h',
    allowZero: true,
    description:
      'History a tenant needs before it can be flagged: a baseline of a few minutes says little about what is normal.',
  },
  BURST_INTERVAL: {
    kind: 'duration',
    defaultValue: '15s',
    description: 'How often the per-tenant rates are read and compared with their baselines.',
  },
} as const satisfies SettingDefinitions;
