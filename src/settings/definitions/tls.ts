// TLS of the proxy and admin listeners, and how often every TLS file is re-read.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const TLS_SETTINGS = {
  PROXY_TLS_CERT_FILE: {
    kind: 'string',
    defaultValue: '',
    description: 'PEM certificate (chain) for the proxy port; with PROXY_TLS_KEY_FILE it serves HTTPS only.',
  },
  PROXY_TLS_KEY_FILE: {
    kind: 'string',
    defaultValue: '',
    description: 'PEM private key for the proxy port.',
  },
  ADMIN_TLS_CERT_FILE: {
    kind: 'string',
    defaultValue: '',
    description: 'PEM certificate (chain) for the admin port; with ADMIN_TLS_KEY_FILE it serves HTTPS only.',
  },
  ADMIN_TLS_KEY_FILE: {
    kind: 'string',
    defaultValue: '',
    description: 'PEM private key for the admin port.',
  },
  TLS_RELOAD_INTERVAL: {
    kind: 'duration',
    defaultValue: '10s',
    description:
      'How often the TLS certificate, key and CA files are checked; changed files apply to new connections.',
  },
} as const satisfies SettingDefinitions;
