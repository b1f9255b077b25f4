// Log level, format, and which denials get a log line.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const LOGGING_SETTINGS = {
  LOG_LEVEL: {
    kind: 'enum',
    defaultValue: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    description: 'Log level.',
  },
  LOG_FORMAT: {
    kind: 'enum',
    defaultValue: 'json',
    choices: ['json', 'text'],
    description: 'json: one JSON object per line; text: one human-readable line per event.',
  },
  LOG_DENIALS: {
    kind: 'enum',
    defaultValue: 'sampled',
    choices: ['sampled', 'all', 'none'],
    description:
      'Denial log lines: sampled (the first per tenant and reason, then one per LOG_DENIALS_INTERVAL with the count left out), all, or none. Metrics count every denial either way.',
  },
  LOG_DENIALS_INTERVAL: {
    kind: 'duration',
    defaultValue: '10s',
    description:
      'With LOG_DENIALS=sampled: the least time between two denial lines for one tenant and reason.',
  },
} as const satisfies SettingDefinitions;
