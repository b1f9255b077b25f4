// The admin API and UI: tokens, CORS, debug endpoints.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const ADMIN_SETTINGS = {
  ADMIN_TOKEN: {
    kind: 'string',
    defaultValue: '',
    description:
      'Bearer token with the admin role for the admin API and UI. With neither this nor ADMIN_TOKENS_FILE, one is generated at start and logged once.',
  },
  ADMIN_TOKENS_FILE: {
    kind: 'string',
    defaultValue: '',
    description:
      'YAML list of admin API tokens: `- {name, token, role}` with role viewer, operator or admin.',
  },
  ADMIN_CORS_ORIGINS: {
    kind: 'list',
    defaultValue: '',
    description:
      'Comma-separated origins allowed to call the admin API from a browser (CORS); empty: CORS off.',
  },
  ADMIN_DEBUG: {
    kind: 'bool',
    defaultValue: 'false',
    description: 'Enables the admin debug endpoints that change state (POST /api/debug/*).',
  },
} as const satisfies SettingDefinitions;
