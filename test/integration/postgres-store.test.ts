// The PostgreSQL bucket statement against the real server gives exactly the in-process bucket's answers
// (Mimir's semantics) for any sequence of takes, limit changes and clock steps; the store creates its
// table, allows exactly the burst under concurrent checks, shares buckets between replicas, and a
// tenant over its limit is answered without a round trip.
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessRateStore } from '../../src/stores/in-process-rate-store.js';
import {
  createTableStatement,
  takeStatementWithClockParameter,
} from '../../src/stores/postgres/bucket-sql.js';
import { PostgresRateStore } from '../../src/stores/postgres/postgres-rate-store.js';
import type { RateAnswer, RateQuery } from '../../src/stores/rate-store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import type { TestDatabase } from '../helpers/postgres.js';

let db: TestDatabase;
let client: pg.Client;
const stores: PostgresRateStore[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await client?.end();
  await db?.drop();
});

function newStore(localCache = false, table = 'rls_buckets'): PostgresRateStore {
  const s = new PostgresRateStore({ url: db.url, poolSize: 4, table }, { localCache, timeoutMs: 5000 });
  stores.push(s);
  return s;
}

const query = fc.record({
  requestRate: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 50 }),
    fc.double({ min: 0.5, max: 20, noNaN: true }),
  ),
  requestBurst: fc.integer({ min: 1, max: 20 }),
  ingestionRate: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 5000 }),
    fc.double({ min: 0.1, max: 100, noNaN: true }),
  ),
  ingestionBurst: fc.integer({ min: 1, max: 10_000 }),
  cost: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
  requestEnforced: fc.boolean(),
  // Request tokens in one take (a ShouldRateLimit hits_addend), sometimes above the burst.
  requests: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 30 })),
});

let run = 0;

describe('PostgreSQL token bucket statement', () => {
  it('answers every sequence of takes exactly as the in-process bucket does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tenant: fc.integer({ min: 0, max: 2 }),
            q: query,
            stepMs: fc.oneof(
              fc.constant(0),
              fc.integer({ min: 1, max: 3000 }),
              fc.integer({ min: 0, max: 5000 }).map((x) => x / 100),
            ),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (ops) => {
          const table = `prop_${run++}`;
          await client.query(createTableStatement(table));
          const sql = takeStatementWithClockParameter(table);
          const local = new InProcessRateStore();
          let now = 1_700_000_000_000;
          for (const op of ops) {
            now += op.stepMs;
            const q = op.q;
            const res = await client.query<{ req_wait: number; ing_wait: number }>(sql, [
              `t${op.tenant}`,
              q.requestRate,
              q.requestBurst,
              q.ingestionRate,
              q.ingestionBurst,
              q.cost,
              q.requestEnforced,
              q.requests ?? 1,
              now,
            ]);
            const fromPg: RateAnswer = {
              requestWaitMs: Number(res.rows[0]!.req_wait),
              ingestionWaitMs: Number(res.rows[0]!.ing_wait),
            };
            // The waits are the answer; the in-process store also reports its tokens on a denial.
            const { requestWaitMs, ingestionWaitMs } = local.take(`t${op.tenant}`, q, now);
            expect(fromPg, `${JSON.stringify(op)} at ${now}`).toEqual({ requestWaitMs, ingestionWaitMs });
          }
          await client.query(`DROP TABLE ${table}`);
        },
      ),
      { numRuns: 100 },
    );
  });
});

const ingestion = (cost: number): RateQuery => ({
  requestRate: 0,
  requestBurst: 1,
  ingestionRate: 1,
  ingestionBurst: 1000,
  cost,
  requestEnforced: true,
});

describe('PostgreSQL rate store', () => {
  it('creates its table and allows exactly the burst under 300 concurrent checks', async () => {
    const store = newStore(false, 'store_burst');
    expect(await store.ready(5000)).toBe(true);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => store.take('burst-tenant', ingestion(10), Date.now())),
    );
    const elapsedMs = performance.now() - started;
    expect(answers.filter((a) => a.ingestionWaitMs === 0)).toHaveLength(100);
    // A denial says how long until 10 samples have refilled at 1/s: 10 s, less what refilled during the run.
    const waits = answers.filter((a) => a.ingestionWaitMs > 0).map((a) => a.ingestionWaitMs);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(10_000 - elapsedMs - 1);
    expect(Math.max(...waits)).toBeLessThanOrEqual(10_000);
  });

  it('shares the buckets between two replicas and answers an over-limit tenant locally', async () => {
    const a = newStore(true, 'store_shared');
    const b = newStore(true, 'store_shared');
    expect(await a.ready(5000)).toBe(true);
    expect(await b.ready(5000)).toBe(true);
    expect((await a.take('shared', ingestion(600), Date.now())).ingestionWaitMs).toBe(0);
    // b has never seen the tenant: only the shared row says 400 are left.
    expect((await b.take('shared', ingestion(600), Date.now())).ingestionWaitMs).toBeGreaterThan(0);
    const before = b.counters.roundTrips;
    const denied = await b.take('shared', ingestion(600), Date.now());
    expect(denied.ingestionWaitMs).toBeGreaterThan(0);
    expect(b.counters.roundTrips, 'the second denial came from the local bound').toBe(before);
    expect(b.counters.cacheHits).toBeGreaterThan(0);
  });
});
