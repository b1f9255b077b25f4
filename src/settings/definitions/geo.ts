// Geography for policies (docs/policies.md#geography-and-asn): the MaxMind-format databases that give a
// client's country and autonomous system.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const GEO_SETTINGS = {
  GEOIP_COUNTRY_DATABASE: {
    kind: 'string',
    defaultValue: '',
    description:
      'MaxMind DB file (GeoIP2/GeoLite2 Country or City) giving the client country for country rules in POLICY_FILE; reloaded on change. Empty: no country rules.',
  },
  GEOIP_ASN_DATABASE: {
    kind: 'string',
    defaultValue: '',
    description:
      'MaxMind DB file (GeoIP2/GeoLite2 ASN) giving the client autonomous system for ASN rules in POLICY_FILE; reloaded on change. Empty: no ASN rules.',
  },
  GEOIP_RELOAD_INTERVAL: {
    kind: 'duration',
    defaultValue: '60s',
    allowZero: true,
    description:
      'How often the GEOIP_* files are checked for a change (a new file is read off the hot path and swapped in; a bad one keeps the last good). 0: never.',
  },
} as const satisfies SettingDefinitions;
