// `npm run bench:redis`: rate checks per second from one process against one redis-server (spawned on a
// random 127.0.0.1 port), our Redis store side by side with rate-limiter-flexible's RateLimiterRedis.
//
// 1. rlf: RateLimiterRedis.consume() over an ioredis client (auto-pipelining on, its best setting).
// 2. exact: our RedisRateStore.take(), every check answered by Redis (local cache off): the batched Lua
//    token bucket. Also through the FallbackRateStore the service wraps it in ("exact_service").
// 3. cached: a tenant over its limit, answered by the local over-limit bound (what a flood of denied
//    requests costs).
// Each exact run keeps BENCH_CONCURRENCY checks in flight (closed loop) over BENCH_KEYS tenants for
// BENCH_SECONDS; runs alternate (rlf, exact, rlf, exact, ...) BENCH_ROUNDS times and the median round is
// reported. The speed ratio is the median of each round's own ratio (rlf and ours run seconds apart, so
// a machine whose load drifts moves both), and CPU per check (redis-server + this process) is reported
// beside it: unlike checks/s it barely moves when other work shares the cores.
// Prints a table, then one JSON line (snake_case keys).

import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { FallbackRateStore } from '../src/stores/fallback-rate-store.js';
import type { RateAnswer, RateQuery, RateStore } from '../src/stores/rate-store.js';
import { RedisConnections } from '../src/lib/redis/redis-connections.js';
import { RedisRateStore } from '../src/stores/redis/redis-rate-store.js';
import { stopAllProcesses } from '../test/helpers/child-process.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { benchRedisSettings, closedLoop } from './lib/redis-bench.js';
import { median, round, summarize } from './lib/stats.js';
import { knob } from './lib/knob.js';

const SECONDS = knob('BENCH_SECONDS', 2);
const ROUNDS = knob('BENCH_ROUNDS', 5);
const CONCURRENCY = knob('BENCH_CONCURRENCY', 512);
const KEYS = knob('BENCH_KEYS', 10_000);
const CACHED_CHECKS = knob('BENCH_CACHED_CHECKS', 5_000_000);
const TARGET_RATIO = 4;
const TARGET_CACHED = 1_000_000;

/** Limits no check reaches: every check is a real read-modify-write in Redis for both libraries. */
const OPEN_QUERY: RateQuery = {
  requestRate: 0,
  requestBurst: 1,
  ingestionRate: 1e9,
  ingestionBurst: 1e9,
  cost: 1,
  requestEnforced: true,
};

interface RunResult {
  checksPerSecond: number;
  /** Redis CPU per check (EVALSHA time / checks). */
  redisMicrosPerCheck: number;
  /** CPU time per check of the redis-server process (INFO cpu) and of this process: unlike checks/s,
   *  these barely move when other work shares the machine. */
  redisCpuMicrosPerCheck: number;
  nodeCpuMicrosPerCheck: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

/** Keeps `CONCURRENCY` checks in flight for SECONDS, with the CPU Redis and this process spent on them. */
async function measure(admin: Redis, check: (key: string) => Promise<unknown> | unknown): Promise<RunResult> {
  await admin.config('RESETSTAT');
  const redisCpu0 = await redisCpuSeconds(admin);
  const cpu0 = process.cpuUsage();
  const { done, errors, elapsedSeconds, latencies } = await closedLoop(
    { seconds: SECONDS, concurrency: CONCURRENCY, keys: KEYS },
    check,
  );
  const cpu = process.cpuUsage(cpu0);
  const redisCpu = (await redisCpuSeconds(admin)) - redisCpu0;
  const s = summarize(latencies);
  const micros = await redisEvalMicros(admin);
  return {
    checksPerSecond: done / elapsedSeconds,
    redisMicrosPerCheck: micros / Math.max(1, done),
    redisCpuMicrosPerCheck: (redisCpu * 1e6) / Math.max(1, done),
    nodeCpuMicrosPerCheck: (cpu.user + cpu.system) / Math.max(1, done),
    p50Ms: s.p50,
    p99Ms: s.p99,
    errors,
  };
}

async function newRedisStore(port: number, localCache: boolean): Promise<RedisRateStore> {
  const s = benchRedisSettings(port);
  const store = new RedisRateStore(new RedisConnections(s, () => undefined), {
    keyPrefix: s.keyPrefix,
    localCache,
  });
  if (!(await store.ready(5000))) throw new Error('our store could not connect to the bench redis-server');
  return store;
}

function takeOf(store: RateStore): (key: string) => RateAnswer | Promise<RateAnswer> {
  return (key) => store.take(key, OPEN_QUERY, 0);
}

/** Checks/s of a tenant already over its limit: every answer comes from the local bound. */
async function cachedRun(store: RedisRateStore): Promise<number> {
  const tight: RateQuery = { ...OPEN_QUERY, ingestionRate: 1, ingestionBurst: 10, cost: 10 };
  await store.take('over-limit', tight, 0);
  const first = store.take('over-limit', tight, 0);
  if (first instanceof Promise) await first;
  let denied = 0;
  const started = performance.now();
  for (let i = 0; i < CACHED_CHECKS; i++) {
    const a = store.take('over-limit', tight, 0);
    if (a instanceof Promise) await a;
    else if (a.ingestionWaitMs > 0) denied++;
  }
  const elapsed = (performance.now() - started) / 1000;
  if (denied < CACHED_CHECKS * 0.99)
    throw new Error(`only ${denied} of ${CACHED_CHECKS} cached checks were local denials`);
  return CACHED_CHECKS / elapsed;
}

/** CPU seconds the redis-server process has used (user + system), from INFO cpu. */
async function redisCpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const user = /used_cpu_user:([\d.]+)/.exec(info);
  const sys = /used_cpu_sys:([\d.]+)/.exec(info);
  return Number(user?.[1] ?? 0) + Number(sys?.[1] ?? 0);
}

/** Redis CPU (µs) that EVALSHA used since the last CONFIG RESETSTAT, from INFO commandstats. */
async function redisEvalMicros(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  const m = /cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(stats);
  return m ? Number(m[1]) : 0;
}

async function main(): Promise<void> {
  const onSignal = (): void => {
    void stopAllProcesses(2000).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const server = await startRedisServer();
  log(
    `redis-server ${server.address}; ${CONCURRENCY} checks in flight over ${KEYS} keys, ${SECONDS}s x ${ROUNDS} rounds`,
  );
  const admin = new Redis({ host: '127.0.0.1', port: server.port });
  const rlfClient = new Redis({ host: '127.0.0.1', port: server.port, enableAutoPipelining: true });
  const rlf = new RateLimiterRedis({ storeClient: rlfClient, points: 1e9, duration: 1, keyPrefix: 'rlf' });
  const exact = await newRedisStore(server.port, false);
  const wrapped = new FallbackRateStore(await newRedisStore(server.port, false), {
    breakerFailures: 3,
    breakerCooldownMs: 1000,
    replicas: () => 1,
    now: Date.now,
  });
  const cachedStore = await newRedisStore(server.port, true);

  const rounds: Record<'rlf' | 'exact' | 'exact_service', RunResult[]> = {
    rlf: [],
    exact: [],
    exact_service: [],
  };
  // Warm-up: JIT, connections, scripts.
  await measure(admin, (k) => rlf.consume(k, 1));
  await measure(admin, takeOf(exact));
  for (let r = 0; r < ROUNDS; r++) {
    rounds.rlf.push(await measure(admin, (k) => rlf.consume(k, 1)));
    rounds.exact.push(await measure(admin, takeOf(exact)));
    rounds.exact_service.push(await measure(admin, takeOf(wrapped)));
    log(`round ${r + 1}/${ROUNDS} done`);
  }
  const cached = [await cachedRun(cachedStore), await cachedRun(cachedStore), await cachedRun(cachedStore)];

  const pick = (runs: RunResult[]): RunResult => {
    const m = median(runs.map((x) => x.checksPerSecond));
    return runs.find((x) => x.checksPerSecond === m) ?? runs[0]!;
  };
  const rlfRes = pick(rounds.rlf);
  const exactRes = pick(rounds.exact);
  const serviceRes = pick(rounds.exact_service);
  const cachedPerS = median(cached);
  const errors = [...rounds.rlf, ...rounds.exact, ...rounds.exact_service].reduce((a, x) => a + x.errors, 0);

  const rows = [
    ['rate-limiter-flexible RateLimiterRedis', rlfRes],
    ['ours, exact (RedisRateStore)', exactRes],
    ['ours, exact behind the fallback (service)', serviceRes],
  ] as const;
  log('');
  log('store                                        checks/s    p50 ms   p99 ms');
  for (const [name, r] of rows) {
    log(
      `${name.padEnd(44)} ${String(Math.round(r.checksPerSecond)).padStart(9)} ${r.p50Ms.toFixed(3).padStart(9)} ${r.p99Ms.toFixed(3).padStart(8)}`,
    );
  }
  log(`${'ours, over-limit tenant (local cache)'.padEnd(44)} ${String(Math.round(cachedPerS)).padStart(9)}`);
  log(
    `Redis CPU per check (INFO commandstats): rlf ${rlfRes.redisMicrosPerCheck.toFixed(2)} us, ours ${exactRes.redisMicrosPerCheck.toFixed(2)} us`,
  );
  log(
    `CPU per check, redis-server + this process: rlf ${rlfRes.redisCpuMicrosPerCheck.toFixed(2)} + ${rlfRes.nodeCpuMicrosPerCheck.toFixed(2)} us, ours ${exactRes.redisCpuMicrosPerCheck.toFixed(2)} + ${exactRes.nodeCpuMicrosPerCheck.toFixed(2)} us`,
  );

  const roundRatios = rounds.exact.map((x, i) => x.checksPerSecond / rounds.rlf[i]!.checksPerSecond);
  const ratio = median(roundRatios);
  log(
    `exact / rlf per round: ${roundRatios.map((x) => x.toFixed(2)).join(', ')}; median ${ratio.toFixed(2)}`,
  );
  const json = {
    bench: 'redis',
    node: process.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    mem_gb: round(totalmem() / 2 ** 30, 1),
    concurrency: CONCURRENCY,
    keys: KEYS,
    seconds: SECONDS,
    rounds: ROUNDS,
    rlf_checks_per_s: Math.round(rlfRes.checksPerSecond),
    rlf_p99_ms: round(rlfRes.p99Ms),
    exact_checks_per_s: Math.round(exactRes.checksPerSecond),
    exact_p50_ms: round(exactRes.p50Ms),
    exact_p99_ms: round(exactRes.p99Ms),
    exact_service_checks_per_s: Math.round(serviceRes.checksPerSecond),
    exact_service_p99_ms: round(serviceRes.p99Ms),
    exact_vs_rlf_redis: round(ratio, 2),
    exact_vs_rlf_redis_rounds: roundRatios.map((x) => round(x, 2)),
    cached_checks_per_s: Math.round(cachedPerS),
    redis_us_per_check_rlf: round(rlfRes.redisMicrosPerCheck, 2),
    redis_us_per_check_exact: round(exactRes.redisMicrosPerCheck, 2),
    cpu_us_per_check_rlf: round(rlfRes.redisCpuMicrosPerCheck + rlfRes.nodeCpuMicrosPerCheck, 2),
    cpu_us_per_check_exact: round(exactRes.redisCpuMicrosPerCheck + exactRes.nodeCpuMicrosPerCheck, 2),
    cpu_ratio: round(
      (rlfRes.redisCpuMicrosPerCheck + rlfRes.nodeCpuMicrosPerCheck) /
        (exactRes.redisCpuMicrosPerCheck + exactRes.nodeCpuMicrosPerCheck),
      2,
    ),
    errors,
    target_ratio_met: ratio >= TARGET_RATIO,
    target_cached_met: cachedPerS >= TARGET_CACHED,
  };

  rlfClient.disconnect();
  admin.disconnect();
  await Promise.all([exact.close(), wrapped.close(), cachedStore.close()]);
  await server.stop();
  process.stdout.write(JSON.stringify(json) + '\n');
}

main().catch(async (err: unknown) => {
  await stopAllProcesses(2000);
  process.stderr.write(
    `bench:redis failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
