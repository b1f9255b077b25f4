// Adaptive protection of the upstream (docs/protection.md): the mode, the bounds of the ceiling on writes in
// flight, the latency target it holds the upstream to, and how fast it moves.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const ADAPTIVE_SETTINGS = {
  ADAPTIVE_PROTECTION: {
    kind: 'enum',
    defaultValue: 'off',
    choices: ['off', 'observe', 'enforce'],
    description:
      "off: writes are not counted against an adaptive ceiling; observe: the ceiling follows the upstream and would-be sheds are counted, nothing is refused; enforce: writes over their priority's share of the ceiling get 429 err-mimir-edge-upstream-overloaded. Switchable at runtime (POST /api/protection).",
  },
  ADAPTIVE_MIN_CEILING: {
    kind: 'int',
    min: 1,
    defaultValue: '8',
    description: 'The ceiling on writes in flight to the upstream never goes below this.',
  },
  ADAPTIVE_MAX_CEILING: {
    kind: 'int',
    min: 1,
    defaultValue: '512',
    description:
      'Nor above this, where it starts (set below ADAPTIVE_MIN_CEILING, the ceiling is fixed at that). Keep it at or below MAX_INFLIGHT_REQUESTS, which still bounds the proxy as a whole.',
  },
  ADAPTIVE_LATENCY_TARGET: {
    kind: 'duration',
    defaultValue: '500ms',
    description:
      "The p99 of the upstream's answers to writes the ceiling holds it to: a window whose p99 is over it lowers the ceiling.",
  },
  ADAPTIVE_ERROR_PERCENT: {
    kind: 'int',
    min: 0,
    max: 99,
    defaultValue: '5',
    description:
      "A window in which more than this percent of the upstream's answers to writes are 5xx, 429 or none (timeout, reset) lowers the ceiling.",
  },
  ADAPTIVE_BACKOFF_PERCENT: {
    kind: 'int',
    min: 50,
    max: 99,
    defaultValue: '90',
    description:
      'A degraded window multiplies the ceiling by this percent (a p99 far over the target cuts deeper: target/p99, down to 50%).',
  },
  ADAPTIVE_INCREASE: {
    kind: 'int',
    min: 1,
    defaultValue: '8',
    description: 'A healthy window adds this many writes to the ceiling, up to ADAPTIVE_MAX_CEILING.',
  },
  ADAPTIVE_WINDOW: {
    kind: 'duration',
    defaultValue: '1s',
    description: 'How long the upstream is watched before the ceiling moves once.',
  },
  ADAPTIVE_LOWEST_PRIORITY_PERCENT: {
    kind: 'int',
    min: 1,
    max: 100,
    defaultValue: '50',
    description:
      'The share of the ceiling writes of edge_priority 0 may fill; shares grow linearly to 100% at edge_priority 10, so the lowest priorities are shed first.',
  },
  ADAPTIVE_MAX_SAMPLES_PER_SECOND: {
    kind: 'int',
    min: 0,
    defaultValue: '0',
    description:
      'A ceiling on items (samples, exemplars, metadata) per second forwarded by this process, scaled down with the in-flight ceiling (ceiling / ADAPTIVE_MAX_CEILING) and shared out by priority like it. 0: none.',
  },
} as const satisfies SettingDefinitions;
