// The PostgreSQL part of the settings: its typed shape and cross-setting checks. Read once at start;
// every error names the setting and the bad value. Never connects to anything.

import { ConfigError } from '../lib/config-error.js';
import type { STORE_SETTINGS } from './definitions/store.js';
import type { ValueOf } from './setting-kinds.js';

/** Which store keeps the buckets (the choices of STORE): `auto` picks Redis when REDIS_ADDRESS is set, else in process. */
export type StoreKind = ValueOf<(typeof STORE_SETTINGS)['STORE']>;

export interface PostgresSettings {
  /** libpq-style URL, e.g. postgres://edge@db:5432/limits; empty: not configured. */
  url: string;
  poolSize: number;
  /** Table holding the buckets (created when missing); may be schema-qualified. */
  table: string;
}

/** Checks the store choice against the settings it needs (POSTGRES_POOL_SIZE's bound is on its definition). */
export function checkStoreSettings(kind: StoreKind, pg: PostgresSettings, redisConfigured: boolean): void {
  if (kind === 'postgres' && pg.url === '')
    throw new ConfigError('settings', 'POSTGRES_URL', 'must be set when STORE=postgres');
  if (kind === 'redis' && !redisConfigured)
    throw new ConfigError('settings', 'REDIS_ADDRESS', 'must be set when STORE=redis');
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(pg.table))
    throw new ConfigError(
      'settings',
      'POSTGRES_TABLE',
      `must be a table name (letters, digits, _; optionally schema.table), got ${JSON.stringify(pg.table)}`,
    );
}
