// The token buckets shared by every replica, in PostgreSQL, for sites with no Redis. Each check is one
// upsert statement (bucket-sql.ts) on a pooled connection; a tenant already over its limit is answered
// from the local over-limit bound. Never holds a transaction open; never decides from a local guess
// except a certain denial.

import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { RoundTripListener } from '../../lib/redis/circuit-breaker.js';
import type { ReconcileEntry, SharedRateStore } from '../fallback-rate-store.js';
import type { RateAnswer, RateQuery } from '../rate-store.js';
import { OverLimitCache } from '../redis/over-limit-cache.js';
import { createTableStatement, reconcileStatement, sweepStatement, takeStatement } from './bucket-sql.js';
import type { PostgresSettings } from '../../settings/postgres-settings.js';

const NOTHING_TO_TAKE: RateAnswer = Object.freeze({ requestWaitMs: 0, ingestionWaitMs: 0 });
const MAX_CACHED_TENANTS = 1_000_000;
/** PostgreSQL codes of a concurrent CREATE TABLE IF NOT EXISTS losing the race: the table exists. */
const ALREADY_CREATED = new Set(['23505', '42P07']);

interface TakeRow {
  req_tokens: number;
  ing_tokens: number;
  req_wait: number;
  ing_wait: number;
}

export interface PostgresStoreCounters {
  roundTrips: number;
  roundTripErrors: number;
  checks: number;
  cacheHits: number;
}

export class PostgresRateStore implements SharedRateStore {
  readonly kind = 'postgres';
  readonly inFallback = false;
  private readonly pool: pg.Pool;
  private readonly cache: OverLimitCache | undefined;
  private readonly listeners: RoundTripListener[] = [];
  private readonly take_: pg.QueryConfig;
  private roundTrips = 0;
  private roundTripErrors = 0;
  private checks = 0;
  private tableReady: Promise<void> | undefined;

  constructor(
    private readonly settings: PostgresSettings,
    options: { localCache: boolean; timeoutMs: number; onError?: (err: Error) => void },
  ) {
    this.pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.poolSize,
      connectionTimeoutMillis: Math.max(1000, options.timeoutMs * 10),
      query_timeout: options.timeoutMs,
      application_name: 'mimir-edge',
    });
    this.pool.on('error', (err) => options.onError?.(err));
    this.cache = options.localCache ? new OverLimitCache(MAX_CACHED_TENANTS) : undefined;
    // Named: each connection parses and plans it once.
    this.take_ = { name: 'rls_take', text: takeStatement(settings.table) };
  }

  /** Creates the table when missing (once; concurrent replicas may race, which is fine). */
  ensureTable(): Promise<void> {
    this.tableReady ??= this.pool.query(createTableStatement(this.settings.table)).then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof Error && ALREADY_CREATED.has((err as Error & { code?: string }).code ?? ''))
          return;
        this.tableReady = undefined;
        throw err;
      },
    );
    return this.tableReady;
  }

  onRoundTrip(listener: RoundTripListener): void {
    this.listeners.push(listener);
  }

  /** PostgreSQL keeps the one clock: `nowMs` is not used for the buckets. */
  take(tenant: string, q: RateQuery, _nowMs: number): RateAnswer | Promise<RateAnswer> {
    if (q.requestRate <= 0 && q.cost <= 0) return NOTHING_TO_TAKE;
    const sentAt = performance.now();
    if (this.cache !== undefined) {
      const cached = this.cache.answer(tenant, q, sentAt);
      if (cached !== undefined) return cached;
    }
    return this.run(tenant, q, sentAt);
  }

  private async run(tenant: string, q: RateQuery, sentAt: number): Promise<RateAnswer> {
    let row: TakeRow;
    try {
      if (this.tableReady === undefined) await this.ensureTable();
      const res = await this.pool.query<TakeRow>({
        ...this.take_,
        values: [
          tenant,
          q.requestRate,
          q.requestBurst,
          q.ingestionRate,
          q.ingestionBurst,
          q.cost,
          q.requestEnforced,
          q.requests ?? 1,
        ],
      });
      row = res.rows[0]!;
    } catch (err) {
      this.roundTripErrors++;
      const seconds = (performance.now() - sentAt) / 1000;
      for (const l of this.listeners) l(false, 1, seconds, err);
      throw err;
    }
    this.roundTrips++;
    this.checks++;
    const reqWait = Number(row.req_wait);
    const ingWait = Number(row.ing_wait);
    const skipped = reqWait > 0 && q.requestEnforced;
    this.cache?.record(
      tenant,
      q,
      q.requestRate > 0 ? Number(row.req_tokens) : -1,
      // A take that did not touch the ingestion bucket returns its stored (not refilled) level: unknown.
      q.cost > 0 && !skipped ? Number(row.ing_tokens) : -1,
      sentAt,
    );
    const seconds = (performance.now() - sentAt) / 1000;
    for (const l of this.listeners) l(true, 1, seconds);
    return { requestWaitMs: reqWait, ingestionWaitMs: ingWait };
  }

  peek(tenant: string, q: RateQuery, _nowMs: number): { requests: number; ingestion: number } | undefined {
    return this.cache?.peek(tenant, q, performance.now());
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  get counters(): PostgresStoreCounters {
    return {
      roundTrips: this.roundTrips,
      roundTripErrors: this.roundTripErrors,
      checks: this.checks,
      cacheHits: this.cache?.hits ?? 0,
    };
  }

  /** Drops local bounds that can no longer deny, and (in the background) rows whose buckets are full. */
  sweep(): number {
    this.pool.query(sweepStatement(this.settings.table)).catch(() => undefined);
    return this.cache?.sweep(performance.now()) ?? 0;
  }

  async probe(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Resolves true once the table is there, false after `timeoutMs` — never rejects. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      try {
        await this.ensureTable();
        return true;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return false;
  }

  async reconcile(entries: readonly ReconcileEntry[]): Promise<void> {
    this.cache?.clear();
    const text = reconcileStatement(this.settings.table);
    for (const e of entries) {
      const q = e.query;
      await this.pool.query({
        name: 'rls_reconcile',
        text,
        values: [
          e.tenant,
          q.requestRate,
          q.requestBurst,
          q.ingestionRate,
          q.ingestionBurst,
          e.requestCeiling,
          e.ingestionCeiling,
        ],
      });
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  get description(): string {
    try {
      const u = new URL(this.settings.url);
      return `${u.hostname}:${u.port || '5432'}${u.pathname} table ${this.settings.table}`;
    } catch {
      return `table ${this.settings.table}`;
    }
  }
}
