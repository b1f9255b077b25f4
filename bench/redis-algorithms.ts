// `npm run bench:redis-algorithms`: checks per second from one process against one redis-server
// (spawned on a random 127.0.0.1 port) for each engine algorithm run in Redis (SharedRateLimiter,
// batched per tick), side by side with rate-limiter-flexible's RateLimiterRedis in the same run.
// Limits are never reached, so every check is a real read-modify-write. A concurrency check is timed
// with its release (take + give back), since a held lease is what the algorithm is for.
// BENCH_CONCURRENCY checks stay in flight (closed loop) over BENCH_KEYS keys for BENCH_SECONDS; runs
// alternate (rlf, ours) and the median of BENCH_ROUNDS is reported. Prints a table, then one JSON line.

import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { AlgorithmName } from '../src/lib/engine/algorithm.js';
import type { AlgorithmSpec } from '../src/lib/engine/algorithm-spec.js';
import { RedisConnections } from '../src/lib/redis/redis-connections.js';
import { SharedRateLimiter } from '../src/lib/redis/shared-rate-limiter.js';
import { stopAllProcesses } from '../test/helpers/child-process.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { benchRedisSettings, closedLoop } from './lib/redis-bench.js';
import { median, round, summarize } from './lib/stats.js';
import { knob } from './lib/knob.js';

const SECONDS = knob('BENCH_SECONDS', 2);
const ROUNDS = knob('BENCH_ROUNDS', 3);
const CONCURRENCY = knob('BENCH_CONCURRENCY', 512);
const KEYS = knob('BENCH_KEYS', 10_000);

/** Specs no check of the run reaches. */
const OPEN: Record<AlgorithmName, AlgorithmSpec> = {
  token_bucket: { algorithm: 'token_bucket', rate: 1e9, burst: 1e9 },
  gcra: { algorithm: 'gcra', limit: 1e9, period: '1s' },
  fixed_window: { algorithm: 'fixed_window', limit: 1e9, window: '1m' },
  sliding_window_counter: { algorithm: 'sliding_window_counter', limit: 1e9, window: '1m' },
  // A 1 s log: each key holds about (checks/s ÷ keys) entries, as a busy per-user limit would.
  sliding_window_log: { algorithm: 'sliding_window_log', limit: 1e9, window: '1s' },
  leaky_bucket: { algorithm: 'leaky_bucket', rate: 1e9, capacity: 1e9 },
  concurrency: { algorithm: 'concurrency', limit: 1e9, lease: '1m' },
  calendar_quota: { algorithm: 'calendar_quota', limit: 1e9, period: 'day' },
};

interface RunResult {
  checksPerSecond: number;
  p99Ms: number;
  errors: number;
}

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

async function measure(check: (key: string) => Promise<unknown>): Promise<RunResult> {
  const run = await closedLoop({ seconds: SECONDS, concurrency: CONCURRENCY, keys: KEYS }, check);
  return {
    checksPerSecond: run.done / run.elapsedSeconds,
    p99Ms: summarize(run.latencies).p99,
    errors: run.errors,
  };
}

function checkOf(limiter: SharedRateLimiter): (key: string) => Promise<unknown> {
  if (limiter.algorithm.name !== 'concurrency') return (key) => limiter.check(key);
  return async (key) => {
    const d = await limiter.check(key);
    await limiter.release(key, d.lease);
  };
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
  const rlfClient = new Redis({ host: '127.0.0.1', port: server.port, enableAutoPipelining: true });
  const rlf = new RateLimiterRedis({ storeClient: rlfClient, points: 1e9, duration: 60, keyPrefix: 'rlf' });
  const connections = new RedisConnections(benchRedisSettings(server.port), () => undefined);
  if (!(await connections.waitReady(5000))) throw new Error('could not connect to the bench redis-server');

  const rlfRuns: RunResult[] = [];
  const ours = new Map<AlgorithmName, RunResult[]>();
  await measure((k) => rlf.consume(k, 1)); // warm-up: JIT, connections
  for (let r = 0; r < ROUNDS; r++) {
    rlfRuns.push(await measure((k) => rlf.consume(k, 1)));
    for (const [name, spec] of Object.entries(OPEN) as [AlgorithmName, AlgorithmSpec][]) {
      const limiter = new SharedRateLimiter(spec, connections, { name: `bench${r}`, keyPrefix: 'bench:' });
      if (r === 0) await measure(checkOf(limiter)); // warm-up: script load
      const runs = ours.get(name) ?? [];
      runs.push(await measure(checkOf(limiter)));
      ours.set(name, runs);
    }
    log(`round ${r + 1}/${ROUNDS} done`);
  }

  const pick = (runs: RunResult[]): RunResult => {
    const m = median(runs.map((x) => x.checksPerSecond));
    return runs.find((x) => x.checksPerSecond === m) ?? runs[0]!;
  };
  const rlfRes = pick(rlfRuns);
  log('');
  log('limiter                                       checks/s   p99 ms   vs rlf');
  log(
    `${'rate-limiter-flexible RateLimiterRedis'.padEnd(44)} ${String(Math.round(rlfRes.checksPerSecond)).padStart(9)} ${rlfRes.p99Ms.toFixed(2).padStart(8)}`,
  );
  const json: Record<string, unknown> = {
    bench: 'redis-algorithms',
    node: process.version,
    cpus: cpus().length,
    concurrency: CONCURRENCY,
    keys: KEYS,
    seconds: SECONDS,
    rounds: ROUNDS,
    rlf_checks_per_s: Math.round(rlfRes.checksPerSecond),
  };
  let errors = rlfRuns.reduce((a, x) => a + x.errors, 0);
  for (const [name, runs] of ours) {
    const res = pick(runs);
    errors += runs.reduce((a, x) => a + x.errors, 0);
    const ratio = res.checksPerSecond / rlfRes.checksPerSecond;
    log(
      `${`ours, ${name}`.padEnd(44)} ${String(Math.round(res.checksPerSecond)).padStart(9)} ${res.p99Ms.toFixed(2).padStart(8)} ${ratio.toFixed(2).padStart(7)}x`,
    );
    json[`${name}_checks_per_s`] = Math.round(res.checksPerSecond);
    json[`${name}_p99_ms`] = round(res.p99Ms);
    json[`${name}_vs_rlf`] = round(ratio, 2);
  }
  json['errors'] = errors;

  rlfClient.disconnect();
  await connections.close();
  await server.stop();
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  await stopAllProcesses(2000);
  process.exit(1);
});
