// Where the buckets live (docs/postgres.md): the store choice and PostgreSQL.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const STORE_SETTINGS = {
  STORE: {
    kind: 'enum',
    defaultValue: 'auto',
    choices: ['auto', 'memory', 'redis', 'postgres'],
    description:
      'Bucket store: auto = redis when REDIS_ADDRESS is set, else memory; postgres needs POSTGRES_URL.',
  },
  POSTGRES_URL: {
    kind: 'string',
    defaultValue: '',
    description:
      'PostgreSQL holding the buckets all replicas share (STORE=postgres), e.g. postgres://edge@db/limits.',
  },
  POSTGRES_POOL_SIZE: {
    kind: 'int',
    min: 1,
    defaultValue: '8',
    description: 'Connections to PostgreSQL; each runs one bucket statement at a time.',
  },
  POSTGRES_TABLE: {
    kind: 'string',
    defaultValue: 'rls_buckets',
    description: 'Table holding the buckets (created when missing); may be schema.table.',
  },
} as const satisfies SettingDefinitions;
