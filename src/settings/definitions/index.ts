// Every setting of the service, gathered from one file per area, in the order --help and
// docs/settings.md list them.
//
// How to add a setting (one place, plus the line that reads it):
// 1. Add an entry to the area's file here, keyed by its env var, e.g. in proxy.ts:
//      PROXY_BODY_IDLE_TIMEOUT: { kind: 'duration', defaultValue: '30s', description: '...' },
//    The kind gives its type: int and duration (ms) are numbers, bool a boolean, list a readonly string[],
//    enum the union of its `choices`, string and url a string. Bounds belong on the entry: `min`/`max`
//    (and `...PORT`) for an int, `allowZero: true` for a duration where 0 means off. The env var, the
//    `--flag`, the lower-case config-file key, --help and the reference all follow from the entry.
// 2. Read it in loadSettings (src/settings/settings.ts) with `get('PROXY_BODY_IDLE_TIMEOUT')`, already
//    typed, into a field of Settings.
// 3. Run `npm run docs:settings` to regenerate docs/settings.md. test/unit/settings/setting-kinds.test.ts
//    fails for a setting that loadSettings does not read, or whose env var is already taken.
// A new area is a new file here, spread into SERVICE_SETTING_DEFINITIONS below.

import type { NamedSettingDefinition, SettingDefinition } from '../setting-kinds.js';
import { ADAPTIVE_SETTINGS } from './adaptive.js';
import { ACTIVE_SERIES_SETTINGS } from './active-series.js';
import { ADMIN_SETTINGS } from './admin.js';
import { GATEWAY_SETTINGS } from './gateway.js';
import { INSIGHT_SETTINGS } from './insight.js';
import { GEO_SETTINGS } from './geo.js';
import { LIMIT_DEFAULT_SETTINGS } from './limit-defaults.js';
import { LISTENER_SETTINGS } from './listeners.js';
import { LOGGING_SETTINGS } from './logging.js';
import { POLICY_SETTINGS } from './policy.js';
import { PROXY_SETTINGS } from './proxy.js';
import { REDIS_SETTINGS } from './redis.js';
import { SERVICE_SETTINGS } from './service.js';
import { STORE_SETTINGS } from './store.js';
import { TLS_SETTINGS } from './tls.js';

/** The service's own settings by env var, each typed by its kind (see ValueOf in setting-kinds.ts). */
export const SERVICE_SETTING_DEFINITIONS = {
  ...SERVICE_SETTINGS,
  ...PROXY_SETTINGS,
  ...ADAPTIVE_SETTINGS,
  ...LOGGING_SETTINGS,
  ...LISTENER_SETTINGS,
  ...GATEWAY_SETTINGS,
  ...TLS_SETTINGS,
  ...ADMIN_SETTINGS,
  ...REDIS_SETTINGS,
  ...STORE_SETTINGS,
  ...POLICY_SETTINGS,
  ...INSIGHT_SETTINGS,
  ...GEO_SETTINGS,
  ...ACTIVE_SERIES_SETTINGS,
};

export type ServiceSettingName = keyof typeof SERVICE_SETTING_DEFINITIONS;

function named(defs: Readonly<Record<string, SettingDefinition>>): NamedSettingDefinition[] {
  return Object.entries(defs).map(([env, def]) => ({ env, ...def }));
}

/** Every setting with its env var: the service's own, then the DEFAULT_* limit defaults. */
export const SETTING_DEFINITIONS: readonly NamedSettingDefinition[] = Object.freeze([
  ...named(SERVICE_SETTING_DEFINITIONS),
  ...LIMIT_DEFAULT_SETTINGS,
]);
