// `npm run bench:postgres`: rate checks per second from one process with the buckets in PostgreSQL (the
// machine's server on 127.0.0.1:5432, a throwaway database), next to our Redis store on a spawned
// redis-server in the same run. Closed loop, BENCH_CONCURRENCY checks in flight over BENCH_KEYS tenants,
// limits no check reaches (every check is a real read-modify-write); rounds alternate, median reported.
// Prints a table, then one JSON line.

import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { PostgresRateStore } from '../src/stores/postgres/postgres-rate-store.js';
import type { RateAnswer, RateQuery } from '../src/stores/rate-store.js';
import { RedisConnections } from '../src/lib/redis/redis-connections.js';
import { RedisRateStore } from '../src/stores/redis/redis-rate-store.js';
import { stopAllProcesses } from '../test/helpers/child-process.js';
import { createTestDatabase } from '../test/helpers/postgres.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { median, round, summarize } from './lib/stats.js';
import { knob } from './lib/knob.js';

const SECONDS = knob('BENCH_SECONDS', 3);
const ROUNDS = knob('BENCH_ROUNDS', 3);
const CONCURRENCY = knob('BENCH_CONCURRENCY', 128);
const KEYS = knob('BENCH_KEYS', 10_000);
const POOL = knob('BENCH_PG_POOL', 16);

const OPEN: RateQuery = {
  requestRate: 0,
  requestBurst: 1,
  ingestionRate: 1e9,
  ingestionBurst: 1e9,
  cost: 1,
  requestEnforced: true,
};

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

async function closedLoop(take: (key: string) => RateAnswer | Promise<RateAnswer>): Promise<Run> {
  const latencies: number[] = [];
  let done = 0;
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const worker = async (w: number) => {
    for (let i = w; performance.now() < deadline; i += CONCURRENCY) {
      const t0 = performance.now();
      try {
        await take(`k${i % KEYS}`);
        if ((done & 15) === 0) latencies.push(performance.now() - t0);
        done++;
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  const s = summarize(latencies);
  return { perSecond: done / ((performance.now() - started) / 1000), p50: s.p50, p99: s.p99, errors };
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const server = await startRedisServer();
  const pgStore = new PostgresRateStore(
    { url: db.url, poolSize: POOL, table: 'rls_buckets' },
    { localCache: false, timeoutMs: 10_000 },
  );
  const redisStore = new RedisRateStore(
    new RedisConnections(
      {
        addresses: [{ host: '127.0.0.1', port: server.port }],
        mode: 'standalone',
        sentinelMaster: 'mymaster',
        username: '',
        password: '',
        poolSize: 4,
        minIdleConns: 1,
        timeoutMs: 5000,
        keyPrefix: 'bench:',
        fallback: 'none',
        fallbackReplicas: 1,
        breakerFailures: 3,
        breakerCooldownMs: 1000,
        localCache: false,
      },
      () => undefined,
    ),
    { keyPrefix: 'bench:', localCache: false },
  );
  try {
    if (!(await pgStore.ready(10_000))) throw new Error('PostgreSQL store not ready');
    if (!(await redisStore.ready(5000))) throw new Error('Redis store not ready');
    const pgTake = (k: string) => pgStore.take(k, OPEN, 0);
    const redisTake = (k: string) => redisStore.take(k, OPEN, 0);
    await closedLoop(pgTake);
    await closedLoop(redisTake);
    const runs = { pg: [] as Run[], redis: [] as Run[] };
    for (let r = 0; r < ROUNDS; r++) {
      runs.pg.push(await closedLoop(pgTake));
      runs.redis.push(await closedLoop(redisTake));
      process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`);
    }
    const pick = (rs: Run[]) => {
      const m = median(rs.map((x) => x.perSecond));
      return rs.find((x) => x.perSecond === m) ?? rs[0]!;
    };
    const p = pick(runs.pg);
    const r = pick(runs.redis);
    process.stderr.write(
      `\nstore                         checks/s   p50 ms   p99 ms\n` +
        `ours, PostgreSQL (pool ${POOL})`.padEnd(28) +
        `${String(Math.round(p.perSecond)).padStart(10)} ${p.p50.toFixed(2).padStart(8)} ${p.p99.toFixed(2).padStart(8)}\n` +
        `ours, Redis exact`.padEnd(28) +
        `${String(Math.round(r.perSecond)).padStart(10)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}\n` +
        `all rounds, PostgreSQL: ${runs.pg.map((x) => Math.round(x.perSecond)).join(', ')}; Redis: ${runs.redis.map((x) => Math.round(x.perSecond)).join(', ')}\n`,
    );
    process.stdout.write(
      JSON.stringify({
        bench: 'postgres',
        node: process.version,
        cpus: cpus().length,
        concurrency: CONCURRENCY,
        keys: KEYS,
        pg_pool: POOL,
        postgres_checks_per_s: Math.round(p.perSecond),
        postgres_p50_ms: round(p.p50),
        postgres_p99_ms: round(p.p99),
        redis_checks_per_s: Math.round(r.perSecond),
        redis_p99_ms: round(r.p99),
        postgres_vs_redis: round(p.perSecond / r.perSecond, 3),
        errors: [...runs.pg, ...runs.redis].reduce((a, x) => a + x.errors, 0),
      }) + '\n',
    );
  } finally {
    await pgStore.close();
    await redisStore.close();
    await server.stop();
    await db.drop();
  }
}

main().catch(async (err: unknown) => {
  await stopAllProcesses(2000);
  process.stderr.write(
    `bench:postgres failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
