// Policies applied to every request the edge handles (docs/policies.md) and where their identities
// come from: trusted proxies, API keys, JWTs.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const POLICY_SETTINGS = {
  POLICY_FILE: {
    kind: 'string',
    defaultValue: '',
    description:
      'YAML/JSON policy set (docs/policies.md) applied to every request on the proxy, ext_authz and the authz endpoint; reloaded on change. Empty: off.',
  },
  POLICY_RELOAD_INTERVAL: {
    kind: 'duration',
    defaultValue: '10s',
    description: 'How often POLICY_FILE is checked for changes (also reloaded on SIGHUP).',
  },
  POLICY_HEADERS: {
    kind: 'list',
    defaultValue: 'draft',
    description:
      'Rate-limit headers sent for policies: any of draft (RateLimit-Policy, RateLimit), legacy (RateLimit-Limit/-Remaining/-Reset), x-ratelimit.',
  },
  TRUSTED_PROXIES: {
    kind: 'list',
    defaultValue: '',
    description:
      'Addresses and CIDRs of proxies whose CLIENT_IP_HEADER is believed when finding the client IP for policies. Empty: the socket peer is the client.',
  },
  CLIENT_IP_HEADER: {
    kind: 'enum',
    defaultValue: 'x-forwarded-for',
    choices: ['x-forwarded-for', 'forwarded'],
    description: 'Header trusted proxies name the client in (RFC 7239 forwarded or x-forwarded-for).',
  },
  API_KEY_HEADER: {
    kind: 'string',
    defaultValue: 'x-api-key',
    description: 'Header carrying the API key that api_key-scoped policies and lists use.',
  },
  JWT_JWKS_URL: {
    kind: 'string',
    defaultValue: '',
    description:
      'JWKS URL that verifies bearer tokens naming the user of user-scoped policies. Empty (and no JWT_SECRET): users are counted by client IP.',
  },
  JWT_SECRET: {
    kind: 'string',
    defaultValue: '',
    description: 'Shared secret verifying HS256/384/512 bearer tokens, instead of JWT_JWKS_URL.',
  },
  JWT_ISSUER: {
    kind: 'string',
    defaultValue: '',
    description: 'Required `iss` of bearer tokens. Empty: not checked.',
  },
  JWT_AUDIENCE: {
    kind: 'string',
    defaultValue: '',
    description: 'Required `aud` of bearer tokens. Empty: not checked.',
  },
  JWT_USER_CLAIM: {
    kind: 'string',
    defaultValue: 'sub',
    description: 'Claim naming the user (e.g. company_id).',
  },
  JWT_TIER_CLAIM: {
    kind: 'string',
    defaultValue: '',
    description: "Claim naming the caller's tier for tiered policies (e.g. plan). Empty: no tier.",
  },
  JWT_ALLOW_MISSING_EXP: {
    kind: 'bool',
    defaultValue: 'false',
    description:
      'Accept bearer tokens without an `exp` claim. Default false: such a token names no user (counted by client IP), since once leaked it would name its user forever.',
  },
} as const satisfies SettingDefinitions;
